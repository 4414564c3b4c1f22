"""The reader's view of stream bodies: which fragments join into which text, edits mapped back onto fragments, and
the providers' delta tables checked against the SDKs' own models of their stream events."""

from __future__ import annotations

import json
import typing

import botocore.session
from hypothesis import given
from hypothesis import strategies as st

from replaykit.cassette import bodies
from replaykit.codecs import sse
from replaykit.exchange import Body
from replaykit.providers import bedrock, openai
from replaykit.scrub.sanitize import scrub_events
from replaykit.scrub.scanner import scan_cassette_data
from replaykit.scrub.streams import StreamView, apply_edits, split_edits

KEY = "AKIA" + "Q3ZT7RWXK2PLM5NB"


@st.composite
def _pieces_and_edits(draw: st.DrawFn) -> tuple[list[str], list[tuple[int, int, str]]]:
    pieces = draw(st.lists(st.text("abcdef", max_size=6), min_size=1, max_size=8))
    n = len("".join(pieces))
    points = sorted(draw(st.lists(st.integers(0, n), max_size=8)))
    edits = []
    for a, b in zip(points[::2], points[1::2], strict=False):
        edits.append((a, b, draw(st.text("XYZ", max_size=4))))
    # disjoint and sorted, as a scrub pass yields them (an insertion may sit where the previous edit ends)
    return pieces, [e for i, e in enumerate(edits) if i == 0 or e[0] >= edits[i - 1][1]]


@given(_pieces_and_edits())
def test_mapped_fragments_join_to_the_edited_text_and_keep_their_number(case):
    pieces, edits = case
    out = split_edits(pieces, edits)
    assert len(out) == len(pieces)
    assert "".join(out) == apply_edits("".join(pieces), edits)
    # text outside every edit stays in the fragment it came from
    pos = 0
    for i, piece in enumerate(pieces):
        for j, ch in enumerate(piece):
            if not any(a <= pos + j < b for a, b, _ in edits) and not any(a == b for a, b, _ in edits):
                assert ch in out[i]
        pos += len(piece)


def test_a_replacement_goes_where_the_secret_starts_and_later_fragments_lose_the_rest():
    assert split_edits(["my key AK", "IAQ3ZT7R", "WXK2PLM5NB ok"], [(7, 27, "AKIA_REDACTED")]) == [
        "my key AKIA_REDACTED", "", " ok"]
    # a secret starting exactly at a cut belongs to the later fragment
    assert split_edits(["abc", "SECRET", "def"], [(3, 9, "R")]) == ["abc", "R", "def"]


def _chunk(choices):
    return {"data": {"object": "chat.completion.chunk", "choices": choices}}


def test_chat_texts_are_told_apart_by_choice_and_tool_call_index():
    events = [
        _chunk([{"index": 0, "delta": {"content": "a"}}, {"index": 1, "delta": {"content": "x"}}]),
        _chunk([{"index": 1, "delta": {"content": "y"}}, {"index": 0, "delta": {"content": "b"}}]),
        _chunk([{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"q"}},
                                                      {"index": 1, "function": {"arguments": "{\"r"}}]}}]),
        _chunk([{"index": 0, "delta": {"tool_calls": [{"index": 1, "function": {"arguments": "\": 2}"}}]}}]),
        {"data": "[DONE]"},
    ]
    texts = {t.label: (t.joined(), t.events) for t in StreamView("sse", events).texts}
    assert texts == {
        "data.choices[0].delta.content": ("ab", "0..1"),
        "data.choices[1].delta.content": ("xy", "0..1"),
        "data.choices[0].delta.tool_calls[0].function.arguments": ('{"q', "2"),
        "data.choices[0].delta.tool_calls[1].function.arguments": ('{"r": 2}', "2..3"),
    }


def test_responses_and_bedrock_texts_are_told_apart_by_their_item_and_block():
    resp = [{"data": {"type": "response.output_text.delta", "item_id": item, "output_index": 0, "content_index": 0,
                      "delta": d}} for item, d in (("m1", "he"), ("m2", "x"), ("m1", "llo"))]
    assert {t.label: t.joined() for t in StreamView("sse", resp).texts} == {
        "data.delta (item_id=m1, output_index=0, content_index=0)": "hello",
        "data.delta (item_id=m2, output_index=0, content_index=0)": "x"}
    conv = [{"event": "contentBlockDelta", "json": {"contentBlockIndex": i, "delta": d}}
            for i, d in ((0, {"text": "hi "}), (1, {"toolUse": {"input": '{"a"'}}), (0, {"text": "there"}),
                         (1, {"toolUse": {"input": ": 1}"}}))]
    assert [t.joined() for t in StreamView("eventstream", conv).texts] == ["hi there", '{"a": 1}']
    invoke = [{"event": "chunk", "json": {"bytes_json": {"type": "content_block_delta", "index": 0,
                                                          "delta": {"type": "text_delta", "text": t}}}}
              for t in ("a", "b")]
    assert [t.joined() for t in StreamView("eventstream", invoke).texts] == ["ab"]
    # the same paths in events of another kind are not deltas
    assert StreamView("eventstream", [{"event": "messageStart", "json": {"delta": {"text": "x"}}}]).texts == []


