"""Report formats: stable JSON, JUnit XML, GitHub annotations, Markdown and the terminal table."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from replaykit.cli._drift_table import render as render_table
from replaykit.drift import SCHEMA_VERSION, DriftConfig, compare_exchanges, compare_trees, render, to_json

_CASES = Path(__file__).resolve().parents[1] / "cases" / "drift"


from drift_support import b  # noqa: E402


def mixed_report(**cfg):
    old = b.reindexed([b.converse(), b.converse(), b.chat(), b.chat()])
    new = copy.deepcopy(old)
    new[0].response.body.value["usage"]["serverToolUsage"] = {}
    new[1].response.body.value["usage"]["serverToolUsage"] = {}
    new[0].response.body.value.pop("metrics")
    new[1].response.body.value.pop("metrics")
    new[2].response.body.value["id"] = "chatcmpl-other"
    new[3].response.status = 500
    return compare_exchanges(old, new, config=DriftConfig(**cfg), cassette="test_x.yaml")


def test_json_report_schema():
    data = json.loads(render(mixed_report(), "json"))
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert set(data) == {
        "schema_version",
        "tool",
        "replaykit_version",
        "old",
        "new",
        "fail_on",
        "failed",
        "worst",
        "summary",
        "findings",
        "pairs",
        "checks",
        "notes",
    }
    assert data["failed"] is True and data["worst"] == "breaking"
    assert set(data["summary"]) == {
        "breaking",
        "additive",
        "value",
        "accepted",
        "ignored",
        "value_changes",
        "value_changes_volatile",
        "pairs",
        "pairs_with_value_changes",
        "cassettes",
    }
    assert data["summary"]["breaking"] == 2 and data["summary"]["additive"] == 1
    added = next(f for f in data["findings"] if f["check"] == "response-field-added")
    assert set(added) == {
        "id",
        "check",
        "severity",
        "accepted",
        "reason",
        "operation",
        "where",
        "path",
        "message",
        "old",
        "new",
        "count",
        "occurrences",
    }
    assert added["count"] == 2 and added["path"] == "usage.serverToolUsage"
    assert added["id"] == "response-field-added:bedrock-runtime.Converse:response.body:usage.serverToolUsage"
    assert added["occurrences"][0] == {
        "cassette": "test_x.yaml",
        "old_index": 0,
        "new_index": 0,
        "model": "anthropic.claude-3-haiku-20240307-v1:0",
    }
    status = {(p["old_index"], p["status"]) for p in data["pairs"]}
    assert status == {(0, "breaking"), (1, "breaking"), (2, "value"), (3, "breaking")}
    assert data["checks"]["status-changed"] == "breaking"
    # stable: the same input renders byte-identically
    assert render(mixed_report(), "json") == render(mixed_report(), "json")


def test_findings_sorted_most_severe_first():
    groups = to_json(mixed_report())["findings"]
    assert [g["severity"] for g in groups] == ["breaking", "breaking", "additive"]


def test_junit_has_one_testcase_per_pair_and_fails_breaking_ones():
    root = ET.fromstring(render(mixed_report(), "junit").encode())
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 4
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failed == [
        "bedrock-runtime.Converse [#0→#0]",
        "bedrock-runtime.Converse [#1→#1]",
        "openai.chat.completions [#3→#3]",
    ]
    assert root.get("failures") == "3"
    first = cases[0]
    assert "response-field-removed" in first.find("failure").text
    assert "response-field-added" in first.find("system-out").text
    assert cases[2].find("system-out") is None  # value-only pair: passes quietly


def test_github_annotations():
    lines = render(mixed_report(), "github").splitlines()
    assert lines[0].startswith(
        "::error title=drift response-field-removed::bedrock-runtime.Converse response.body "
        "metrics: removed (was object) (2×)"
    )
    assert any(line.startswith("::warning title=drift response-field-added::") and "(2×)" in line for line in lines)
    assert lines[-1].startswith("replaykit drift: 2 breaking, 1 additive")


def test_github_annotation_points_at_the_cassette_line():
    out = render(compare_trees(_CASES / "field_removed" / "old.yaml", _CASES / "field_removed" / "new.yaml"), "github")
    first = out.splitlines()[0]
    assert first.startswith("::error file=")
    assert "old.yaml,line=8,title=drift response-field-removed::" in first


def test_github_escapes_newlines_and_percent():
    from replaykit.drift.report import _data, _prop

    assert _data("a%b\nc") == "a%25b%0Ac"
    assert _prop("x:y,z") == "x%3Ay%2Cz"


def test_markdown_report():
    md = render(mixed_report(), "markdown")
    assert md.startswith("## replaykit drift: ❌ breaking drift")
    assert "### Breaking (2)" in md and "### Additive (1)" in md
    assert "| `bedrock-runtime.Converse` | `response-field-removed` | response.body | `metrics` |" in md
    assert "<details><summary>Value-only changes per operation" in md
    clean = render(compare_exchanges([b.converse()], [b.converse()]), "markdown")
    assert clean.startswith("## replaykit drift: ✅ no drift")


def test_markdown_lists_accepted_with_reason():
    from replaykit.drift.config import AllowEntry

    report = mixed_report(
        allowlist=[AllowEntry("response-field-added", "known since 2026-01", "*", "usage.serverToolUsage")]
    )
    md = render(report, "markdown")
    assert "### Accepted (1)" in md and "known since 2026-01" in md
    assert "### Additive" not in md


def test_text_report_groups_by_operation_and_ends_with_summary():
    text = render_table(mixed_report(), "text", width=200)
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines[0].startswith("replaykit drift")
    assert lines[-1].startswith("2 breaking · 1 additive · 0 accepted · value-only:")
    assert lines[-1].endswith("fail-on breaking: FAIL")
    converse_rows = [line for line in lines if "bedrock-runtime.Converse" in line]
    assert len(converse_rows) == 1  # the operation is printed once, on the first row of its group
    assert "\x1b[" not in text


def test_value_changes_listed_only_with_show_values():
    quiet = render_table(mixed_report(), "text", width=200)
    assert "value-changed" not in quiet
    loud = render_table(mixed_report(show_values=True), "text", width=200)
    assert "value-changed" in loud and '"chatcmpl-A1" → "chatcmpl-other" (volatile)' in loud
