"""Shared test helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_CASSETTES = REPO.parent / "shared" / "real-cassettes"


@pytest.fixture(scope="session")
def real_cassettes() -> Path:
    """The read-only directory of cassettes recorded against the real providers (skip when absent)."""
    if not REAL_CASSETTES.is_dir():
        pytest.skip("../shared/real-cassettes is not present")
    return REAL_CASSETTES
