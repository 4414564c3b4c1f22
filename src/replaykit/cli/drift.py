"""``replaykit drift OLD NEW``: compare two recordings and say which differences are API changes."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from replaykit.cli._drift_table import FORMATS, render
from replaykit.drift import compare_trees, load_drift_config
from replaykit.drift.config import FAIL_ON, load_allowlist
from replaykit.drift.text import summary_line

_EPILOG = """\
exit status: 0 nothing at or above --fail-on, 1 drift at or above it, 2 usage or input error.
classes: breaking (fields removed, types/status/content-type changed, events removed, contract violations),
additive (new fields, events, enum values, headers), value (ids, text, token counts, latency: counted only).
"""


def add_parser(subparsers: Any) -> None:
    """Register the ``drift`` verb."""
    p = subparsers.add_parser(
        "drift",
        help="compare two recordings (directories or files) and classify the drift",
        description="Compare OLD and NEW cassettes (two directories paired by relative path, or two files) and "
        "report breaking, additive and value-only drift.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("old", metavar="OLD", type=Path, help="committed cassettes (directory or file)")
    p.add_argument("new", metavar="NEW", type=Path, help="freshly recorded cassettes (directory or file)")
    p.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    p.add_argument("--output", "-o", type=Path, metavar="FILE", help="write the report to FILE instead of stdout")
    p.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        default=None,
        help="lowest class that fails the run (default: breaking, or fail_on in the config)",
    )
    p.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="PATH-GLOB",
        help="drop findings at matching paths (repeatable), e.g. 'usage.*'",
    )
    p.add_argument("--contracts", type=Path, metavar="DIR", help="check new traffic against the contracts in DIR")
    p.add_argument("--show-values", action="store_true", default=None, help="also list value-only changes")
    p.add_argument(
        "--config",
        type=Path,
        metavar="PYPROJECT",
        help="pyproject.toml with [tool.replaykit.drift] (default: the nearest one)",
    )
    p.add_argument("--allowlist", type=Path, metavar="FILE", help="allow-list of accepted drift (YAML)")
    p.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="FORMAT=FILE",
        help="also write a FORMAT report to FILE from the same comparison (repeatable)",
    )
    p.set_defaults(run=run)


def _pyproject(explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit
    try:
        from replaykit.config import find_pyproject
    except ImportError:
        candidate = Path.cwd() / "pyproject.toml"
        return candidate if candidate.is_file() else None
    return find_pyproject()


def run(args: argparse.Namespace) -> int:
    """Run the comparison, write the report, and return 0/1 by ``--fail-on`` (2: a cassette is unreadable)."""
    for label, path in (("OLD", args.old), ("NEW", args.new)):
        if not path.exists():
            sys.stderr.write(f"replaykit drift: {label} not found: {path}\n")
            return 2
    extra: list[tuple[str, Path]] = []
    for spec in args.report:
        fmt, sep, file = spec.partition("=")
        if not sep or fmt not in FORMATS or not file:
            sys.stderr.write(
                f"replaykit drift: --report expects FORMAT=FILE with FORMAT one of {', '.join(FORMATS)}: {spec!r}\n"
            )
            return 2
        extra.append((fmt, Path(file)))
    config = load_drift_config(_pyproject(args.config))
    changes: dict[str, Any] = {"ignore": [*config.ignore, *args.ignore]}
    if args.fail_on:
        changes["fail_on"] = args.fail_on
    if args.show_values:
        changes["show_values"] = True
    if args.contracts is not None:
        if not args.contracts.is_dir():
            sys.stderr.write(f"replaykit drift: contracts directory not found: {args.contracts}\n")
            return 2
        changes["contracts_dir"] = args.contracts
    if args.allowlist is not None:
        changes["allowlist"] = load_allowlist(args.allowlist)
        changes["allowlist_path"] = args.allowlist
    config = config.with_options(**changes)
    report = compare_trees(args.old, args.new, config=config)
    fail_on = config.fail_on
    for fmt, file in extra:
        _write(file, render(report, fmt, fail_on=fail_on, width=160))
    if args.output is not None:
        _write(args.output, render(report, args.format, fail_on=fail_on, width=160))
        print(f"replaykit drift: {summary_line(report, fail_on)} ({args.format} report: {args.output})")
    elif args.format == "text" and (not sys.stdout.isatty() or os.environ.get("CI")):
        # CI logs and pipes: one finding per line instead of a table folded at an unknown width
        from replaykit.drift.text import render_lines

        sys.stdout.write(render_lines(report, fail_on=fail_on))
    else:
        tty = sys.stdout.isatty()
        color = tty and "NO_COLOR" not in os.environ
        width = shutil.get_terminal_size((160, 24)).columns if tty else 160
        sys.stdout.write(render(report, args.format, fail_on=fail_on, color=color, width=width))
    unreadable = [f for f in report.findings if f.check == "cassette-unreadable"]
    for f in unreadable:
        sys.stderr.write(f"replaykit drift: error: {f.new}\n")
    # a cassette that cannot be read is an input error, not drift: exit 2 whatever --fail-on says
    return 2 if unreadable else 1 if report.failed(fail_on) else 0


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
