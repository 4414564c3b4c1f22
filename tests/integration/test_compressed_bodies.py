"""Stacked Content-Encoding (`gzip, gzip`) is stored decoded, so it is readable, scanned and replays."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from replaykit.config import Config
from replaykit.recorder import use_cassette

PAYLOAD = {"id": "chatcmpl-1", "choices": [{"message": {"content": "hello from a double-gzipped body"}}]}


@pytest.fixture()
def double_gzip_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = gzip.compress(gzip.compress(json.dumps(PAYLOAD).encode()))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Encoding", "gzip, gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_double_gzip_is_stored_decoded_and_replays(tmp_path: Path, double_gzip_server: str) -> None:
    path = tmp_path / "c.yaml"
    url = double_gzip_server + "/v1/chat/completions"
    request = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    with use_cassette(path, "once", config=Config(), target="sandbox"):
        assert httpx.post(url, json=request).json() == PAYLOAD
    text = path.read_text()
    assert "hello from a double-gzipped body" in text  # readable and scannable, not an opaque blob
    assert "content-encoding" not in text.lower()
    with use_cassette(path, "none", config=Config()):
        assert httpx.post(url, json=request).json() == PAYLOAD
