"""``replaykit scan PATH...``: report secrets in cassettes and other text files.

JSON output (``--format json``), stable::

    {"findings": [{"rule", "description", "location", "preview", "file", "exchange", "fingerprint", "severity"}],
     "files_scanned": N, "errors": [{"file", "error"}]}

Exit codes: 0 nothing found, 1 findings, 2 usage or input error (missing path, bad allowlist, a file that cannot
be read, decoded or parsed, or is over ``--max-size``). Findings in the other files are still reported.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from replaykit.errors import ReplaykitError
from replaykit.scrub.allowlist import ALLOWLIST_FILENAME, Allowlist
from replaykit.scrub.scanner import DEFAULT_MAX_SIZE, Finding, scan_file

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "__pycache__",
        "node_modules",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".hypothesis",
    }
)

_EPILOG = f"""\
A finding shows a masked preview and a fingerprint, never the secret. To approve a false positive, copy its
fingerprint into {ALLOWLIST_FILENAME} at the repository root (found by walking up from the current directory):

  allow:
    - fingerprint: 3f2a9c1d5e6b7a80
      rule: aws-account-id          # optional
      reason: public sample bucket  # required

or allow a fake-key shape everywhere with `- {{pattern: 'sk-fixture-[a-z0-9]+', reason: ...}}` (full match).
Exit status: 0 clean, 1 findings, 2 usage or input error."""


def add_parser(subparsers: Any) -> None:
    """Register the ``scan`` verb."""
    parser = subparsers.add_parser(
        "scan",
        help="find secrets in cassettes and text files",
        description="Scan cassettes (YAML/JSON, .gz) with structure and other text files line by line for "
        "credentials: AWS keys and tokens, presigned signatures, OpenAI/Anthropic keys, JWTs, bearer "
        "tokens, private keys, account ids.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or directories (walked recursively)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="report format (default: text)")
    parser.add_argument(
        "--allowlist", metavar="FILE", help=f"allowlist file (default: the nearest {ALLOWLIST_FILENAME}, if any)"
    )
    parser.add_argument(
        "--max-size",
        type=_size,
        default=DEFAULT_MAX_SIZE,
        metavar="SIZE",
        help="refuse files larger than this (bytes, or with K/M/G; default 512M)",
    )
    parser.set_defaults(run=run)


def _size(text: str) -> int:
    units = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
    number, unit = text.strip().upper().rstrip("B"), ""
    if number[-1:] in units:
        number, unit = number[:-1], number[-1]
    try:
        value = int(float(number) * units[unit])
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size; use bytes or a K/M/G suffix, e.g. 64M") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: the size limit must be positive")
    return value


def iter_files(paths: list[Path]) -> Iterator[Path]:
    """Every file under the given paths, skipping VCS, virtualenv and cache folders, in a stable order."""
    for path in paths:
        if path.is_dir():
            found = []
            for root, dirs, files in os.walk(path):
                dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
                found += [Path(root) / name for name in files]
            yield from sorted(found)
        else:
            yield path


def run(args: argparse.Namespace) -> int:
    """Scan the paths and print the report; 0 clean, 1 findings, 2 input error."""
    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        sys.stderr.write(f"replaykit scan: no such file or directory: {', '.join(missing)}\n")
        return 2
    allowlist = Allowlist.load(args.allowlist) if args.allowlist else Allowlist.discover()
    findings: list[Finding] = []
    errors: list[dict[str, str]] = []
    scanned = 0
    named = {p for p in paths if not p.is_dir()}
    for file in iter_files(paths):
        try:
            found, was_scanned = scan_file(file, allowlist, strict=file in named, max_size=args.max_size)
        except ReplaykitError as exc:
            # one unreadable file must not hide the others' findings; it still fails the run (exit 2)
            errors.append({"file": str(file), "error": str(exc)})
            findings += getattr(exc, "findings", [])
            sys.stderr.write(f"replaykit scan: error: {exc}\n")
            continue
        findings += found
        scanned += was_scanned
    if args.format == "json":
        report = {"findings": [f.to_dict() for f in findings], "files_scanned": scanned, "errors": errors}
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_table(findings, scanned, len(errors))
    return 2 if errors else 1 if findings else 0


def _print_table(findings: list[Finding], scanned: int, errors: int = 0) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 200, highlight=False)
    files = {f.file for f in findings}
    if findings:
        table = Table(show_lines=False, header_style="bold")
        for column in ("file", "exchange", "location", "rule", "severity", "preview", "fingerprint"):
            table.add_column(column, overflow="fold")
        for f in findings:
            # Text(): locations contain [0], which rich would otherwise read as markup
            table.add_row(
                *(
                    Text("" if v is None else str(v))
                    for v in (_display(f.file), f.exchange, f.location, f.rule, f.severity, f.preview, f.fingerprint)
                )
            )
        console.print(table)
        console.print(
            Text(
                f"{len(findings)} finding(s) in {len(files)} file(s); {scanned} file(s) scanned. "
                f"Approve a false positive by adding its fingerprint to {ALLOWLIST_FILENAME}."
            )
        )
    else:
        console.print(Text(f"no secrets found; {scanned} file(s) scanned."))
    if errors:
        console.print(Text(f"{errors} file(s) could not be scanned (see the errors above): exit status 2."))


def _display(file: str | None) -> str | None:
    """A path relative to the current directory when it is inside it (shorter table rows)."""
    if file is None:
        return None
    try:
        return Path(file).resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return file
