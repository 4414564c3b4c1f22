"""AWS event stream and SSE codecs: round trips, CRC checks, and botocore parsing our frames."""

from __future__ import annotations

import json

import pytest
from botocore.eventstream import EventStreamBuffer
from hypothesis import given
from hypothesis import strategies as st

from replaykit.codecs import eventstream, sse
from replaykit.errors import CodecError


def _msg(event: str, payload: dict) -> eventstream.Message:
    return eventstream.Message({":event-type": event, ":content-type": "application/json", ":message-type": "event"},
                               json.dumps(payload).encode())


def test_eventstream_round_trip_and_botocore_agrees():
    msgs = [_msg("messageStart", {"role": "assistant"}), _msg("contentBlockDelta", {"delta": {"text": "hé"}})]
    raw = eventstream.encode(msgs)
    assert eventstream.decode(raw) == msgs
    buf = EventStreamBuffer()
    buf.add_data(raw)
    parsed = list(buf)
    assert [m.headers[":event-type"] for m in parsed] == ["messageStart", "contentBlockDelta"]
    assert json.loads(parsed[1].payload) == {"delta": {"text": "hé"}}


def test_eventstream_bad_crc_is_reported_with_frame_and_offset():
    raw = bytearray(eventstream.encode([_msg("a", {}), _msg("b", {"x": 1})]))
    raw[-6] ^= 0xFF
    with pytest.raises(CodecError, match=r"bad message CRC in frame 1 at byte \d+"):
        eventstream.decode(bytes(raw))


def test_eventstream_truncated():
    raw = eventstream.encode([_msg("a", {"k": "v"})])
    with pytest.raises(CodecError, match="truncated|claims"):
        eventstream.decode(raw[:-3])


@given(st.lists(st.tuples(st.text(min_size=1, max_size=20), st.binary(max_size=200)), max_size=5))
def test_eventstream_property_round_trip(items):
    msgs = [eventstream.Message({":event-type": name, ":message-type": "event"}, payload) for name, payload in items]
    assert eventstream.decode(eventstream.encode(msgs)) == msgs


@given(st.binary(max_size=300))
def test_eventstream_decoder_only_raises_codec_error(data):
    try:
        eventstream.decode(data)
    except CodecError:
        pass


def test_sse_round_trip_openai_layout():
    body = b'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n'
    events = sse.decode(body)
    assert [e.data for e in events] == ['{"a":1}', '{"b":2}', "[DONE]"]
    assert sse.encode(events) == body


def test_sse_named_events_and_comments():
    body = b": keep-alive\nevent: response.created\ndata: {\"x\":1}\n\nevent: done\ndata: line1\ndata: line2\n\n"
    events = sse.decode(body)
    assert events[0].event == "response.created" and events[1].data == "line1\nline2"
    assert sse.decode(sse.encode(events)) == events


def test_integer_headers_round_trip_by_value_width():
    msg = eventstream.Message({":event-type": "x", "small": 7, "big": 2**40, ":message-type": "event"}, b"")
    assert eventstream.decode(eventstream.encode([msg]))[0].headers == msg.headers
    with pytest.raises(CodecError, match="does not fit in 64 bits"):
        eventstream.encode([eventstream.Message({"huge": 2**70}, b"")])


def test_header_blocks_encode_the_same_from_the_cache():
    from replaykit.codecs.eventstream import _encode_header_block, _encode_headers

    blocks = [
        {":event-type": "contentBlockDelta", ":content-type": "application/json", ":message-type": "event"},
        {"flag": True, "n": 1},
        {"flag": 1, "n": True},  # equal as a tuple to the one above, different on the wire
        {"when": {"timestamp": 1_700_000_000_000}},  # unhashable value: encoded without the cache
    ]
    for _ in range(2):  # first miss, then hit
        for block in blocks:
            assert _encode_headers(block) == _encode_header_block(block)
    assert _encode_headers(blocks[1]) != _encode_headers(blocks[2])


@pytest.mark.parametrize("kind", [str, bytes])
def test_json_deeper_than_the_limit_is_refused_and_a_shallow_text_full_of_brackets_loads(kind) -> None:
    from replaykit.codecs.safe import MAX_DEPTH, UnsafeDocumentError, load_json

    def text(s: str) -> str | bytes:
        return s if kind is str else s.encode()

    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    with pytest.raises(UnsafeDocumentError, match="levels deep"):
        load_json(text(deep))
    at_limit = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert load_json(text(at_limit)) is not None
    # more brackets than the limit, spread wide or inside strings, yet shallow: loads (the walk decides)
    wide = "[" + ",".join(["{}"] * (MAX_DEPTH * 2)) + "]"
    assert len(load_json(text(wide))) == MAX_DEPTH * 2
    assert load_json(text(json.dumps({"prompt": "{[" * MAX_DEPTH}))) == {"prompt": "{[" * MAX_DEPTH}
    # a deep document among many brackets inside strings is still refused
    mixed = json.dumps(["[" * MAX_DEPTH])[:-1] + "," + deep + "]"
    with pytest.raises(UnsafeDocumentError):
        load_json(text(mixed))
