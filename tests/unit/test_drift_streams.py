"""Drift on stream bodies: event types compared as sets, shapes as the union per event type."""

from __future__ import annotations

import copy
from pathlib import Path

from replaykit.drift import compare_exchanges
from replaykit.drift.shape import body_shape, event_type
from replaykit.exchange import Body

_CASES = Path(__file__).resolve().parents[1] / "cases" / "drift"


from drift_support import b  # noqa: E402


def found(old, new, **kw):
    return sorted((f.check, f.where, f.path, f.severity) for f in compare_exchanges([old], [new], **kw).findings)


def test_different_number_of_deltas_and_padding_is_noise():
    old = b.converse_stream(events=b.converse_stream_events(["Hi"], pad="ab"))
    new = b.converse_stream(events=b.converse_stream_events(["Hello", " there", "!"], pad="0123456789abcdef"))
    report = compare_exchanges([old], [new])
    assert report.findings == []
    assert report.counts()["value_changes"] > 0


def test_new_event_type_is_additive_and_removed_one_breaking():
    events = b.converse_stream_events(["Hi"])
    extra = copy.deepcopy(events[1])
    extra["event"] = "citationsDelta"
    added = events[:2] + [extra] + events[2:]
    assert found(b.converse_stream(events=events), b.converse_stream(events=added)) == [
        ("stream-event-added", "event:citationsDelta", "", "additive")
    ]
    assert found(b.converse_stream(events=events), b.converse_stream(events=events[:-1])) == [
        ("stream-event-removed", "event:metadata", "", "breaking")
    ]


def test_shape_change_inside_one_event_type():
    events = b.converse_stream_events(["Hi", "!"])
    changed = copy.deepcopy(events)
    changed[-1]["json"]["usage"]["serverToolUsage"] = {}
    changed[-1]["json"].pop("metrics")
    assert found(b.converse_stream(events=events), b.converse_stream(events=changed)) == [
        ("response-field-added", "event:metadata", "usage.serverToolUsage", "additive"),
        ("response-field-removed", "event:metadata", "metrics", "breaking"),
    ]


def test_shape_union_per_event_type_not_event_by_event():
    events = b.converse_stream_events(["a", "b"])
    # one delta carries a reasoning block, the rest text: the union of delta shapes is what is compared
    mixed = copy.deepcopy(events)
    mixed.insert(
        1,
        {
            "event": "contentBlockDelta",
            "type": "event",
            "headers": {},
            "json": {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "hmm"}}, "p": "x"},
        },
    )
    assert found(b.converse_stream(events=events), b.converse_stream(events=mixed)) == [
        ("response-field-added", "event:contentBlockDelta", "delta.reasoningContent", "additive")
    ]
    # same kinds of deltas in a different order and number: nothing
    reordered = copy.deepcopy(mixed)
    reordered.insert(4, copy.deepcopy(mixed[1]))
    assert found(b.converse_stream(events=mixed), b.converse_stream(events=reordered)) == []


def test_enum_value_inside_a_stream_event():
    events = b.converse_stream_events(["a"])
    new = b.converse_stream_events(["a"], stop="guardrail_intervened")
    assert found(b.converse_stream(events=events), b.converse_stream(events=new)) == [
        ("enum-value-added", "event:messageStop", "stopReason", "additive")
    ]


def test_openai_sse_noise_and_drift():
    old = b.chat_stream(events=b.chat_stream_events(["Hi"]))
    noisy = b.chat_stream(events=b.chat_stream_events(["Hel", "lo", "!"], cid="chatcmpl-Z", created=5))
    assert compare_exchanges([old], [noisy]).findings == []
    events = b.chat_stream_events(["Hi"])
    for ev in events:
        if isinstance(ev["data"], dict):
            ev["data"]["obfuscation"] = "xyz"
            ev["data"]["choices"] = [dict(c, delta=dict(c["delta"], annotations=[])) for c in ev["data"]["choices"]]
    assert found(old, b.chat_stream(events=events)) == [
        ("response-field-added", "event:chat.completion.chunk", "choices[*].delta.annotations", "additive"),
        ("response-field-added", "event:chat.completion.chunk", "obfuscation", "additive"),
    ]


def test_event_type_names():
    assert event_type("eventstream", {"event": "messageStart", "type": "event"}) == "messageStart"
    assert (
        event_type("eventstream", {"event": "throttlingException", "type": "exception"})
        == "exception:throttlingException"
    )
    assert (
        event_type(
            "eventstream", {"event": "chunk", "type": "event", "json": {"bytes_json": {"type": "message_start"}}}
        )
        == "chunk:message_start"
    )
    assert (
        event_type(
            "eventstream",
            {
                "event": "chunk",
                "type": "event",
                "json": {"bytes_json": {"contentBlockDelta": {}, "amazon-bedrock-invocationMetrics": {}}},
            },
        )
        == "chunk:contentBlockDelta"
    )
    assert event_type("sse", {"data": "[DONE]"}) == "[DONE]"
    assert event_type("sse", {"event": "response.output_text.delta", "data": {}}) == "response.output_text.delta"
    assert event_type("sse", {"data": {"object": "chat.completion.chunk"}}) == "chat.completion.chunk"


def test_invoke_model_stream_chunks_are_split_by_the_model_event():
    def chunk(inner):
        return {"event": "chunk", "type": "event", "headers": {}, "json": {"bytes_json": inner, "p": "abc"}}

    old = Body(
        "eventstream",
        [
            chunk({"type": "message_start", "message": {"role": "assistant"}}),
            chunk({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "x"}}),
        ],
    )
    shape = body_shape(old)
    assert set(shape.events) == {"chunk:message_start", "chunk:content_block_delta"}
    assert ("bytes_json.delta.type", "text_delta") in shape.event_enums["chunk:content_block_delta"]
