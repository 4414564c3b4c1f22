"""``replaykit status``: the cassette inventory (age, target, SDK versions, operations, orphans, missing ones).

``--format json`` prints one stable object: ``{"version": 1, "root", "cassette_dir", "installed", "older_than_days",
"counts": {...}, "cassettes": [{"cassette", "recorded_at", "age_days", "target", "profile", "versions",
"version_gaps", "operations", "exchanges", "tests", "orphan", "stale", "error"}], "tests_without_cassette":
[{"test", "expected"}]}``.

Exit codes: 0 report printed, 1 orphans with --fail-on-orphans or cassettes older than --older-than, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Register the ``status`` verb."""
    p = subparsers.add_parser(
        "status",
        help="cassette inventory: age, target, SDK versions, operations, orphans, tests without a cassette",
        description="List every cassette with its age, target, recorded vs installed SDK versions and operations; "
        "flag cassettes no collected test uses and tests that use replaykit but have no cassette.",
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="report format (default: text)")
    p.add_argument("--older-than", type=float, metavar="DAYS", help="flag cassettes older than DAYS (exit 1 if any)")
    p.add_argument("--fail-on-orphans", action="store_true", help="exit 1 when a cassette no test uses exists")
    p.add_argument("--cassettes", type=Path, metavar="DIR", help="cassette directory (default: from the config)")
    p.add_argument("pytest_args", nargs=argparse.REMAINDER, metavar="-- PYTEST-ARGS", help="arguments for collection")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Collect, inventory, print; exit 1 on what the flags ask to fail on."""
    from replaykit.config import load_config
    from replaykit.project.inventory import build_inventory, collect_tests

    config = load_config()
    if args.cassettes is not None:
        config = config.with_options(cassette_dir=args.cassettes.resolve())
    extra = list(args.pytest_args)
    if extra and extra[0] == "--":
        extra = extra[1:]
    if args.older_than is not None and args.older_than < 0:
        print("replaykit status: --older-than must be a number of days >= 0")
        return 2
    tests = collect_tests(config.root, tuple(extra))
    inventory = build_inventory(config, tests, older_than_days=args.older_than)
    if args.format == "json":
        print(json.dumps(inventory.to_dict(), indent=2))
    else:
        _print_text(inventory)
    failed = (args.fail_on_orphans and inventory.orphans) or (args.older_than is not None and inventory.stale)
    return 1 if failed else 0


def _print_text(inv: Any) -> None:
    # one line per cassette and per finding: readable in CI logs at any width, greppable
    root = Path(inv.cassette_dir)
    try:
        shown = root.relative_to(Path.cwd())
    except ValueError:
        shown = root
    installed = ", ".join(f"{k} {v}" for k, v in inv.installed.items()) or "no SDKs"
    print(f"{len(inv.cassettes)} cassette(s) in {shown}/; installed: {installed}")
    for c in inv.cassettes:
        age = f"{c.age_days:g}d" if c.age_days is not None else "age ?"
        flags = [f for f, on in (("ORPHAN", c.orphan), ("STALE", c.stale), ("SDK-GAP", c.version_gaps)) if on]
        ops = ", ".join(c.operations) or "-"
        print(f"  {c.cassette}  {age}  {c.target or '?'}  {ops}" + (f"  [{' '.join(flags)}]" if flags else ""))
    for c in inv.cassettes:
        if c.error:
            print(f"unreadable: {c.cassette}: {c.error}")
        if c.orphan:
            print(f"orphan: {c.cassette} (no collected test uses it)")
        for gap in c.version_gaps:
            print(f"sdk gap: {c.cassette}: {gap}")
        if c.stale:
            print(f"stale: {c.cassette} recorded {c.age_days:g} days ago (older than {inv.older_than_days:g})")
    for t in inv.tests_without_cassette:
        print(f"no cassette: {t['test']} (expects {t['expected']})")
    stale = f", {len(inv.stale)} older than {inv.older_than_days:g} days" if inv.older_than_days is not None else ""
    print(
        f"{len(inv.orphans)} orphan(s), {len(inv.tests_without_cassette)} test(s) without a cassette, "
        f"{sum(1 for c in inv.cassettes if c.version_gaps)} with an SDK major-version gap{stale}"
    )
