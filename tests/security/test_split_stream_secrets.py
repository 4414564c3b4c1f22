"""Adversarial, property-based: a secret of every family streamed over 1..N deltas (split anywhere, optionally right
after a JSON escape) of every stream kind replaykit stores, is gone from the text the scrubbed events join into,
the scanner finds nothing after the scrub (and something before it), the events re-encode to wire bytes that decode
to the same events, and text with no secret in it is left exactly as it was."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import secret_samples
from replaykit.cassette import bodies
from replaykit.codecs import eventstream, sse
from replaykit.exchange import Body
from replaykit.scrub import patterns as P
from replaykit.scrub.sanitize import scrub_events, scrub_value
from replaykit.scrub.scanner import scan_cassette_data

FAMILIES = [r.id for r in P.RULES if r.regex is not None or r.id == "private-key"]
WORDS = ("the model streamed a short answer about Paris and the weather while the user asked for a summary of "
         "results with three bullet points keep it brief thanks").split()
# REPLAYKIT_SECURITY_EXAMPLES=5000 for a deeper hunt than the suite's default
EXAMPLES = int(os.environ.get("REPLAYKIT_SECURITY_EXAMPLES", "300"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---- one builder per stream kind: fragments -> stored events (the cassette form), and back ------------------------

def _chat(field: str) -> Callable[[list[str]], list[dict[str, Any]]]:
    def build(pieces: list[str]) -> list[dict[str, Any]]:
        events = [{"data": {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                            "choices": [{"index": 0, "delta": {"role": "assistant", field: p}, "finish_reason": None}]}}
                  for p in pieces]
        return [*events, {"data": "[DONE]"}]
    return build


def _chat_tool(pieces: list[str]) -> list[dict[str, Any]]:
    # two tool calls interleaved: call 1 carries the planted text, call 0 a benign JSON document
    events = []
    for i, p in enumerate(pieces):
        calls = [{"index": 1, "id": "call_b", "type": "function", "function": {"name": "g", "arguments": p}}]
        if i < 3:
            calls.insert(0, {"index": 0, "function": {"arguments": ['{"city"', ': "Par', 'is"}'][i]}})
        events.append({"data": {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                                "choices": [{"index": 0, "delta": {"tool_calls": calls}, "finish_reason": None}]}})
    return [*events, {"data": "[DONE]"}]


def _responses(kind: str, extra: dict[str, Any]) -> Callable[[list[str]], list[dict[str, Any]]]:
    def build(pieces: list[str]) -> list[dict[str, Any]]:
        return [{"event": kind, "data": {"type": kind, "item_id": "msg_1", "output_index": 0, **extra, "delta": p,
                                         "sequence_number": i + 3}} for i, p in enumerate(pieces)]
    return build


def _converse(path: tuple[str, ...]) -> Callable[[list[str]], list[dict[str, Any]]]:
    def build(pieces: list[str]) -> list[dict[str, Any]]:
        out = []
        for p in pieces:
            delta: Any = p
            for key in reversed(path):
                delta = {key: delta}
            out.append({"event": "contentBlockDelta", "type": "event", "headers": {":content-type": "application/json"},
                        "json": {"contentBlockIndex": 1, "delta": delta, "p": "abcdefgh"}})
        return [{"event": "messageStart", "type": "event", "json": {"role": "assistant"}}, *out,
                {"event": "contentBlockStop", "type": "event", "json": {"contentBlockIndex": 1}}]
    return build


def _invoke(kind: str, field: str) -> Callable[[list[str]], list[dict[str, Any]]]:
    def build(pieces: list[str]) -> list[dict[str, Any]]:
        return [{"event": "chunk", "type": "event", "headers": {":content-type": "application/json"},
                 "json": {"bytes_json": {"type": "content_block_delta", "index": 0,
                                         "delta": {"type": kind, field: p}}, "p": "abc"}} for p in pieces]
    return build


def _invoke_family(wrap: Callable[[str], dict[str, Any]]) -> Callable[[list[str]], list[dict[str, Any]]]:
    def build(pieces: list[str]) -> list[dict[str, Any]]:
        return [{"event": "chunk", "type": "event", "headers": {":content-type": "application/json"},
                 "json": {"bytes_json": wrap(p)}} for p in pieces]
    return build


STREAMS: dict[str, tuple[str, Callable[[list[str]], list[dict[str, Any]]], Callable[[dict[str, Any]], str | None]]] = {
    "chat-content": ("sse", _chat("content"), lambda e: e["data"]["choices"][0]["delta"].get("content")),
    "chat-refusal": ("sse", _chat("refusal"), lambda e: e["data"]["choices"][0]["delta"].get("refusal")),
    "chat-tool-arguments": ("sse", _chat_tool,
                            lambda e: e["data"]["choices"][0]["delta"]["tool_calls"][-1]["function"]["arguments"]),
    "responses-output-text": ("sse", _responses("response.output_text.delta", {"content_index": 0}),
                              lambda e: e["data"]["delta"]),
    "responses-function-arguments": ("sse", _responses("response.function_call_arguments.delta", {}),
                                     lambda e: e["data"]["delta"]),
    "responses-reasoning-summary": ("sse", _responses("response.reasoning_summary_text.delta", {"summary_index": 0}),
                                    lambda e: e["data"]["delta"]),
    "converse-text": ("eventstream", _converse(("text",)), lambda e: e["json"]["delta"]["text"]),
    "converse-tool-input": ("eventstream", _converse(("toolUse", "input")),
                            lambda e: e["json"]["delta"]["toolUse"]["input"]),
    "converse-reasoning": ("eventstream", _converse(("reasoningContent", "text")),
                           lambda e: e["json"]["delta"]["reasoningContent"]["text"]),
    "invoke-text-delta": ("eventstream", _invoke("text_delta", "text"),
                          lambda e: e["json"]["bytes_json"]["delta"]["text"]),
    "invoke-input-json-delta": ("eventstream", _invoke("input_json_delta", "partial_json"),
                                lambda e: e["json"]["bytes_json"]["delta"]["partial_json"]),
    # Nova: each text delta in a content block of its own, as the service streams it
    "invoke-nova": ("eventstream", lambda ps: [
        {"event": "chunk", "type": "event", "json": {"bytes_json": {"contentBlockDelta": {
            "delta": {"text": p}, "contentBlockIndex": i}}}} for i, p in enumerate(ps)],
        lambda e: e["json"]["bytes_json"]["contentBlockDelta"]["delta"]["text"]),
    "invoke-titan": ("eventstream", _invoke_family(lambda p: {"outputText": p, "index": 0}),
                     lambda e: e["json"]["bytes_json"]["outputText"]),
    "invoke-llama": ("eventstream", _invoke_family(lambda p: {"generation": p, "stop_reason": None}),
                     lambda e: e["json"]["bytes_json"]["generation"]),
    "invoke-mistral": ("eventstream", _invoke_family(lambda p: {"outputs": [{"text": p, "stop_reason": None}]}),
                       lambda e: e["json"]["bytes_json"]["outputs"][0]["text"]),
    "invoke-thinking-delta": ("eventstream", _invoke("thinking_delta", "thinking"),
                              lambda e: e["json"]["bytes_json"]["delta"]["thinking"]),
}
# what the planted text is preceded by: prose, a JSON escape left in never-parsed text (tool arguments), or both
LEADS = ["my key is ", "line1\\n", '{"note": "line1\\n\\t', "ok\\r\\n"]


def _split(text: str, cuts: list[int]) -> list[str]:
    bounds = [0, *sorted(c % (len(text) + 1) for c in cuts), len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def _fragments(stream: str, events: list[dict[str, Any]]) -> list[str]:
    kind, _build, read = STREAMS[stream]
    out = []
    for ev in events:
        if ev.get("data") == "[DONE]" or ev.get("event") in ("messageStart", "contentBlockStop"):
            continue
        out.append(read(ev))
    return out


def _doc(kind: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    return {"interactions": [{"request": {"method": "POST", "uri": "https://api.openai.com/v1/chat/completions",
                                          "headers": {}, "body": {"json": {"model": "m"}}},
                              "response": {"status": {"code": 200, "message": "OK"}, "headers": {},
                                           "body": {kind: events}}}], "version": 1}


@SETTINGS
@given(stream=st.sampled_from(sorted(STREAMS)), family=st.sampled_from(FAMILIES), lead=st.sampled_from(LEADS),
       seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.integers(0, 10_000), max_size=12))
def test_a_secret_split_over_stream_deltas_never_survives(stream, family, lead, seed, cuts):
    kind, build, _read = STREAMS[stream]
    secret = secret_samples.sample_secret(family, random.Random(seed))
    text = f"{lead}{secret_samples.sample_in_context(family, secret)} and more text"
    events = build(_split(text, cuts))
    assert scan_cassette_data(_doc(kind, events)), "the unscrubbed stream must be flagged"

    scrubbed = scrub_events(kind, events, None)

    assert len(scrubbed) == len(events)
    joined = "".join(_fragments(stream, scrubbed))
    core = secret.split("-----")[2] if family == "private-key" else secret
    assert P.canonical_secret(core) not in P.canonical_secret(joined) and core not in joined
    assert joined == scrub_value(text), "the fragments join to what scrubbing the whole text gives"
    findings = scan_cassette_data(_doc(kind, scrubbed))
    assert not findings, [(f.rule, f.location) for f in findings]
    # valid on the wire: re-encoded (fresh CRCs, JSON data) and decoded again, the same events
    wire = bodies.encode(Body(kind, scrubbed))
    again, _ = bodies.decode(wire, eventstream.CONTENT_TYPE if kind == "eventstream" else sse.CONTENT_TYPE)
    assert again.kind == kind and len(again.value) == len(scrubbed)
    assert "".join(_fragments(stream, again.value)) == joined


@SETTINGS
@given(stream=st.sampled_from(sorted(STREAMS)), words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=40),
       seps=st.sampled_from([" ", "\\n", ", ", "\n"]), cuts=st.lists(st.integers(0, 10_000), max_size=12))
def test_text_without_secrets_streams_through_unchanged(stream, words, seps, cuts):
    kind, build, _read = STREAMS[stream]
    events = build(_split(seps.join(words), cuts))
    assert scrub_events(kind, events, None) == events
    assert not scan_cassette_data(_doc(kind, events))
