"""Shared test helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

import real_corpus

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]


def pytest_report_header(config: pytest.Config) -> str:
    """Say whether the real-cassettes corpus is here (its tests skip loudly, not silently, when it is not)."""
    return real_corpus.header()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under ``REPLAYKIT_REQUIRE_REAL_CASSETTES=1`` (CI) a missing corpus is an error, not a skip."""
    if real_corpus.REQUIRED and not real_corpus.PRESENT:
        raise pytest.UsageError(real_corpus.REASON)


@pytest.fixture(scope="session", autouse=True)
def _sandbox_target():
    """Throwaway projects (pytester, tmp_path) record against the sandbox, as this repo does: CI has no provider
    credentials. Tests of the live default remove the variable themselves (monkeypatch.delenv)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REPLAYKIT_TARGET", "sandbox")
        yield


@pytest.fixture(scope="session")
def real_cassettes() -> Path:
    """The read-only directory of cassettes recorded against the real providers (skip when absent)."""
    if not real_corpus.PRESENT:
        pytest.skip(real_corpus.REASON)
    return real_corpus.REAL_CASSETTES


@pytest.fixture(scope="session")
def echo_server():
    """A JSON echo server on 127.0.0.1: answers every POST with the request body and a per-call id."""
    import itertools
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    counter = itertools.count()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as two writes: avoid 40 ms delayed-ACK stalls

        def do_POST(self):  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            out = json.dumps({"id": f"call-{next(counter)}", "echo": body}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _hypothesis_profiles() -> None:
    """CI replays a fixed, derandomized set of examples (reproducible); local runs keep exploring."""
    import os

    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, print_blob=True)
    if os.environ.get("CI"):
        settings.load_profile("ci")


_hypothesis_profiles()
