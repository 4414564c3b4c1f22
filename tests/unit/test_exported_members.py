"""The public surface cannot grow by accident (as httpx pins its exports)."""

from __future__ import annotations

import replaykit

EXPECTED = [
    "CassetteError", "CodecError", "Config", "ConfigError", "ContractViolation", "CostLimitError", "Exchange",
    "NoMatchError", "ReplaykitError", "SandboxError", "SecretFoundError", "__version__", "iter_cassettes",
    "load_config", "load_exchanges", "use_cassette",
]


def test_all_is_sorted_and_pinned():
    assert replaykit.__all__ == sorted(replaykit.__all__) == EXPECTED


def test_every_export_resolves():
    for name in replaykit.__all__:
        assert getattr(replaykit, name) is not None
