"""The public surface cannot grow by accident (as httpx pins its exports)."""

from __future__ import annotations

import replaykit


def test_all_is_sorted_and_exactly_the_public_names():
    public = {name for name in dir(replaykit) if not name.startswith(("_", "@"))} - {
        "annotations", "cassette", "codecs", "config", "errors", "providers", "recording", "sanitize", "clients",
        "network", "contracts", "drift", "sandbox", "scanner", "cost", "faults", "plugin", "cli", "allowlist",
    }
    assert replaykit.__all__ == sorted(replaykit.__all__)
    assert public | {"__version__"} == set(replaykit.__all__)
