"""The one place tests find ``../shared/real-cassettes``: cassettes other projects recorded against the real providers.

The corpus sits beside the repository (never copied into it). When it is absent, the tests that need it skip with
one reason, the session header says so, and with ``REPLAYKIT_REQUIRE_REAL_CASSETTES=1`` (set by ``.ci/run``, which
always runs beside it) its absence is an error instead of a silent skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REAL_CASSETTES = Path(__file__).resolve().parents[1].parent / "shared" / "real-cassettes"
PRESENT = REAL_CASSETTES.is_dir()
REASON = f"real-cassettes corpus absent: {REAL_CASSETTES} (clone the repo beside ../shared to run these)"
REQUIRED = os.environ.get("REPLAYKIT_REQUIRE_REAL_CASSETTES") == "1"

# for decorators and module-level parametrisation, where a fixture cannot reach
requires_real = pytest.mark.skipif(not PRESENT, reason=REASON)


def header() -> str:
    """One line for the pytest session header."""
    if PRESENT:
        count = sum(1 for p in REAL_CASSETTES.rglob("*") if p.is_file())
        return f"replaykit real-cassettes: {REAL_CASSETTES} ({count} files)"
    return f"replaykit real-cassettes: ABSENT ({REAL_CASSETTES}); tests that read it are skipped"
