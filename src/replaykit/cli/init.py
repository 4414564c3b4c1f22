"""``replaykit init``: set a project up for recording, secret scans and weekly drift checks (never overwrites)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Register the ``init`` verb."""
    p = subparsers.add_parser(
        "init",
        help="add [tool.replaykit], a weekly drift workflow, a pre-commit scan hook and a .gitignore line",
        description="Write the files a project needs for replaykit. Existing files are never overwritten: "
        "pyproject.toml and .gitignore are appended to, other files are skipped (and the skip is reported).",
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan and write nothing")
    p.add_argument("--root", type=Path, default=None, help="project directory (default: the working directory)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the plan, then (unless --dry-run) carry it out; 0 done, 2 input error."""
    from replaykit.project.init import apply_init, plan_init

    root = (args.root or Path.cwd()).resolve()
    if not root.is_dir():
        print(f"replaykit init: no such directory: {root}")
        return 2
    steps = plan_init(root)
    verb = {"create": "create", "append": "append", "skip": "skip  "}
    for step in steps:
        would = "would " if args.dry_run and step.action != "skip" else ""
        print(f"{would}{verb[step.action]} {step.path}: {step.why}")
    if args.dry_run:
        print("dry run: nothing written")
        return 0
    apply_init(root, steps)
    written = sum(1 for s in steps if s.action != "skip")
    print(f"replaykit init: {written} file(s) written, {len(steps) - written} skipped; next: `replaykit rerecord`")
    return 0
