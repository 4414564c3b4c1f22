"""replaykit: record-and-replay contract testing for AWS Bedrock Runtime, OpenAI and S3, built on vcrpy.

The public surface is what ``__all__`` lists; everything else may change without notice.
"""

from __future__ import annotations

from replaykit.cassette import Exchange, iter_cassettes, load_exchanges
from replaykit.config import Config, load_config
from replaykit.errors import (
    CassetteError,
    CodecError,
    ConfigError,
    ContractViolation,
    CostLimitError,
    NoMatchError,
    ReplaykitError,
    SandboxError,
    SecretFoundError,
)
from replaykit.recording import use_cassette

__version__ = "0.1.0"

__all__ = [
    "CassetteError",
    "CodecError",
    "Config",
    "ConfigError",
    "ContractViolation",
    "CostLimitError",
    "Exchange",
    "NoMatchError",
    "ReplaykitError",
    "SandboxError",
    "SecretFoundError",
    "__version__",
    "iter_cassettes",
    "load_config",
    "load_exchanges",
    "use_cassette",
]
