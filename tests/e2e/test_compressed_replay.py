"""Outside-in: a user's project records a provider that answers with brotli over gzip (and a key inside), then
replays it offline with the real openai SDK; the cassette is readable and holds no key."""

from __future__ import annotations

import random
import socket
import sys
from pathlib import Path

import secret_samples

CONFTEST = '''
import gzip
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import brotli
import pytest

LEAK = os.environ["PLANTED"]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        message = {"role": "assistant", "content": "the key is " + LEAK}
        body = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
                "choices": [{"index": 0, "finish_reason": "stop", "message": message}]}
        data = brotli.compress(gzip.compress(json.dumps(body).encode()))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Encoding", "gzip, br")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def provider():
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PROVIDER_PORT"])), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()
'''

TEST = '''
import openai
import pytest


@pytest.mark.vcr
def test_chat(provider):
    client = openai.OpenAI(base_url=provider, api_key="sk-test", max_retries=0)
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content.startswith("the key is ")
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_brotli_over_gzip_records_readable_and_replays_offline(pytester, monkeypatch) -> None:
    leak = secret_samples.sample_secret("github-token", random.Random(21))
    monkeypatch.setenv("PLANTED", leak)
    monkeypatch.setenv("PROVIDER_PORT", str(_free_port()))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_chat=TEST)
    pytester.runpytest_subprocess("--record-mode=once", "-p", "no:randomly").assert_outcomes(passed=1)

    cassette = pytester.path / "cassettes" / "test_chat" / "test_chat.yaml"
    text = cassette.read_text()
    assert leak not in text
    assert "content: the key is REDACTED" in text and "content_encoding: gzip, br" in text

    result = pytester.runpytest_subprocess("-p", "no:randomly")  # replay: the network is blocked
    result.assert_outcomes(passed=1)
    scan = pytester.run(Path(sys.executable).parent / "replaykit", "scan", str(cassette))
    assert scan.ret == 0
