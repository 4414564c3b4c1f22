"""Machine-readable drift reports: stable JSON, JUnit XML, GitHub Actions annotations; and the format dispatcher."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from importlib.metadata import version
from pathlib import Path
from typing import Any

from replaykit.drift.checks import ADDITIVE, BREAKING, CHECKS, SEVERITY_RANK, VALUE, at_or_above
from replaykit.drift.model import CASSETTE_LEVEL, SCHEMA_VERSION, DriftReport, FindingGroup, location
from replaykit.drift.rules import display
from replaykit.drift.text import render_markdown
from replaykit.errors import ConfigError

FORMATS = ("markdown", "json", "junit", "github")


def render(report: DriftReport, fmt: str, *, fail_on: str = BREAKING) -> str:
    """The report in one of FORMATS (the terminal table is the CLI's: ``replaykit drift --format text``)."""
    if fmt == "markdown":
        return render_markdown(report, fail_on=fail_on)
    if fmt == "json":
        return json.dumps(to_json(report, fail_on=fail_on), indent=2, ensure_ascii=False) + "\n"
    if fmt == "junit":
        return render_junit(report, fail_on=fail_on)
    if fmt == "github":
        return render_github(report, fail_on=fail_on)
    raise ConfigError(f"unknown drift report format {fmt!r}; formats are: {', '.join(FORMATS)}")


def group_json(g: FindingGroup) -> dict[str, Any]:
    """One finding group as it appears in the JSON report."""
    return {
        "id": g.id,
        "check": g.check,
        "severity": g.severity,
        "accepted": g.accepted,
        "reason": g.reason,
        "operation": g.operation,
        "where": g.where,
        "path": display(g.path),
        "message": g.message,
        "old": g.old,
        "new": g.new,
        "count": g.count,
        "occurrences": [
            {"cassette": o.cassette, "old_index": o.old_index, "new_index": o.new_index, "model": o.model or None}
            for o in g.occurrences
        ],
    }


def pair_status(report: DriftReport) -> dict[tuple[str, int | None, int | None], str]:
    """The worst unaccepted class per pair key (pairs without findings are absent)."""
    out: dict[tuple[str, int | None, int | None], str] = {}
    for f in report.findings:
        if f.accepted or f.severity not in SEVERITY_RANK:
            continue
        key = (f.cassette, f.old_index, f.new_index)
        if SEVERITY_RANK[f.severity] > SEVERITY_RANK.get(out.get(key, ""), 0):
            out[key] = f.severity
    return out


def to_json(report: DriftReport, *, fail_on: str = BREAKING) -> dict[str, Any]:
    """The report as a JSON-ready dict (schema documented in docs/drift.md)."""
    status = pair_status(report)
    pairs = []
    for p in report.pairs:
        st = status.get(p.key) or (VALUE if p.value_changes else "unchanged")
        pairs.append(
            {
                "cassette": p.cassette,
                "operation": p.operation,
                "model": p.model or None,
                "old_index": p.old_index,
                "new_index": p.new_index,
                "status": st,
                "value_changes": p.value_changes,
                "value_changes_volatile": p.value_changes_volatile,
            }
        )
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": "replaykit drift",
        "replaykit_version": version("replaykit"),
        "old": report.old_root,
        "new": report.new_root,
        "fail_on": fail_on,
        "failed": report.failed(fail_on),
        "worst": report.worst(),
        "summary": report.counts(),
        "findings": [group_json(g) for g in report.groups()],
        "pairs": pairs,
        "checks": {c.id: c.severity for c in CHECKS.values()},
        "notes": list(report.notes),
    }


