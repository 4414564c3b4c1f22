"""``replaykit sandbox``: run the offline Bedrock Runtime / OpenAI / S3 sandbox until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Register the ``sandbox`` verb."""
    from replaykit.sandbox.profiles import PROFILES

    parser = subparsers.add_parser(
        "sandbox",
        help="run local AWS (every moto service, Bedrock, SageMaker Runtime), OpenAI and S3 endpoints",
        description="Serve AWS (routed by the SigV4 scope: moto's services, Bedrock Runtime and control plane, "
        "SageMaker Runtime) and OpenAI on one port, and S3 (moto) on another. Prints one JSON line with the "
        "endpoints (aws, bedrock_runtime, openai, s3, profile) once they accept connections, then serves until "
        "SIGINT/SIGTERM.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="Bedrock/OpenAI port; 0 picks a free one (default)")
    parser.add_argument(
        "--profile", default="default", help=f"wire-shape profile: {', '.join(PROFILES)} (default: default)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Start the sandbox, print its endpoints as one JSON line, serve until a signal; 2 for a bad profile."""
    from replaykit.sandbox import PROFILES, running

    if args.profile not in PROFILES:
        sys.stderr.write(f"replaykit sandbox: unknown profile {args.profile!r} (choose from: {', '.join(PROFILES)})\n")
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with running(host=args.host, port=args.port, profile=args.profile) as endpoints:
            sys.stdout.write(json.dumps(endpoints.as_dict()) + "\n")
            sys.stdout.flush()
            # a timed wait keeps the main thread responsive to signals on every platform
            while not stop.wait(0.2):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