def test_sse_data_kept_as_a_json_string_is_read_and_written_back_parsed():
    wire = "".join(f'data: {{"choices": [{{"index": 0, "delta": {{"content": "{p}"}}}}]}}\n\n'
                   for p in ("key ", KEY[:9], KEY[9:], " end"))
    body, _ = bodies.decode(wire.encode(), sse.CONTENT_TYPE)
    assert all(isinstance(ev["data"], str) for ev in body.value)  # not compact JSON: stored as text
    doc = {"interactions": [{"response": {"body": {"sse": body.value}}}]}
    assert [f.location for f in scan_cassette_data(doc)] == [
        "interactions[0].response.body.sse[1..2]<joined data.choices[0].delta.content>"]
    out = scrub_events("sse", body.value)
    again = sse.decode(bodies.encode(Body("sse", out)))
    assert "".join(json.loads(e.data)["choices"][0]["delta"]["content"] for e in again) == "key AKIA_REDACTED end"
    assert not scan_cassette_data({"interactions": [{"response": {"body": {"sse": out}}}]})


def test_the_responses_delta_table_covers_every_text_delta_event_of_the_installed_sdk():
    from openai.types.responses import ResponseStreamEvent

    union = typing.get_args(ResponseStreamEvent)[0]
    table = {row.where[0][1]: row.group for row in openai.STREAM_DELTAS if row.where and row.text == "data.delta"}
    for model in typing.get_args(union):
        kind = typing.get_args(model.model_fields["type"].annotation)[0]
        field = model.model_fields.get("delta")
        text = field is not None and field.annotation is str and kind != "response.audio.delta"
        if not kind.endswith(".delta") or not text:
            continue
        assert kind in table, f"{kind} streams text fragments: add it to providers/openai.py _RESPONSES_DELTAS"
        ids = {f for f in model.model_fields if f.endswith(("_id", "_index"))}
        assert {g.removeprefix("data.") for g in table[kind]} == ids, kind


def test_the_converse_delta_table_covers_every_text_member_of_botocores_content_block_delta():
    shape = botocore.session.get_session().get_service_model(bedrock.SERVICE).shape_for("ContentBlockDelta")
    covered = {row.text for row in bedrock.STREAM_DELTAS}
    whole = {"reasoningContent.signature", "reasoningContent.redactedContent", "citation", "image"}

    def strings(s, prefix=""):
        for name, member in s.members.items():
            path = prefix + name
            if path in whole:
                continue
            if member.type_name == "string":
                yield path
            elif member.type_name == "structure":
                yield from strings(member, path + ".")
            elif member.type_name == "list" and member.member.type_name == "structure":
                yield from strings(member.member, path + "[index].")

    for path in strings(shape):
        assert f"json.delta.{path}" in covered, f"ContentBlockDelta.{path}: add it to providers/bedrock.py"


def test_the_write_is_refused_when_a_key_survives_only_in_the_joined_deltas(tmp_path):
    import pytest

    from replaykit.cassette.persister import check_secrets
    from replaykit.errors import SecretFoundError

    events = [_chunk([{"index": 0, "delta": {"content": p}}]) for p in ("key: " + KEY[:10], KEY[10:] + ".")]
    doc = {"interactions": [{"response": {"body": {"sse": events}}}]}
    with pytest.raises(SecretFoundError) as err:
        check_secrets(doc, tmp_path / "c.yaml")
    assert "sse[0..1]<joined data.choices[0].delta.content>" in str(err.value) and KEY not in str(err.value)


def test_a_finding_in_a_long_stream_names_the_events_its_key_spans():
    pieces = ["word "] * 20 + ["key " + KEY[:5], KEY[5:12], "", KEY[12:] + " ok"] + ["more "] * 30
    events = [_chunk([{"index": 0, "delta": {"content": p}}]) for p in pieces]
    doc = {"interactions": [{"response": {"body": {"sse": events}}}]}
    assert [f.location for f in scan_cassette_data(doc)] == [
        "interactions[0].response.body.sse[20..23]<joined data.choices[0].delta.content>"]
