"""Secrets streamed over several deltas, recorded through the real openai and boto3 clients from a hostile server on
127.0.0.1 (proper SSE and vnd.amazon.eventstream frames built with replaykit's codecs): the written cassette holds
no whole key in any joined text, and an offline replay through the same clients parses exactly as live did, with
the scrubbed text."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import openai
import pytest
import yaml

from replaykit.codecs import eventstream, sse
from replaykit.config import Config
from replaykit.recorder import use_cassette
from replaykit.scrub.sanitize import scrub_value
from replaykit.scrub.scanner import scan_path
from secret_samples import joined_by_path

AKID = "AKIA" + "Q3ZT7RWXK2PLM5NB"
OPENAI_KEY = "sk-proj-" + "x7Hq2LmN9pQr4StUv8WyZa1Bc3De5Fg7Hj9Kl2Mn"
TEXT = f"Your key is {AKID} and the other one {OPENAI_KEY}, keep them safe."
# never parsed by anyone before it is stored: a JSON document whose string holds an escaped newline before the key
ARGS = '{"note": "line1\\n' + AKID + '", "n": 2}'
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def _cut(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _chat_events() -> list[sse.Event]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> sse.Event:
        body = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return sse.Event(json.dumps(body, separators=(",", ":")))

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": piece}) for piece in _cut(TEXT, 7)]
    events.append(chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                         "function": {"name": "save", "arguments": ""}}]}))
    events += [chunk({"tool_calls": [{"index": 0, "function": {"arguments": p}}]}) for p in _cut(ARGS, 5)]
    return [*events, chunk({}, "tool_calls"), sse.Event("[DONE]")]


def _responses_events() -> list[sse.Event]:
    def ev(kind: str, **fields: Any) -> sse.Event:
        return sse.Event(json.dumps({"type": kind, **fields}, separators=(",", ":")), event=kind)

    out = [ev("response.output_text.delta", item_id="msg_1", output_index=0, content_index=0, delta=p,
              sequence_number=i, logprobs=[]) for i, p in enumerate(_cut(TEXT, 6))]
    out += [ev("response.function_call_arguments.delta", item_id="fc_1", output_index=1, delta=p,
               sequence_number=100 + i) for i, p in enumerate(_cut(ARGS, 4))]
    return out


def _frame(name: str, payload: dict[str, Any]) -> eventstream.Message:
    headers = {":event-type": name, ":content-type": "application/json", ":message-type": "event"}
    return eventstream.Message(headers, json.dumps(payload).encode())


def _converse_frames() -> list[eventstream.Message]:
    out = [_frame("messageStart", {"role": "assistant"})]
    out += [_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": p}}) for p in _cut(TEXT, 5)]
    out += [_frame("contentBlockStop", {"contentBlockIndex": 0}),
            _frame("contentBlockStart", {"contentBlockIndex": 1,
                                         "start": {"toolUse": {"toolUseId": "t1", "name": "save"}}})]
    out += [_frame("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": p}}})
            for p in _cut(ARGS, 3)]
    return [*out, _frame("contentBlockStop", {"contentBlockIndex": 1}),
            _frame("messageStop", {"stopReason": "tool_use"}),
            _frame("metadata", {"usage": {"inputTokens": 1, "outputTokens": 9, "totalTokens": 10},
                                "metrics": {"latencyMs": 1}})]


def _invoke_frames() -> list[eventstream.Message]:
    def chunk(inner: dict[str, Any]) -> eventstream.Message:
        return _frame("chunk", {"bytes": base64.b64encode(json.dumps(inner).encode()).decode()})

    out = [chunk({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})]
    out += [chunk({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}})
            for p in _cut(TEXT, 4)]
    out += [chunk({"type": "content_block_delta", "index": 1,
                   "delta": {"type": "input_json_delta", "partial_json": p}}) for p in _cut(ARGS, 6)]
    return [*out, chunk({"type": "message_stop"})]


class Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.startswith("/v1/chat/completions"):
            ctype, body = sse.CONTENT_TYPE, sse.encode(_chat_events())
        elif self.path.startswith("/v1/responses"):
            ctype, body = sse.CONTENT_TYPE, sse.encode(_responses_events())
        elif self.path.endswith("/converse-stream"):
            ctype, body = eventstream.CONTENT_TYPE, eventstream.encode(_converse_frames())
        else:
            ctype, body = eventstream.CONTENT_TYPE, eventstream.encode(_invoke_frames())
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _clients(base: str | None) -> tuple[openai.OpenAI, Any]:
    oa = openai.OpenAI(api_key="sk-test-dummy", max_retries=0, **({"base_url": base + "/v1"} if base else {}))
    br = boto3.client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="AKIADUMMYDUMMYDUMMY2",
                      aws_secret_access_key="dummy", **({"endpoint_url": base} if base else {}))
    return oa, br


def _drive(oa: openai.OpenAI, br: Any) -> dict[str, tuple[int, str, str]]:
    """What each client parsed: (events, joined text, joined tool arguments) per stream."""
    seen: dict[str, tuple[int, str, str]] = {}
    msgs = [{"role": "user", "content": "hi"}]
    chunks = list(oa.chat.completions.create(model="gpt-4o-mini", messages=msgs, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    args = "".join(t.function.arguments or "" for c in chunks for t in c.choices[0].delta.tool_calls or [])
    seen["chat"] = (len(chunks), text, args)
    events = list(oa.responses.create(model="gpt-4o-mini", input="hi", stream=True))
    seen["responses"] = (len(events), "".join(e.delta for e in events if e.type == "response.output_text.delta"),
                         "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta"))
    conv = list(br.converse_stream(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "hi"}]}])["stream"])
    deltas = [e["contentBlockDelta"]["delta"] for e in conv if "contentBlockDelta" in e]
    seen["converse"] = (len(conv), "".join(d.get("text", "") for d in deltas),
                        "".join(d.get("toolUse", {}).get("input", "") for d in deltas))
    stream = br.invoke_model_with_response_stream(modelId=MODEL, body=json.dumps({"messages": []}))["body"]
    inner = [json.loads(e["chunk"]["bytes"]) for e in stream]
    deltas = [c["delta"] for c in inner if c["type"] == "content_block_delta"]
    seen["invoke"] = (len(inner), "".join(d.get("text", "") for d in deltas),
                      "".join(d.get("partial_json", "") for d in deltas))
    return seen


def test_split_secrets_are_scrubbed_from_streams_and_replay_parses_like_live(server: str, tmp_path: Path) -> None:
    path = tmp_path / "streams.yaml"
    host_map = {server + "/v1": "https://api.openai.com/v1", server: "https://bedrock-runtime.us-east-1.amazonaws.com"}
    with use_cassette(path, "once", config=Config(), host_map=host_map, target="sandbox"):
        live = _drive(*_clients(server))
    assert live["chat"][1] == TEXT and live["chat"][2] == ARGS  # the server really streamed both keys split

    text = path.read_text()
    doc = yaml.safe_load(text)
    for s in joined_by_path(doc).values():
        assert AKID not in s and OPENAI_KEY[8:] not in s
    assert scan_path(path) == []

    with use_cassette(path, "none", config=Config()) as cassette:
        replayed = _drive(*_clients(None))
    assert cassette.play_count == 4 and not cassette.misses
    clean_text, clean_args = scrub_value(TEXT), scrub_value(ARGS)
    assert AKID not in clean_text + clean_args and "AKIA_REDACTED" in clean_args
    for name, (count, joined, args) in replayed.items():
        assert count == live[name][0], name
        assert (joined, args) == (clean_text, clean_args), name
