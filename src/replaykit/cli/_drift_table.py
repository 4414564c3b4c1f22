"""The drift report as a rich terminal table (the CLI's rendering; the other formats are ``replaykit.drift``'s)."""

from __future__ import annotations

import io
from itertools import groupby
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from replaykit import drift
from replaykit.drift.checks import BREAKING
from replaykit.drift.model import CASSETTE_LEVEL, DriftReport
from replaykit.drift.text import _LABEL, _STYLE, _at, _label, _seen, summary_line

FORMATS = ("text", *drift.FORMATS)


def render(report: DriftReport, fmt: str, **options: Any) -> str:
    """The report in one of FORMATS: ``text`` here, the rest by ``replaykit.drift.render``."""
    if fmt == "text":
        return render_text(report, **options)
    options.pop("color", None)
    options.pop("width", None)
    return drift.render(report, fmt, **options)


def render_text(report: DriftReport, *, fail_on: str = BREAKING, color: bool = False, width: int = 140) -> str:
    """A terminal table, one line per finding, grouped by operation, with a summary line."""
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, no_color=not color, width=width, highlight=False, emoji=False)
    console.print(Text(f"replaykit drift  {report.old_root} → {report.new_root}", style="bold"))
    groups = report.listed_groups()
    if groups:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
        for name in ("operation", "class", "check"):
            table.add_column(name, no_wrap=True)
        table.add_column("at", overflow="fold", ratio=3)
        table.add_column("change", overflow="fold", ratio=3)
        table.add_column("seen in", overflow="fold", ratio=2)
        ordered = sorted(groups, key=lambda g: (g.operation == CASSETTE_LEVEL, g.operation))
        for op, items in groupby(ordered, key=lambda g: g.operation):
            for i, g in enumerate(items):
                label = _label(g)
                change = g.message + (f" — {g.reason}" if g.accepted and g.reason else "")
                table.add_row(
                    Text(op if i == 0 else "", style="bold cyan"),
                    Text(_LABEL[label], style=_STYLE[label]),
                    g.check,
                    _at(g),
                    change,
                    _seen(g.occurrences, 1),
                )
            table.add_section()
        console.print(table)
    else:
        console.print("no drift findings")
    for note in report.notes:
        console.print(Text(f"note: {note}", style="dim"))
    worst = report.worst()
    style = _STYLE.get(worst or "", "green") if report.failed(fail_on) else "green"
    console.print(Text(summary_line(report, fail_on), style=style))
    return buf.getvalue()
