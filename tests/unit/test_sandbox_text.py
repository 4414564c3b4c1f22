"""The sandbox's deterministic model behaviour: tokens, truncation, deltas, schema instances, vectors, plans."""

from __future__ import annotations

import math

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from replaykit.sandbox import _text


def test_token_counts_are_word_ish() -> None:
    assert _text.count_tokens("You are a chatbot.") == 5
    assert _text.count_tokens("Hello, world!") == 4
    assert _text.count_tokens("") == 0


def test_truncate_keeps_a_prefix() -> None:
    text = "The capital of France is Paris, of course."
    cut, truncated = _text.truncate(text, 5)
    assert truncated and cut == "The capital of France is"
    assert _text.truncate(text, 100) == (text, False)
    assert _text.truncate(text, None) == (text, False)


def test_apply_stop_cuts_before_the_first_sequence() -> None:
    assert _text.apply_stop("one two three two", ["two", "three"]) == ("one ", True)
    assert _text.apply_stop("one", ["x"]) == ("one", False)


@given(st.text(max_size=200), st.integers(min_value=0, max_value=2**32))
def test_split_deltas_round_trip(text: str, seed: int) -> None:
    assert "".join(_text.split_deltas(text, seed)) == text


@given(st.text(max_size=200), st.integers(min_value=0, max_value=2**32))
def test_split_json_round_trip(text: str, seed: int) -> None:
    assert "".join(_text.split_json(text, seed)) == text


def test_padding_is_an_alphabet_prefix() -> None:
    pads = {_text.padding(7, i) for i in range(30)}
    assert len(pads) > 5 and all(_text.PAD_ALPHABET.startswith(p) and p for p in pads)


def test_seed_ignores_key_order() -> None:
    assert _text.seed_of({"a": 1, "b": [1, 2]}) == _text.seed_of({"b": [1, 2], "a": 1})
    assert _text.seed_of({"a": 1}) != _text.seed_of({"a": 2})


SCHEMAS = [
    {"type": "object", "properties": {"location": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
     "required": ["location"]},
    {"type": "object", "properties": {"n": {"type": "integer", "minimum": 3, "maximum": 5},
                                      "x": {"type": "number"}, "ok": {"type": "boolean"},
                                      "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
                                      "when": {"type": "string", "format": "date-time"},
                                      "maybe": {"anyOf": [{"type": "null"}, {"type": "string"}]}}},
    {"$defs": {"City": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}},
     "type": "object", "properties": {"city": {"$ref": "#/$defs/City"}, "kind": {"const": "town"}},
     "required": ["city", "kind"]},
    {"type": ["object", "null"], "properties": {"id": {"type": "string", "format": "uuid"}}},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_json_value_satisfies_the_schema(schema: dict) -> None:
    for seed in range(20):
        value = _text.json_value(schema, seed)
        jsonschema.validate(value, schema)
        assert value == _text.json_value(schema, seed)


def test_readable_values_for_common_names() -> None:
    assert _text.json_value(SCHEMAS[0], 1)["location"] == "Paris"


def test_embedding_is_unit_length_and_deterministic() -> None:
    vec = _text.embedding("hello", 64)
    assert len(vec) == 64 and math.isclose(sum(v * v for v in vec), 1.0, rel_tol=1e-5)
    assert vec == _text.embedding("hello", 64) and vec != _text.embedding("hello!", 64)


def test_plan_text_tools_and_limits() -> None:
    tools = [_text.Tool("get_weather", SCHEMAS[0]), _text.Tool("lookup_stock", {"type": "object"})]
    auto = _text.plan(1, input_tokens=3, last_user_text="weather in Rome?", tools=tools)
    assert auto.stop == "tool" and auto.tool_calls[0][0] == "get_weather"
    unrelated = _text.plan(1, input_tokens=3, last_user_text="hi", tools=tools)
    assert unrelated.stop == "end" and unrelated.text and not unrelated.tool_calls
    forced = _text.plan(1, input_tokens=3, last_user_text="hi", tools=tools, tool_mode="any",
                        forced_tool="lookup_stock")
    assert forced.tool_calls[0][0] == "lookup_stock"
    after = _text.plan(1, input_tokens=3, tool_result="sunny", tools=tools)
    assert after.stop == "end" and "sunny" in after.text
    chained = _text.plan(1, input_tokens=3, tool_result="x", tools=tools, tool_mode="any", called=["get_weather"])
    assert chained.tool_calls[0][0] == "lookup_stock"
    short = _text.plan(1, input_tokens=3, max_tokens=4)
    assert short.stop == "length" and short.output_tokens == 4
    think = _text.plan(1, input_tokens=3, reasoning=True)
    assert think.reasoning and think.output_tokens == _text.count_tokens(think.text + " " + think.reasoning)
