"""Outside-in: a user's project records a stream whose key arrives split over many SSE deltas (from a hostile server
on 127.0.0.1), then `replaykit scan cassettes` passes, the cassette holds no key in any joined text, and the test
replays offline with the scrubbed text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from secret_samples import joined_by_path

AKID = "AKIA" + "Q3ZT7RWXK2PLM5NB"
TEXT = f"Here it is: {AKID} (rotate it soon)."

TEST_FILE = '''
import os

import openai
import pytest


@pytest.mark.vcr
def test_stream():
    client = openai.OpenAI(api_key="sk-test-dummy", base_url=os.environ["HOSTILE_URL"] + "/v1", max_retries=0)
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                 messages=[{"role": "user", "content": "my key?"}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    print("EVENTS", len(chunks), "TEXT", text)
    assert text.startswith("Here it is: ") and text.endswith(" (rotate it soon).")
'''


class Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        pieces = [TEXT[i : i + 3] for i in range(0, len(TEXT), 3)]
        chunks = [{"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
                   "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]} for p in pieces]
        body = "".join(f"data: {json.dumps(c, separators=(',', ':'))}\n\n" for c in chunks) + "data: [DONE]\n\n"
        raw = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hostile_url() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _run(project: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOSTILE_URL": url}
    return subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_a_project_records_a_split_key_stream_and_its_cassette_scans_clean(tmp_path: Path, hostile_url: str) -> None:
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n\n[tool.replaykit]\n'
                                            'cassette_dir = "cassettes"\n')
    (project / "tests" / "test_llm.py").write_text(TEST_FILE)
    pytest_cmd = (sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:randomly", "-p", "no:cacheprovider")

    recorded = _run(project, hostile_url, *pytest_cmd, "--record-mode=once")
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    assert f"TEXT {TEXT}" in recorded.stdout

    cassettes = list((project / "cassettes").rglob("*.yaml"))
    assert len(cassettes) == 1
    for s in joined_by_path(yaml.safe_load(cassettes[0].read_text())).values():
        assert AKID not in s

    scan = _run(project, hostile_url, str(Path(sys.executable).parent / "replaykit"), "scan", "cassettes")
    assert scan.returncode == 0, scan.stdout + scan.stderr

    replayed = _run(project, "http://127.0.0.1:9", *pytest_cmd)  # a dead port: only the cassette can answer
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    live_events = recorded.stdout.split("EVENTS ")[1].split()[0]
    assert f"EVENTS {live_events} TEXT Here it is: AKIA_REDACTED (rotate it soon)." in replayed.stdout


HAND_WRITTEN = f"""\
interactions:
- request:
    method: POST
    uri: https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse-stream
    headers: {{}}
    body:
      json: {{messages: []}}
  response:
    status: {{code: 200, message: OK}}
    headers:
      Content-Type: [application/vnd.amazon.eventstream]
    body:
      eventstream:
      - {{event: messageStart, type: event, json: {{role: assistant}}}}
      - {{event: contentBlockDelta, type: event, json: {{contentBlockIndex: 0, delta: {{text: 'key {AKID[:7]}'}}}}}}
      - {{event: contentBlockDelta, type: event, json: {{contentBlockIndex: 0, delta: {{text: '{AKID[7:15]}'}}}}}}
      - {{event: contentBlockDelta, type: event, json: {{contentBlockIndex: 0, delta: {{text: '{AKID[15:]} ok'}}}}}}
      - {{event: contentBlockStop, type: event, json: {{contentBlockIndex: 0}}}}
version: 1
"""


def test_scan_names_a_key_that_only_the_joined_deltas_show(tmp_path: Path) -> None:
    path = tmp_path / "cassettes" / "split.yaml"
    path.parent.mkdir()
    path.write_text(HAND_WRITTEN)
    exe = str(Path(sys.executable).parent / "replaykit")
    result = subprocess.run([exe, "scan", "--format", "json", "cassettes"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [(f["rule"], f["location"]) for f in findings] == [
        ("aws-access-key-id", "interactions[0].response.body.eventstream[1..3]<joined json.delta.text "
                              "(contentBlockIndex=0)>")]
    assert AKID not in result.stdout + result.stderr
