"""Readable bodies: JSON parsed, streams decoded, chunk bytes unwrapped; encoding gives parseable bytes."""

from __future__ import annotations

import base64
import json

from replaykit.cassette import bodies
from replaykit.codecs import eventstream
from replaykit.exchange import Body


def test_compact_json_is_exact():
    raw = b'{"b":1,"a":[1,2,{"c":null}]}'
    body, exact = bodies.decode(raw, "application/json")
    assert body == Body("json", {"b": 1, "a": [1, 2, {"c": None}]}) and exact
    assert bodies.encode(body) == raw


def test_openai_pretty_json_keeps_its_style():
    value = {"id": "chatcmpl-1", "choices": [{"index": 0}]}
    raw = (json.dumps(value, indent=2) + "\n").encode()
    body, exact = bodies.decode(raw, "application/json")
    assert body.json_style == "pretty" and exact


def test_invoke_stream_chunk_bytes_are_decoded_and_reencoded():
    inner = {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "hi"}}
    payload = json.dumps({"bytes": base64.b64encode(json.dumps(inner, separators=(",", ":")).encode()).decode(),
                          "p": "abc"}, separators=(",", ":")).encode()
    raw = eventstream.encode([eventstream.Message(
        {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}, payload)])
    body, _ = bodies.decode(raw, eventstream.CONTENT_TYPE)
    assert body.kind == "eventstream"
    assert body.value[0]["json"]["bytes_json"] == inner
    assert bodies.encode(body) == raw


def test_exception_event_round_trip():
    raw = eventstream.encode([eventstream.Message(
        {":exception-type": "throttlingException", ":content-type": "application/json",
         ":message-type": "exception"}, b'{"message":"slow down"}')])
    body, _ = bodies.decode(raw, eventstream.CONTENT_TYPE)
    assert body.value[0]["event"] == "throttlingException" and body.value[0]["type"] == "exception"
    assert bodies.encode(body) == raw


def test_sse_data_parsed():
    raw = b'data: {"id":"x","choices":[]}\n\ndata: [DONE]\n\n'
    body, _ = bodies.decode(raw, "text/event-stream; charset=utf-8")
    assert body.value == [{"data": {"id": "x", "choices": []}}, {"data": "[DONE]"}]
    assert bodies.encode(body) == raw


def test_binary_stays_base64_and_xml_stays_text():
    assert bodies.decode(b"\x00\xff\x10", "application/octet-stream")[0].kind == "base64"
    assert bodies.decode(b"<a>\n<b/>\n</a>", "application/xml")[0] == Body("text", "<a>\n<b/>\n</a>")


def test_verbatim_keeps_json_bytes():
    raw = b'{"a": 1,  "b": 2}'
    body, exact = bodies.decode(raw, "application/json", verbatim=True)
    assert body == Body("text", raw.decode()) and exact and bodies.encode(body) == raw


def test_gzip_decompressed():
    import gzip

    assert bodies.decompress(gzip.compress(b"hello"), "gzip") == b"hello"
    assert bodies.decompress(b"not gzip", "gzip") is None
