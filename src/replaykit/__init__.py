"""replaykit: record-and-replay contract testing for AWS Bedrock Runtime, OpenAI and S3, built on vcrpy.

The public surface is what ``__all__`` lists, plus the ``__all__`` of the public subpackages ``replaykit.cassette``,
``replaykit.contracts``, ``replaykit.cost``, ``replaykit.drift``, ``replaykit.faults``, ``replaykit.recorder`` and
``replaykit.sandbox``; everything else (``replaykit.plugin``'s internals, any ``_module``) may change without
notice. Names are imported on first use (PEP 562), so ``replaykit sandbox`` and the other CLI verbs start without
importing vcrpy and the SDKs.
"""

from __future__ import annotations

import importlib
from importlib.metadata import version as _version
from typing import TYPE_CHECKING, Any

__version__ = _version("replaykit")

_EXPORTS = {
    "CassetteError": "replaykit.errors",
    "CodecError": "replaykit.errors",
    "Config": "replaykit.config",
    "ConfigError": "replaykit.errors",
    "NetworkBlockedError": "replaykit.errors",
    "ContractViolation": "replaykit.errors",
    "CostLimitError": "replaykit.errors",
    "DUMMY_AWS_ACCESS_KEY_ID": "replaykit.environment",
    "DUMMY_AWS_SECRET_ACCESS_KEY": "replaykit.environment",
    "DUMMY_OPENAI_API_KEY": "replaykit.environment",
    "Exchange": "replaykit.exchange",
    "NoMatchError": "replaykit.errors",
    "ReplaykitError": "replaykit.errors",
    "ReplaykitMode": "replaykit.environment",
    "SandboxError": "replaykit.errors",
    "SecretFoundError": "replaykit.errors",
    "iter_cassettes": "replaykit.cassette.format",
    "load_config": "replaykit.config",
    "load_exchanges": "replaykit.cassette.format",
    "use_cassette": "replaykit.recorder",
}

__all__ = [
    "CassetteError",
    "CodecError",
    "Config",
    "ConfigError",
    "ContractViolation",
    "CostLimitError",
    "DUMMY_AWS_ACCESS_KEY_ID",
    "DUMMY_AWS_SECRET_ACCESS_KEY",
    "DUMMY_OPENAI_API_KEY",
    "Exchange",
    "NetworkBlockedError",
    "NoMatchError",
    "ReplaykitError",
    "ReplaykitMode",
    "SandboxError",
    "SecretFoundError",
    "__version__",
    "iter_cassettes",
    "load_config",
    "load_exchanges",
    "use_cassette",
]

if TYPE_CHECKING:
    from replaykit.cassette.format import iter_cassettes, load_exchanges
    from replaykit.config import Config, load_config
    from replaykit.environment import (
        DUMMY_AWS_ACCESS_KEY_ID,
        DUMMY_AWS_SECRET_ACCESS_KEY,
        DUMMY_OPENAI_API_KEY,
        ReplaykitMode,
    )
    from replaykit.errors import (
        CassetteError,
        CodecError,
        ConfigError,
        ContractViolation,
        CostLimitError,
        NetworkBlockedError,
        NoMatchError,
        ReplaykitError,
        SandboxError,
        SecretFoundError,
    )
    from replaykit.exchange import Exchange
    from replaykit.recorder import use_cassette


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'replaykit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return list(__all__)
