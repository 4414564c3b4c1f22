"""Human drift reports as Markdown (``$GITHUB_STEP_SUMMARY``, a PR body) and the one-line summary.

The terminal table is the CLI's (``replaykit.cli._drift_table``): library code does not import rich.
"""

from __future__ import annotations

from collections import defaultdict

from replaykit.drift.checks import ADDITIVE, BREAKING, VALUE
from replaykit.drift.model import DriftReport, FindingGroup, Occurrence, location
from replaykit.drift.rules import display

_STYLE = {BREAKING: "bold red", ADDITIVE: "yellow", VALUE: "dim", "accepted": "green"}
_LABEL = {BREAKING: "BREAKING", ADDITIVE: "additive", VALUE: "value", "accepted": "accepted"}
_MAX_SEEN = 3


def summary_line(report: DriftReport, fail_on: str) -> str:
    """One line: counts per class, the value-only noise absorbed, and the verdict."""
    c = report.counts()
    verdict = "FAIL" if report.failed(fail_on) else "ok"
    variance = c["value"]
    parts = [f"{c['breaking']} breaking", f"{c['additive']} additive", f"{c['accepted']} accepted"]
    n = c["value_changes"]
    noise = (
        f"value-only: {n:,} value{'s' if n != 1 else ''} changed in {c['pairs_with_value_changes']:,} of "
        f"{c['pairs']:,} exchanges ({c['value_changes_volatile']:,} at known-volatile paths)"
    )
    if variance:
        noise += f", {variance} value-only finding{'s' if variance != 1 else ''}"
    if c["ignored"]:
        noise += f", {c['ignored']} ignored"
    return f"{' · '.join(parts)} · {noise} — fail-on {fail_on}: {verdict}"


def _seen(occ: list[Occurrence], limit: int = _MAX_SEEN) -> str:
    def one(o: Occurrence) -> str:
        idx = o.new_index if o.new_index is not None else o.old_index
        return o.cassette if idx is None else f"{o.cassette}#{idx}"

    shown = ", ".join(one(o) for o in occ[:limit])
    more = f" +{len(occ) - limit} more" if len(occ) > limit else ""
    return f"{len(occ)}× {shown}{more}" if len(occ) > 1 else shown


def _at(g: FindingGroup) -> str:
    return location(g.where, g.path)


def _label(g: FindingGroup) -> str:
    return "accepted" if g.accepted else g.severity


def render_lines(report: DriftReport, *, fail_on: str = BREAKING) -> str:
    """One finding per line, no table: for CI logs and pipes, where a wrapped table folds paths mid-word."""
    out = [f"replaykit drift  {report.old_root} → {report.new_root}"]
    for g in report.listed_groups():
        label = _LABEL[_label(g)]
        reason = f" — {g.reason}" if g.accepted and g.reason else ""
        out.append(f"{label} {g.check} {g.operation} {_at(g)}: {g.message}{reason} [{_seen(g.occurrences)}]")
    if len(out) == 1:
        out.append("no drift findings")
    out.extend(f"note: {note}" for note in report.notes)
    out.append(summary_line(report, fail_on))
    return "\n".join(out) + "\n"


def _path_cell(g: FindingGroup) -> str:
    # whole-exchange findings (status, events, cassettes) have no path inside a body
    if not g.path and g.where not in ("response.body", "request.body"):
        return "—"
    return f"`{_cell(display(g.path))}`"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: DriftReport, *, fail_on: str = BREAKING) -> str:
    """Markdown: verdict heading, summary, a table per class, accepted drift, and value-only counts per operation."""
    failed = report.failed(fail_on)
    worst = report.worst()
    if failed:
        head = f"❌ {worst} drift" if worst else "❌ value drift"
    elif worst:
        head = f"⚠️ {worst} drift (below fail-on {fail_on})"
    else:
        head = "✅ no drift"
    c = report.counts()
    out = [
        f"## replaykit drift: {head}",
        "",
        summary_line(report, fail_on),
        "",
        f"Compared `{report.old_root}` → `{report.new_root}`: {c['cassettes']} cassettes, {c['pairs']} exchange pairs.",
        "",
    ]
    groups = report.listed_groups()
    sections = ((BREAKING, "Breaking"), (ADDITIVE, "Additive"), (VALUE, "Value-only"))
    for sev, title in sections:
        rows = [g for g in groups if not g.accepted and g.severity == sev]
        if rows:
            out += [
                f"### {title} ({len(rows)})",
                "",
                "| operation | check | where | path | change | seen in |",
                "|---|---|---|---|---|---|",
            ]
            out += [
                f"| `{_cell(g.operation)}` | `{g.check}` | {_cell(g.where)} | {_path_cell(g)} | "
                f"{_cell(g.message)} | {_cell(_seen(g.occurrences))} |"
                for g in rows
            ]
            out.append("")
    accepted = [g for g in groups if g.accepted]
    if accepted:
        out += [
            f"### Accepted ({len(accepted)})",
            "",
            "| operation | check | path | change | reason |",
            "|---|---|---|---|---|",
        ]
        out += [
            f"| `{_cell(g.operation)}` | `{g.check}` | {_path_cell(g)} | {_cell(g.message)} | {_cell(g.reason)} |"
            for g in accepted
        ]
        out.append("")
    per_op: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for p in report.pairs:
        row = per_op[p.operation]
        row[0] += 1
        row[1] += p.value_changes
        row[2] += p.value_changes_volatile
    if per_op:
        out += [
            "<details><summary>Value-only changes per operation (expected noise)</summary>",
            "",
            "| operation | exchanges | values changed | at known-volatile paths |",
            "|---|---:|---:|---:|",
        ]
        out += [f"| `{op}` | {n} | {v:,} | {vol:,} |" for op, (n, v, vol) in sorted(per_op.items())]
        out += ["", "</details>", ""]
    for note in report.notes:
        out.append(f"> note: {_cell(note)}")
    return "\n".join(out).rstrip() + "\n"
