"""Cassette files: corrupt input gives one precise error, plain vcrpy cassettes load, writes are atomic."""

from __future__ import annotations

import os

import pytest

from replaykit.cassette import load_exchanges
from replaykit.cassette.format import write_atomic
from replaykit.errors import CassetteError

PLAIN_VCR = """interactions:
- request:
    body: '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}'
    headers:
      content-type: [application/json]
    method: POST
    uri: https://api.openai.com/v1/chat/completions
  response:
    body:
      string: '{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[]}'
    headers:
      content-type: [application/json]
    status: {code: 200, message: OK}
version: 1
"""


def test_plain_vcrpy_cassette_loads_with_parsed_json(tmp_path):
    path = tmp_path / "plain.yaml"
    path.write_text(PLAIN_VCR)
    (ex,) = load_exchanges(path)
    assert ex.operation == "openai.chat.completions"
    assert ex.request.body.kind == "json" and ex.response.body.value["id"] == "chatcmpl-1"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("interactions:\n- request: [unclosed\n", r"invalid YAML at line \d+, column \d+"),
        ("version: 7\ninteractions: []\n", "unknown cassette version 7"),
        ("- just\n- a list\n", "expected a mapping"),
        ("version: 1\ninteractions:\n- request: {}\n  response: {}\n", r"exchange #0: malformed interaction"),
        ("version: 1\ninteractions: 3\n", "`interactions` must be a list"),
    ],
)
def test_corrupt_cassettes_name_file_and_place(tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(CassetteError, match=message) as info:
        load_exchanges(path)
    assert str(path) in str(info.value) and info.value.path == str(path)


def test_bad_event_stream_crc_names_exchange(tmp_path):
    import base64

    from replaykit.codecs import eventstream

    frame = bytearray(eventstream.encode([eventstream.Message({":event-type": "x", ":message-type": "event"}, b"{}")]))
    frame[-1] ^= 1
    path = tmp_path / "crc.yaml"
    path.write_text(
        "version: 1\ninteractions:\n- request: {method: POST, uri: 'https://bedrock-runtime.us-east-1.amazonaws.com/"
        "model/m/converse-stream', body: null, headers: {}}\n  response:\n    status: {code: 200, message: OK}\n"
        "    headers: {Content-Type: [application/vnd.amazon.eventstream]}\n"
        f"    body: {{string: !!binary '{base64.b64encode(bytes(frame)).decode()}'}}\n")
    (ex,) = load_exchanges(path)
    # a stream that fails its CRC is kept as opaque bytes rather than silently "fixed"
    assert ex.response.body.kind == "base64"


def test_write_atomic_replaces_whole_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "c.yaml"
    write_atomic(path, "old\n")
    write_atomic(path, "new\n")
    assert path.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["c.yaml"]


def test_write_atomic_failure_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "c.yaml"
    write_atomic(path, "old\n")

    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_atomic(path, "new\n")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["c.yaml"]
