"""Shared by the fault-fidelity tests: a scripted provider on 127.0.0.1 (replies, drops, stalls) and a cassette of
its successful answers recorded through boto3 and openai. No tests here.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import botocore.retries.standard
import openai
import openai._base_client
import pytest
from botocore.config import Config as BotoConfig

from replaykit import faults
from replaykit.codecs import eventstream
from replaykit.config import Config
from replaykit.recorder import use_cassette

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "ping"}]}]
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}], "max_tokens": 16}
BEDROCK = "https://bedrock-runtime.us-east-1.amazonaws.com"


# ---- a scripted provider on 127.0.0.1 ---------------------------------------------------------------------


def converse_body() -> tuple[int, dict[str, str], bytes]:
    body = {
        "output": {"message": {"role": "assistant", "content": [{"text": "pong"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 7, "outputTokens": 3, "totalTokens": 10},
        "metrics": {"latencyMs": 12},
    }
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def stream_event(name: str, payload: dict[str, Any], kind: str = "event") -> eventstream.Message:
    header = ":event-type" if kind == "event" else ":exception-type"
    headers = {header: name, ":content-type": "application/json", ":message-type": kind}
    return eventstream.Message(headers, json.dumps(payload, separators=(",", ":")).encode())


STREAM_EVENTS = [
    stream_event("messageStart", {"role": "assistant"}),
    stream_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "po"}}),
    stream_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "ng"}}),
    stream_event("contentBlockStop", {"contentBlockIndex": 0}),
    stream_event("messageStop", {"stopReason": "end_turn"}),
    stream_event(
        "metadata", {"usage": {"inputTokens": 7, "outputTokens": 3, "totalTokens": 10}, "metrics": {"latencyMs": 9}}
    ),
]


def chunk(content: str | None, finish: str | None = None) -> dict[str, Any]:
    delta = {"content": content} if content is not None else {}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


SSE_CHUNKS = [chunk(""), chunk("po"), chunk("ng"), chunk(None, "stop")]


def sse_body(chunks: list[dict[str, Any]], done: bool = True) -> bytes:
    text = "".join(f"data: {json.dumps(c, separators=(',', ':'))}\n\n" for c in chunks)
    return (text + ("data: [DONE]\n\n" if done else "")).encode()


def success(path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    if path.endswith("/converse"):
        return converse_body()
    if path.endswith("/converse-stream"):
        return 200, {"Content-Type": eventstream.CONTENT_TYPE}, eventstream.encode(STREAM_EVENTS)
    if json.loads(body).get("stream"):
        return 200, {"Content-Type": "text/event-stream"}, sse_body(SSE_CHUNKS)
    completion = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "pong"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
    }
    return 200, {"Content-Type": "application/json"}, json.dumps(completion).encode()


class Scripted(ThreadingHTTPServer):
    """Answers each request with the next scripted action (reply / drop / stall), then with success."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: list[Any] = []
        self.lock = threading.Lock()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def next_action(self) -> Any:
        with self.lock:
            return self.script.pop(0) if self.script else None

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out closed its socket: nothing to report


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Scripted

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        action = self.server.next_action()
        if action == "drop":
            self.close_connection = True
            return
        if action == "stall":
            time.sleep(0.6)
            self.close_connection = True
            return
        status, headers, payload = action if action is not None else success(self.path, body)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def reply(response: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """A scripted reply with exactly the bytes replaykit injects for a fault."""
    headers = {k: v[0] for k, v in response["headers"].items() if k.lower() != "content-length"}
    return response["status"]["code"], headers, response["body"]["string"]


@pytest.fixture(scope="module")
def scripted():
    srv = Scripted()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    """SDK backoff sleeps are not what is being tested: make them instant for real and injected runs alike."""
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, ctx: 0)
    monkeypatch.setattr(openai._base_client, "INITIAL_RETRY_DELAY", 0.0)


@pytest.fixture(scope="module")
def happy_cassette(scripted, tmp_path_factory) -> Path:
    """One cassette of successful calls, recorded through boto3 and openai against the scripted server."""
    path = tmp_path_factory.mktemp("faults") / "happy.yaml"
    host_map = {scripted.base: BEDROCK, scripted.base + "/v1": "https://api.openai.com/v1"}
    with use_cassette(path, "once", config=Config(cassette_dir=path.parent), host_map=host_map):
        bedrock = bedrock_client(scripted.base)
        bedrock.converse(modelId=MODEL, messages=MESSAGES)
        list(bedrock.converse_stream(modelId=MODEL, messages=MESSAGES)["stream"])
        client = openai.OpenAI(api_key="sk-test", base_url=scripted.base + "/v1", max_retries=0)
        client.chat.completions.create(**CHAT)
        list(client.chat.completions.create(**CHAT, stream=True))
    return path


def bedrock_client(endpoint: str | None = None, retries: int = 3) -> Any:
    # botocore's "max_attempts" counts retries: 3 means up to 4 attempts in all
    config = BotoConfig(retries={"max_attempts": retries, "mode": "standard"}, read_timeout=0.3, connect_timeout=0.3)
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="AKIAREPLAYDUMMY",
        aws_secret_access_key="dummy",
        config=config,
    )


def replay(happy_cassette: Path, *planned: faults.Fault) -> Any:
    return use_cassette(
        happy_cassette, "none", config=Config(cassette_dir=happy_cassette.parent), faults=faults.plan(*planned)
    )


def with_(fault: faults.Fault, **when: Any) -> faults.Fault:
    """The fault with other selectors."""
    from dataclasses import replace

    return replace(fault, **when)
