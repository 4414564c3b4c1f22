"""[tool.replaykit.drift], the allow-list, severity overrides, ignore globs and path-glob semantics."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from replaykit.drift import DriftConfig, compare_exchanges, load_drift_config
from replaykit.drift.checks import CHECKS
from replaykit.drift.config import AllowEntry, Override, load_allowlist
from replaykit.drift.rules import PathSet, normalize_contract_path, path_matches
from replaykit.errors import ConfigError

_CASES = Path(__file__).resolve().parents[1] / "cases" / "drift"


from drift_support import b  # noqa: E402


def pair_with(fn):
    old = b.chat()
    new = copy.deepcopy(old)
    fn(new.response.body.value)
    return [old], [new]


def new_finish_reason(v):
    v["choices"][0]["finish_reason"] = "content_filter"


def drop_usage(v):
    del v["usage"]


PYPROJECT = """
[project]
name = "x"

[tool.replaykit.drift]
severity = {"enum-value-added" = "breaking", "header-added" = "off"}
closed = ["stopReason"]
ignore = ["choices[*].message.annotations"]
allowlist = "accepted.yaml"

[[tool.replaykit.drift.override]]
check = "response-field-removed"
path = "usage"
severity = "additive"

[[tool.replaykit.drift.override]]
check = "enum-value-added"
path = "choices[*].finish_reason"
operation = "openai.*"
severity = "value-only"
"""

ALLOW = """
accepted:
  - check: response-field-added
    operation: bedrock-runtime.*
    path: usage.serverToolUsage
    reason: Bedrock added serverToolUsage (2026-01); the SDK ignores it
