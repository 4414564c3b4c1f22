"""``replaykit contracts update|check|official``: JSON-Schema contracts per operation.

``check --format json`` prints one stable object::

    {"version": 1, "ok": bool,
     "counts": {"cassettes", "exchanges", "operations", "violations", "errors", "warnings"},
     "operations": [...], "missing_contracts": [...],
     "violations": [{"cassette", "exchange_index", "operation", "part", "path", "expected", "found", "message",
                     "severity"}]}

Exit codes: 0 clean, 1 violations (warnings too with --strict), 2 usage or input error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from replaykit.errors import ConfigError

_EPILOG = """\
Contracts live at <contracts>/<provider>/<name>.json. `update` widens them from the cassettes and keeps manual
edits (description, x-replaykit-volatile, x-replaykit-closed, relaxed required, x-replaykit-manual subtrees).
`check` reports where cassettes break their contracts and, unless --no-official, where they contradict the
official shapes (botocore models, openai SDK types); unknown fields/enum values against the spec are warnings.
Exit status: 0 clean, 1 violations, 2 usage or input error."""


def add_parser(subparsers: Any) -> None:
    """Register the ``contracts`` verb and its sub-commands."""
    parser = subparsers.add_parser(
        "contracts",
        help="infer and check JSON-Schema contracts per operation",
        description="JSON-Schema contracts per operation: infer them from cassettes, check cassettes against "
        "them, and build the official shapes they are measured against.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="contracts_command", metavar="COMMAND", parser_class=type(parser))
    parser.set_defaults(run=_missing_command)

    update = sub.add_parser("update", help="infer contracts from cassettes and merge them into the contract files")
    _dirs(update)
    update.add_argument("--no-official", action="store_true", help="do not seed unions from the official shapes")
    update.set_defaults(run=run_update)

    check = sub.add_parser("check", help="check cassettes against their contracts and the official shapes")
    _dirs(check)
    check.add_argument("--format", choices=("text", "json", "junit"), default="text", help="report format")
    check.add_argument("--no-official", action="store_true", help="skip the check against the official shapes")
    check.add_argument("--strict", action="store_true", help="fail on warnings too")
    check.set_defaults(run=run_check)

    official = sub.add_parser("official", help="write or print the official shape of operations as contracts")
    official.add_argument(
        "--operation",
        action="append",
        metavar="OP",
        help="operation such as bedrock-runtime.Converse (repeatable; default: the common ones)",
    )
    official.add_argument("--out", metavar="DIR", help="write <DIR>/<provider>/<name>.json instead of printing")
    official.set_defaults(run=run_official)


def _dirs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cassettes", default="cassettes", metavar="DIR", help="cassette directory (default: cassettes)"
    )
    parser.add_argument(
        "--contracts", default="contracts", metavar="DIR", help="contract directory (default: contracts)"
    )


def _missing_command(args: argparse.Namespace) -> int:
    sys.stderr.write(
        "replaykit contracts: choose a command: update, check or official (see `replaykit contracts --help`)\n"
    )
    return 2


def run_update(args: argparse.Namespace) -> int:
    """Infer and merge contracts from every cassette; prints the files that changed."""
    from replaykit.cassette import iter_cassettes, load_exchanges
    from replaykit.contracts import update_contracts

    cassettes = Path(args.cassettes)
    if not cassettes.is_dir():
        raise ConfigError(f"{cassettes}: cassette directory not found")
    exchanges = []
    files = 0
    for path in iter_cassettes(cassettes):
        files += 1
        exchanges.extend(load_exchanges(path))
    from replaykit.config import load_config

    min_samples = load_config().contract_min_samples
    changed = update_contracts(exchanges, Path(args.contracts), official=not args.no_official, min_samples=min_samples)
    for path in changed:
        print(f"updated {path}")
    print(f"{len(changed)} contract(s) changed from {len(exchanges)} exchange(s) in {files} cassette(s)")
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Check cassettes and print the report; 0 clean, 1 violations."""
    from replaykit.config import find_pyproject
    from replaykit.contracts import check_cassettes
    from replaykit.drift import load_drift_config

    # the paths drift treats as closed enums: a new value there fails here too, elsewhere it is a warning
    closed = tuple(load_drift_config(find_pyproject()).closed)
    report = check_cassettes(args.cassettes, args.contracts, official=not args.no_official, closed=closed)
    if args.format == "json":
        print(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    elif args.format == "junit":
        print(junit_xml(report))
    else:
        print_text(report)
    return 0 if report.ok(strict=args.strict) else 1


def run_official(args: argparse.Namespace) -> int:
    """Print the official contracts, or write them under --out."""
    from replaykit.contracts import DEFAULT_OPERATIONS, contract_path, dump_contract, official_schema, write_contract

    operations = args.operation or list(DEFAULT_OPERATIONS)
    docs = {op: official_schema(op) for op in operations}
    if args.out:
        for op, doc in docs.items():
            path = contract_path(Path(args.out), op)
            write_contract(path, dump_contract(doc))
            print(f"wrote {path}")
        return 0
    sys.stdout.write(dump_contract(docs[operations[0]] if len(operations) == 1 else docs))
    return 0


def summary(report: Any) -> str:
    """The one-line summary of a check report."""
    errors, warnings = len(report.errors), len(report.warnings)
    head = "OK" if report.ok() else "FAILED"
    text = (
        f"{head}: {errors} error(s), {warnings} warning(s) in {report.exchanges} exchange(s) of "
        f"{report.cassettes} cassette(s), {len(report.operations)} operation(s)"
    )
    if report.missing_contracts:
        text += f"; no contract for {', '.join(report.missing_contracts)}"
    return text


def print_text(report: Any) -> None:
    """A rich table of the violations plus the summary line."""
    from rich.console import Console
    from rich.table import Table

    probe = Console()
    if not probe.is_terminal or os.environ.get("CI"):
        # CI logs and pipes: one violation per line, never a table folded mid-word
        for v in report.violations:
            print(f"{v}{' (warning)' if v.severity != 'error' else ''}")
        print(summary(report))
        return
    console = Console(width=min(probe.width, 160), highlight=False)
    if report.violations:
        table = Table(show_lines=False, pad_edge=False)
        for column in ("cassette", "operation", "part", "path", "expected", "found"):
            table.add_column(column, overflow="fold")
        for v in report.violations:
            where = v.cassette or ""
            if v.exchange_index is not None:
                where += f" #{v.exchange_index}"
            style = "yellow" if v.severity != "error" else None
            table.add_row(
                where, v.operation, v.part + (" (warning)" if style else ""), v.path, v.expected, v.found, style=style
            )
        console.print(table)
    console.print(summary(report), markup=False)


def junit_xml(report: Any) -> str:
    """JUnit XML: one testcase per exchange; errors become failures, warnings go to system-out."""
    found: dict[tuple[str, int | None], list[Any]] = {}
    for v in report.violations:
        found.setdefault((v.cassette or "", v.exchange_index), []).append(v)
    cases = list(report.cases)
    known = {(c, i) for c, i, _op in cases}
    cases += [(c, i, vs[0].operation) for (c, i), vs in found.items() if (c, i) not in known]
    failures = sum(1 for vs in found.values() if any(v.severity == "error" for v in vs))
    suite = ET.Element(
        "testsuite", name="replaykit.contracts", tests=str(len(cases)), failures=str(failures), errors="0", skipped="0"
    )
    for cassette, index, operation in cases:
        case = ET.SubElement(suite, "testcase", classname=cassette, name=f"#{index} {operation}")
        violations = found.get((cassette, index), [])
        failing = [v for v in violations if v.severity == "error"]
        if failing:
            failure = ET.SubElement(case, "failure", message=str(failing[0]), type="ContractViolation")
            failure.text = "\n".join(str(v) for v in failing)
        warn = [v for v in violations if v.severity != "error"]
        if warn:
            ET.SubElement(case, "system-out").text = "\n".join(f"warning: {v}" for v in warn)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")
