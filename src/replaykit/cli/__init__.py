"""The ``replaykit`` command line: one thin module per verb, each with ``add_parser`` and ``run``.

Exit codes for every verb: 0 clean, 1 findings (drift, violations, secrets), 2 usage or input error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from replaykit.errors import ReplaykitError

# verb -> module under replaykit.cli; each module defines add_parser(subparsers) and run(args) -> int
VERBS = ("sandbox", "scan", "contracts", "drift", "rerecord", "cost", "init", "status")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # one line saying what to do, exit 2 (argparse's default prints the whole usage block)
        sys.stderr.write(f"replaykit: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every verb registered."""
    parser = _Parser(prog="replaykit", description="Record-and-replay contract testing for Bedrock, OpenAI and S3.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    for verb in VERBS:
        try:
            module = importlib.import_module(f"replaykit.cli.{verb}")
        except ModuleNotFoundError as exc:
            if exc.name != f"replaykit.cli.{verb}":
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``replaykit`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from replaykit import __version__

        print(__version__)
        return 0
    if not getattr(args, "verb", None) or not hasattr(args, "run"):
        parser.print_help(sys.stderr)
        return 2
    try:
        # every verb reads [tool.replaykit] the same way: a bad key or value stops it before it does anything
        from replaykit.config import load_config

        load_config()
        return int(args.run(args))
    except ReplaykitError as exc:
        sys.stderr.write(f"replaykit {args.verb}: {type(exc).__name__}: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
