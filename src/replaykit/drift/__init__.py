"""Drift detection: compare a fresh recording with the committed one and separate API changes from value noise.

report = compare_trees(Path("cassettes"), Path(scratch), config=load_drift_config(Path("pyproject.toml")))
print(render(report, "markdown"))
"""

from __future__ import annotations

from replaykit.drift.checks import ADDITIVE, BREAKING, CHECKS, VALUE, Check
from replaykit.drift.compare import compare_exchanges, compare_trees
from replaykit.drift.config import AllowEntry, DriftConfig, Override, load_allowlist, load_drift_config
from replaykit.drift.diff import diff_shapes
from replaykit.drift.model import SCHEMA_VERSION, DriftReport, Finding, FindingGroup, Occurrence, PairResult
from replaykit.drift.pair import pair_cassettes, pair_exchanges
from replaykit.drift.report import FORMATS, render, to_json

__all__ = [
    "ADDITIVE",
    "BREAKING",
    "CHECKS",
    "FORMATS",
    "SCHEMA_VERSION",
    "VALUE",
    "AllowEntry",
    "Check",
    "DriftConfig",
    "DriftReport",
    "Finding",
    "FindingGroup",
    "Occurrence",
    "Override",
    "PairResult",
    "compare_exchanges",
    "compare_trees",
    "diff_shapes",
    "load_allowlist",
    "load_drift_config",
    "pair_cassettes",
    "pair_exchanges",
    "render",
    "to_json",
]
