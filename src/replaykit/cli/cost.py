"""``replaykit cost``: what the recorded suite would cost if it ran against the live providers.

Every exchange's recorded token usage is priced from the bundled price table (or ``[tool.replaykit] prices`` /
``--prices``). JSON output (``--format json``), stable::

    {"as_of", "currency", "calls", "usd",
     "by_model": [{"provider", "model", "calls", "input_tokens", "output_tokens", "cache_read_tokens",
                   "cache_write_tokens", "usd", "priced"}],
     "by_cassette": [{"cassette", "calls", "usd"}], "unreadable": [{"cassette", "error"}]}

Exit codes: 0 report printed, 2 usage or input error (missing directory, unreadable price file or cassette).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from replaykit.cassette import iter_cassettes
from replaykit.config import load_config
from replaykit.cost import CostTracker, cassette_charges, load_prices
from replaykit.errors import ReplaykitError


def add_parser(subparsers: Any) -> None:
    """Register the ``cost`` verb."""
    parser = subparsers.add_parser(
        "cost",
        help="what the recorded suite would cost live",
        description="Price the token usage recorded in cassettes, per provider/model and per cassette.",
    )
    parser.add_argument(
        "--cassettes", metavar="DIR", help="cassette directory (default: [tool.replaykit] cassette_dir)"
    )
    parser.add_argument("--prices", metavar="FILE", help="price table overriding the bundled one")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="report format (default: text)")
    parser.set_defaults(run=run)


def _row(provider: str, model: str, line: Any) -> dict[str, Any]:
    u = line.usage
    return {
        "provider": provider,
        "model": model,
        "calls": line.calls,
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cache_read_tokens": u.cache_read_tokens,
        "cache_write_tokens": u.cache_write_tokens,
        "usd": round(line.usd, 8),
        "priced": not line.unpriced,
    }


def run(args: argparse.Namespace) -> int:
    """Print the cost report; 0 done, 2 input error."""
    config = load_config()
    root = Path(args.cassettes) if args.cassettes else config.cassette_dir
    if not root.exists():
        sys.stderr.write(f"replaykit cost: no such cassette directory: {root}\n")
        return 2
    table = load_prices(args.prices or config.prices)
    tracker = CostTracker(table)
    unreadable: list[dict[str, str]] = []
    for path in iter_cassettes(root):
        name = str(path.relative_to(root)) if path != root else path.name
        try:
            charges = cassette_charges(path, table)
        except ReplaykitError as exc:
            unreadable.append({"cassette": name, "error": str(exc)})
            continue
        for charge in charges:
            tracker.add(charge, name)
    report = {
        "as_of": table.as_of,
        "currency": "USD",
        "calls": tracker.total.calls,
        "usd": round(tracker.total.usd, 8),
        "by_model": [
            _row(p, m, line) for (p, m), line in sorted(tracker.by_model.items(), key=lambda kv: (-kv[1].usd, kv[0]))
        ],
        "by_cassette": [
            {"cassette": name, "calls": line.calls, "usd": round(line.usd, 8)}
            for name, line in sorted(tracker.by_test.items(), key=lambda kv: (-kv[1].usd, kv[0]))
        ],
        "unreadable": unreadable,
    }
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        _print_text(report, tracker, root)
    return 2 if unreadable else 0


def _print_text(report: dict[str, Any], tracker: CostTracker, root: Path) -> None:
    from replaykit.plugin._resilience import render

    if not tracker.total.calls:
        print(f"no exchanges with token usage under {root}")
    else:
        for line in render(tracker, f"recorded usage under {root}, priced as if live:", top=10):
            print(line.replace("most expensive tests:", "most expensive cassettes:"))
    print(f"prices as of {report['as_of']} (USD per 1M tokens)")
    unpriced = [r["model"] for r in report["by_model"] if not r["priced"]]
    if unpriced:
        print(f"unpriced models (add them to a --prices file): {', '.join(unpriced)}")
    for bad in report["unreadable"]:
        sys.stderr.write(f"replaykit cost: cannot read {bad['cassette']}: {bad['error']}\n")
