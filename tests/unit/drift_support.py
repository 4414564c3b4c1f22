"""The drift case builders (tests/cases/drift/builders.py), loaded once for every drift test module."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

CASES = Path(__file__).resolve().parents[1] / "cases" / "drift"


def _builders():
    if "drift_case_builders" not in sys.modules:
        spec = importlib.util.spec_from_file_location("drift_case_builders", CASES / "builders.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules["drift_case_builders"] = mod
        spec.loader.exec_module(mod)
    return sys.modules["drift_case_builders"]


b = _builders()