"""


@pytest.fixture
def pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "accepted.yaml").write_text(ALLOW)
    return tmp_path / "pyproject.toml"


def test_load_drift_config(pyproject):
    cfg = load_drift_config(pyproject)
    assert cfg.severity == {"enum-value-added": "breaking", "header-added": "off"}
    assert cfg.closed == ["stopReason"]
    assert cfg.ignore == ["choices[*].message.annotations"]
    assert cfg.overrides[0] == Override("additive", "response-field-removed", "usage", "*")
    assert cfg.overrides[1] == Override("value", "enum-value-added", "choices[*].finish_reason", "openai.*")
    assert cfg.allowlist == [
        AllowEntry(
            "response-field-added",
            "Bedrock added serverToolUsage (2026-01); the SDK ignores it",
            "bedrock-runtime.*",
            "usage.serverToolUsage",
        )
    ]
    assert cfg.allowlist_path == pyproject.parent / "accepted.yaml"


def test_no_pyproject_or_no_table_gives_defaults(tmp_path):
    assert load_drift_config(None) == DriftConfig()
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n")
    assert load_drift_config(tmp_path / "pyproject.toml") == DriftConfig()


def test_default_allowlist_file_is_picked_up(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.replaykit.drift]\n")
    (tmp_path / ".replaykit-drift-allow.yaml").write_text(ALLOW)
    assert len(load_drift_config(tmp_path / "pyproject.toml").allowlist) == 1


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("sevrity = {}", "unknown key(s) sevrity"),
        ('severity = {"no-such-check" = "breaking"}', "unknown check id"),
        ('severity = {"value-changed" = "fatal"}', "unknown severity"),
        ('fail_on = "sometimes"', "fail_on must be one of"),
        ('[[tool.replaykit.drift.override]]\ncheck = "status-changed"', "needs check/path and severity"),
        ('allowlist = "missing.yaml"', "allow-list file not found"),
    ],
)
def test_bad_config_is_a_config_error(tmp_path, table, message):
    (tmp_path / "pyproject.toml").write_text(f"[tool.replaykit.drift]\n{table}\n")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_drift_config(tmp_path / "pyproject.toml")


def test_allowlist_entries_need_a_reason(tmp_path):
    path = tmp_path / "allow.yaml"
    path.write_text("- check: response-field-added\n  path: usage.x\n")
    with pytest.raises(ConfigError, match="needs a `reason`"):
        load_allowlist(path)
    path.write_text("- {check: response-field-added, reason: ok, pathh: x}\n")
    with pytest.raises(ConfigError, match="unknown key"):
        load_allowlist(path)


def test_allowlisted_finding_is_accepted_and_does_not_fail(pyproject):
    cfg = load_drift_config(pyproject)
    old = b.converse()
    new = copy.deepcopy(old)
    new.response.body.value["usage"]["serverToolUsage"] = {}
    report = compare_exchanges([old], [new], config=cfg)
    [f] = report.findings
    assert f.accepted and f.reason.startswith("Bedrock added")
    assert not report.failed("any")
    assert not report.failed("additive")
    assert report.counts()["accepted"] == 1 and report.counts()["additive"] == 0


def test_per_check_severity_and_per_path_override(pyproject):
    cfg = load_drift_config(pyproject)
    # enum-value-added is breaking by config, but the per-path override makes finish_reason value-only for openai
    report = compare_exchanges(*pair_with(new_finish_reason), config=cfg)
    assert [(f.check, f.severity) for f in report.findings] == [("enum-value-added", "value")]
    plain = compare_exchanges(*pair_with(new_finish_reason))
    assert [(f.check, f.severity) for f in plain.findings] == [("enum-value-added", "additive")]
    # response-field-removed is breaking, but not at `usage` (override)
    report = compare_exchanges(*pair_with(drop_usage), config=cfg)
    assert [(f.check, f.severity) for f in report.findings] == [("response-field-removed", "additive")]
    assert not report.failed("breaking")
    # closed paths from config make a new stop reason breaking even with a per-check severity of additive
    old = b.converse()
    new = copy.deepcopy(old)
    new.response.body.value["stopReason"] = "refused"
    cfg2 = DriftConfig(closed=["stopReason"], severity={"enum-value-added": "additive"})
    assert [f.severity for f in compare_exchanges([old], [new], config=cfg2).findings] == ["breaking"]


def test_severity_off_and_ignore_drop_findings(pyproject):
    cfg = load_drift_config(pyproject)
    old = b.chat()
    new = b.chat(headers={**b.JSON, **b.RATE, "retry-after": ["1"]})
    report = compare_exchanges([old], [new], config=cfg)
    assert report.findings == [] and report.ignored == 1
    annotated = copy.deepcopy(old)
    annotated.response.body.value["choices"][0]["message"]["annotations"] = []
    report = compare_exchanges([old], [annotated], config=cfg)
    assert report.findings == [] and report.ignored == 1


def test_checks_catalogue_is_complete():
    assert {c.severity for c in CHECKS.values()} == {"breaking", "additive", "value"}
    for cid in (
        "response-field-removed",
        "response-type-changed",
        "status-changed",
        "content-type-changed",
        "stream-event-removed",
        "contract-violation",
        "exchange-removed",
        "request-field-removed",
    ):
        assert CHECKS[cid].severity == "breaking", cid
    for cid in (
        "response-field-added",
        "stream-event-added",
        "enum-value-added",
        "header-added",
        "request-field-added",
        "exchange-added",
    ):
        assert CHECKS[cid].severity == "additive", cid
    assert CHECKS["value-changed"].severity == "value"


@pytest.mark.parametrize(
    ("pattern", "path", "hit"),
    [
        ("usage", "usage.inputTokens", True),
        ("usage.*", "usage.inputTokens", True),
        ("usage.*", "usage", False),
        ("*.text", "output.message.content[*].text", True),
        ("*.text", "text", False),
        ("choices[*].finish_reason", "choices[*].finish_reason", True),
        ("choices[*].finish_reason", "choicesX.finish_reason", False),
        ("$.metrics.latencyMs", "metrics.latencyMs", True),
        ("choices[].delta", "choices[*].delta.content", True),
        ("?d", "id", True),
    ],
)
def test_path_globs(pattern, path, hit):
    assert path_matches(pattern, path) is hit


def test_pathset_without_descendants_is_exact():
    closed = PathSet(["stopReason"], descendants=False)
    assert closed("stopReason") and not closed("stopReason.x")


def test_contract_paths_are_normalized():
    assert normalize_contract_path("$.output.message.content[0].text") == "output.message.content[*].text"
    assert normalize_contract_path("$['amazon-bedrock-invocationMetrics'].x") == "amazon-bedrock-invocationMetrics.x"
    assert normalize_contract_path("/choices/0/finish_reason") == "choices[*].finish_reason"
    assert normalize_contract_path("$") == ""
