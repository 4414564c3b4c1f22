"""``replaykit rerecord``: re-record the suite into scratch, check contracts, report drift, optionally accept."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from replaykit.config import TARGETS
from replaykit.drift.config import FAIL_ON

_EPILOG = """\
Re-records the suite ([tool.replaykit] rerecord_tests, default: pytest testpaths) of the project around the working
directory (nearest pyproject.toml) into a scratch directory, completed with the committed cassettes of tests that
did not run; checks the new traffic against the contracts; compares it with the committed cassettes and writes
drift.md, drift.json, drift-junit.xml, drift.txt and drift-annotations.txt to --out. Committed cassettes are only
written with --accept, after the whole run, and only where more than volatile values changed.

exit status: 0 no drift at or above --fail-on, 1 drift at or above it, 2 usage, credential or run error.
live credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or a web identity (OIDC) for Bedrock/S3,
OPENAI_API_KEY for OpenAI (only for the providers the cassettes use).
"""


def add_parser(subparsers: Any) -> None:
    """Register the ``rerecord`` verb."""
    p = subparsers.add_parser(
        "rerecord",
        help="re-record the suite into scratch, check contracts and report drift",
        description="Re-record the recorded suite and report drift against the committed cassettes.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--target",
        choices=TARGETS,
        default=None,
        help="live or sandbox (default: [tool.replaykit] target / $REPLAYKIT_TARGET, else live)",
    )
    p.add_argument("--profile", metavar="NAME", help="sandbox profile (default: [tool.replaykit] sandbox_profile)")
    p.add_argument(
        "--accept", action="store_true", help="copy changed cassettes over the committed ones and update contracts"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("drift-report"),
        metavar="DIR",
        help="report directory (default drift-report; relative to the project root)",
    )
    p.add_argument("--fail-on", choices=FAIL_ON, default=None, help="lowest drift class that fails (default breaking)")
    p.add_argument("--max-cost", type=_usd, default=None, metavar="USD", help="cost limit of the record run")
    p.add_argument("--keep-scratch", action="store_true", help="keep the scratch directory and print its path")
    p.add_argument("pytest_args", nargs=argparse.REMAINDER, metavar="-- PYTEST-ARGS", help="extra pytest arguments")
    p.set_defaults(run=run)


def _usd(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of US dollars, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text}")
    return value


def run(args: argparse.Namespace) -> int:
    """Run the re-record; print the summary and a one-line reason for the exit status."""
    from replaykit.drift.rerecord import RerecordOptions, rerecord

    extra = list(args.pytest_args)
    if extra and extra[0] == "--":
        extra = extra[1:]
    elif extra:
        sys.stderr.write(f"replaykit rerecord: unknown argument {extra[0]!r}; put pytest arguments after `--`\n")
        return 2
    options = RerecordOptions(
        target=args.target,
        profile=args.profile,
        accept=args.accept,
        out=args.out,
        fail_on=args.fail_on,
        max_cost=args.max_cost,
        keep_scratch=args.keep_scratch,
        pytest_args=tuple(extra),
    )
    result = rerecord(options)
    status = "drift at or above --fail-on" if result.exit_code else "clean"
    print(f"replaykit rerecord: {status}: {result.reason}")
    return result.exit_code