def render_junit(report: DriftReport, *, fail_on: str = BREAKING) -> str:
    """JUnit XML: one testcase per exchange pair (and per cassette-level finding), failed at/above ``fail_on``."""
    by_pair: dict[tuple[str, int | None, int | None], list[Any]] = {}
    for f in report.findings:
        by_pair.setdefault((f.cassette, f.old_index, f.new_index), []).append(f)
    cases: list[tuple[str, str, list[Any]]] = []
    for p in report.pairs:
        cases.append((p.cassette, f"{p.operation} [{_idx(p.old_index)}→{_idx(p.new_index)}]", by_pair.pop(p.key, [])))
    for (cassette, _oi, _ni), found in by_pair.items():
        cases.append((cassette, found[0].operation if found[0].operation != CASSETTE_LEVEL else "cassette", found))
    suite = ET.Element("testsuite", name="replaykit drift")
    failures = 0
    for classname, name, found in cases:
        case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")
        bad = [f for f in found if not f.accepted and at_or_above(f.severity, fail_on)]
        if bad:
            failures += 1
            failure = ET.SubElement(case, "failure", type=bad[0].check, message=bad[0].message)
            failure.text = "\n".join(f"[{f.severity}] {f.check} {location(f.where, f.path)}: {f.message}" for f in bad)
        rest = [f for f in found if f not in bad]
        if rest:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(
                f"[{'accepted' if f.accepted else f.severity}] {f.check} {location(f.where, f.path)}: {f.message}"
                for f in rest
            )
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", "0")
    root = ET.Element("testsuites", name="replaykit drift", tests=str(len(cases)), failures=str(failures))
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _idx(i: int | None) -> str:
    return "-" if i is None else f"#{i}"


_LEVEL = {BREAKING: "error", ADDITIVE: "warning", VALUE: "notice"}


def render_github(report: DriftReport, *, fail_on: str = BREAKING) -> str:
    """GitHub Actions workflow commands: ``::error``/``::warning``/``::notice`` per listed finding group."""
    lines = []
    for g in report.listed_groups():
        level = "notice" if g.accepted else _LEVEL.get(g.severity, "notice")
        first = g.occurrences[0]
        file = _cassette_file(report, first.cassette, new_side=first.old_index is None and first.new_index is not None)
        props = [f"file={_prop(file)}"] if file else []
        line = _exchange_line(file, first.old_index if first.old_index is not None else first.new_index)
        if line:
            props.append(f"line={line}")
        props.append(f"title={_prop(f'drift {g.check}' + (' (accepted)' if g.accepted else ''))}")
        more = f" ({g.count}×)" if g.count > 1 else ""
        where = "" if g.operation == CASSETTE_LEVEL else f"{g.operation} {location(g.where, g.path)}: "
        reason = f" — accepted: {g.reason}" if g.accepted else ""
        lines.append(f"::{level} {','.join(props)}::{_data(where + g.message + more + reason)}")
    counts = report.counts()
    verdict = "FAIL" if report.failed(fail_on) else "ok"
    lines.append(
        f"replaykit drift: {counts['breaking']} breaking, {counts['additive']} additive, "
        f"{counts['accepted']} accepted, {counts['value_changes']} value changes "
        f"(fail-on {fail_on}: {verdict})"
    )
    return "\n".join(lines) + "\n"


def _cassette_file(report: DriftReport, cassette: str, *, new_side: bool = False) -> str | None:
    # annotate the committed (OLD) cassette when it exists: that is the file a reviewer opens; an exchange that
    # exists only in NEW can only be pointed at in the new cassette
    roots = (report.new_root, report.old_root) if new_side else (report.old_root, report.new_root)
    for root in roots:
        base = Path(root)
        candidate = base if base.is_file() else base / cassette
        if candidate.is_file():
            try:
                return os.path.relpath(candidate)
            except ValueError:
                return str(candidate)
    return None


_ITEM = re.compile(r"^- ")


def _exchange_line(file: str | None, index: int | None) -> int | None:
    """1-based line of the index-th top-level interaction in a cassette, best effort."""
    if not file or index is None:
        return None
    try:
        lines = Path(file).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    inside, seen = False, -1
    for n, text in enumerate(lines, 1):
        if text.startswith("interactions:"):
            inside = True
            continue
        if inside and _ITEM.match(text):
            seen += 1
            if seen == index:
                return n
        elif inside and text and not text[0].isspace() and not text.startswith("-"):
            inside = False
    return None


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
