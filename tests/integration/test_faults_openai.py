"""Injected faults are indistinguishable from real ones for openai (sync, async, httpx2 and legacy httpx): same
exception classes, status codes and retry counts whether the scripted 127.0.0.1 server really fails or
``replaykit.faults`` injects it on replay.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import httpx2
import openai
import pytest
from test_faults_support import CHAT, SSE_CHUNKS, fast_backoff, happy_cassette, replay, reply, scripted, sse_body, with_

from replaykit import faults
from replaykit.faults import _shapes as shapes

__all__ = ["fast_backoff", "happy_cassette", "scripted"]  # fixtures used by name


def _openai(base: str | None = None, async_: bool = False, legacy: bool = False) -> tuple[Any, list[int]]:
    attempts: list[int] = []
    hooks: dict[str, list[Any]] = {"request": [lambda r: attempts.append(1)]}
    if async_:

        async def hook(request: Any) -> None:
            attempts.append(1)

        http = httpx2.AsyncClient(event_hooks={"request": [hook]}, timeout=0.3)
        client: Any = openai.AsyncOpenAI(api_key="sk-test", base_url=base, max_retries=2, http_client=http)
    else:
        http = (httpx.Client if legacy else httpx2.Client)(event_hooks=hooks, timeout=0.3)
        client = openai.OpenAI(api_key="sk-test", base_url=base, max_retries=2, http_client=http)
    return client, attempts


def _observe_openai(base: str | None = None, async_: bool = False, legacy: bool = False) -> tuple[Any, ...]:
    client, attempts = _openai(base + "/v1" if base else None, async_, legacy)
    try:
        if async_:
            raw = asyncio.run(client.chat.completions.with_raw_response.create(**CHAT))
        else:
            raw = client.chat.completions.with_raw_response.create(**CHAT)
        return ("ok", raw.parse().choices[0].message.content, raw.retries_taken, len(attempts))
    except openai.APIStatusError as exc:
        return (type(exc).__name__, exc.status_code, exc.code, exc.message, len(attempts))
    except openai.APIError as exc:
        return (type(exc).__name__, type(exc.__cause__).__module__, len(attempts))


OPENAI_ERRORS = {
    "throttle": faults.throttle("openai.chat.completions"),
    "server_error": faults.server_error("openai.*"),
    "unavailable": faults.unavailable("openai.*"),
}


@pytest.mark.parametrize("times", [2, 3], ids=["recovers", "exhausted"])
@pytest.mark.parametrize("name", sorted(OPENAI_ERRORS))
def test_openai_error_faults_match_real_errors(scripted, happy_cassette, name, times):
    fault = OPENAI_ERRORS[name]
    status = 429 if fault.error_type == faults.THROTTLE else fault.status
    scripted.script = [reply(shapes.openai_error(status, retry_after=fault.retry_after))] * times
    real_seen = _observe_openai(scripted.base)
    scripted.script = []
    with replay(happy_cassette, with_(fault, first=times)) as c:
        injected_seen = _observe_openai()
    assert injected_seen == real_seen
    assert real_seen[0] == ("ok" if times < 3 else {429: "RateLimitError"}.get(status, "InternalServerError"))
    assert c.play_count == (1 if times < 3 else 0)


@pytest.mark.parametrize("async_", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("kind", ["disconnect", "read_timeout"])
def test_openai_transport_faults_match_real_ones(scripted, happy_cassette, kind, async_):
    scripted.script = ["drop" if kind == "disconnect" else "stall"] * 3
    real_seen = _observe_openai(scripted.base, async_)
    scripted.script = []
    fault = faults.disconnect(first=3) if kind == "disconnect" else faults.read_timeout(first=3)
    with replay(happy_cassette, fault):
        injected_seen = _observe_openai(None, async_)
    assert injected_seen == real_seen
    assert real_seen == ({"disconnect": "APIConnectionError", "read_timeout": "APITimeoutError"}[kind], "httpx2", 3)


@pytest.mark.parametrize("legacy", [False, True], ids=["httpx2", "legacy-httpx"])
def test_openai_connection_refused_matches_a_closed_port(happy_cassette, legacy):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    real_seen = _observe_openai(closed, legacy=legacy)
    with replay(happy_cassette, faults.connection_error("openai.*")):
        injected_seen = _observe_openai(legacy=legacy)
    assert real_seen == ("APIConnectionError", "httpx" if legacy else "httpx2", 3)
    # the stack is read from the request (the SDK that sent it), and openai 3.x sends through httpx2: with a legacy
    # httpx client passed in, the SDK-level error and retries are the same, only the wrapped cause is httpx2's
    assert injected_seen == ("APIConnectionError", "httpx2", 3)


def test_openai_throttle_then_success_counts_retries(happy_cassette):
    with replay(happy_cassette, faults.throttle("openai.chat.completions", first=2)) as c:
        seen = _observe_openai(async_=True)
    assert seen == ("ok", "pong", 2, 3) and c.play_count == 1


def test_openai_stream_cut_matches_a_real_cut(scripted, happy_cassette):
    scripted.script = [(200, {"Content-Type": "text/event-stream"}, sse_body(SSE_CHUNKS[:2], done=False))]
    real = openai.OpenAI(api_key="sk-test", base_url=scripted.base + "/v1", max_retries=0)
    real_chunks = [c.model_dump() for c in real.chat.completions.create(**CHAT, stream=True)]
    with replay(happy_cassette, faults.stream_break(after=2, operation="openai.chat.completions")):
        client = openai.OpenAI(api_key="sk-test", max_retries=0)
        injected_chunks = [c.model_dump() for c in client.chat.completions.create(**CHAT, stream=True)]
    assert injected_chunks == real_chunks
    assert len(real_chunks) == 2 and all(c["choices"][0]["finish_reason"] is None for c in real_chunks)
