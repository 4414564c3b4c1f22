"""Contract inference and merging: required/optional, nullability, enums, unions, streams, manual edits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from replaykit.cassette import load_exchanges
from replaykit.contracts import (
    CLOSED,
    DISCRIMINATOR,
    MANUAL,
    ONLY_NULL,
    VOLATILE,
    ContractStore,
    contract_path,
    dump_contract,
    infer_contract,
    infer_schema,
    merge_schema,
    official_schema,
    update_contracts,
)
from replaykit.contracts.validate import CompiledContract
from replaykit.exchange import Body, Exchange, Request, Response

CASES = Path(__file__).resolve().parents[1] / "cases" / "contracts"


def exchange(operation: str, body: Any, *, status: int = 200, index: int = 0, request: Any = None,
             content_type: str = "application/json", kind: str = "json") -> Exchange:
    req = Request("POST", "https://example.invalid/", {"Content-Type": ["application/json"]},
                  Body("json", request if request is not None else {"q": 1}))
    resp = Response(status, "", {"Content-Type": [content_type]}, Body(kind, body))  # type: ignore[arg-type]
    return Exchange(index, operation, req, resp)


def fixture(name: str) -> list[Exchange]:
    return load_exchanges(CASES / "cassettes" / name)


def valid(schema: dict[str, Any], value: Any) -> bool:
    return not CompiledContract({"response": {"success": schema}}, "t", "x.y").validate(
        exchange("x.y", value))


# ---------------------------------------------------------------- single schemas


def test_required_is_the_keys_present_in_every_sample() -> None:
    schema = infer_schema([{"a": 1, "b": "x"}, {"a": 2}, {"a": 3, "c": True}])
    assert schema["type"] == "object"
    assert schema["required"] == ["a"]
    assert set(schema["properties"]) == {"a", "b", "c"}
    assert schema["properties"]["c"] == {"type": "boolean"}


def test_types_are_unioned_and_integer_folds_into_number() -> None:
    schema = infer_schema([{"v": 1, "w": 1}, {"v": "one", "w": 1.5}])
    assert schema["properties"]["v"]["type"] == ["string", "integer"]
    assert schema["properties"]["w"]["type"] == "number"


def test_nullable_field_is_a_type_list_with_null_last() -> None:
    schema = infer_schema([{"refusal": None}, {"refusal": "no"}])
    assert schema["properties"]["refusal"] == {"type": ["string", "null"]}


def test_field_seen_only_as_null_accepts_a_later_value_and_widens_without_remove_add() -> None:
    first = infer_schema([{"logprobs": None, "x": 1}, {"logprobs": None, "x": 2}])
    assert first["properties"]["logprobs"] == {ONLY_NULL: True}
    assert first["required"] == ["logprobs", "x"]
    # a later recording with a value is not a violation ...
    assert valid(first, {"logprobs": {"content": []}, "x": 3})
    # ... and re-inference keeps the same property, now typed and still nullable
    merged = merge_schema(first, infer_schema([{"logprobs": {"content": []}, "x": 3}]))
    assert set(merged["properties"]) == set(first["properties"])
    assert merged["required"] == ["logprobs", "x"]
    assert merged["properties"]["logprobs"]["type"] == ["object", "null"]
    # and the other order: a typed field later seen as null becomes nullable
    again = merge_schema(infer_schema([{"v": "a"}]), infer_schema([{"v": None}]))
    assert again["properties"]["v"] == {"type": ["string", "null"]}


def test_enums_only_for_enum_like_field_names_and_small_sets() -> None:
    samples = [{"stop_reason": r, "id": f"msg_{i}", "text": r} for i, r in enumerate(["end_turn", "tool_use"])]
    schema = infer_schema(samples)
    assert schema["properties"]["stop_reason"]["enum"] == ["end_turn", "tool_use"]
    assert "enum" not in schema["properties"]["text"]  # free text stays a plain string
    assert schema["properties"]["id"] == {"type": "string", VOLATILE: True}  # ids stay strings (volatile)
    many = infer_schema([{"status": f"s{i}"} for i in range(9)])
    assert "enum" not in many["properties"]["status"]
    nullable = infer_schema([{"finish_reason": None}, {"finish_reason": "stop"}])
    assert nullable["properties"]["finish_reason"] == {"type": ["string", "null"], "enum": ["stop", None]}


def test_nested_arrays_merge_all_items() -> None:
    schema = infer_schema([{"m": [[{"a": 1}], [{"a": 2, "b": 1}]]}, {"m": []}])
    items = schema["properties"]["m"]["items"]
    assert items["type"] == "array"
    assert items["items"]["required"] == ["a"]
    assert set(items["items"]["properties"]) == {"a", "b"}
    assert schema["required"] == ["m"]


def test_bedrock_content_blocks_stay_distinct_variants() -> None:
    content = [{"text": "Let me check."},
               {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Paris"}}}]
    schema = infer_schema([{"content": content}, {"content": [{"text": "Hi"}]}])
    variants = schema["properties"]["content"]["items"]["anyOf"]
    assert [v["required"] for v in variants] == [["text"], ["toolUse"]]
    assert variants[1]["properties"]["toolUse"]["required"] == ["input", "name", "toolUseId"]
    assert valid(schema, {"content": [{"toolUse": {"toolUseId": "t2", "name": "f", "input": {"city": "Rome"}}}]})
    assert not valid(schema, {"content": [{"toolUse": {"name": "f", "input": {}}}]})


def test_type_field_discriminates_variants() -> None:
    output = [{"type": "message", "id": "msg_1", "role": "assistant", "content": []},
              {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": "{}"}]
    schema = infer_schema([{"output": output}])
    items = schema["properties"]["output"]["items"]
    assert items[DISCRIMINATOR] == "type"
    assert [v["properties"]["type"]["const"] for v in items["anyOf"]] == ["function_call", "message"]
    assert items["anyOf"][0]["required"] == ["arguments", "call_id", "id", "name", "type"]


def test_similar_objects_are_one_object_with_optional_fields() -> None:
    schema = infer_schema([{"a": 1, "b": 1, "c": 1, "d": 1, "e": 1}, {"a": 1, "b": 1, "c": 1, "d": 1, "f": 1}])
    assert "anyOf" not in schema
    assert schema["required"] == ["a", "b", "c", "d"]


def test_official_union_and_document_seed_inference() -> None:
    hint = official_schema("bedrock-runtime.Converse")
    exs = [e for e in fixture("bedrock_converse.yaml") if e.response.status == 200]
    doc = infer_contract("bedrock-runtime.Converse", exs, official=hint)
    block = doc["response"]["success"]["properties"]["output"]["properties"]["message"]["properties"]["content"]
    tool_use = block["items"]["anyOf"][1]["properties"]["toolUse"]
    # tool input is a botocore document: its shape is the caller's, so it is not inferred
    assert tool_use["properties"]["input"] == {"type": "object"}
    schema_json = doc["request"]["properties"]["toolConfig"]["properties"]["tools"]["items"]["properties"]
    assert schema_json["toolSpec"]["properties"]["inputSchema"]["properties"]["json"] == {"type": "object"}


# ---------------------------------------------------------------- streams


def test_stream_events_are_inferred_per_type_with_padding_optional() -> None:
    doc = infer_contract("bedrock-runtime.ConverseStream", fixture("bedrock_converse_stream.yaml"))
    resp = doc["response"]
    assert resp["event_types"] == ["contentBlockDelta", "contentBlockStart", "contentBlockStop", "messageStart",
                                   "messageStop", "metadata"]
    assert doc["x-replaykit"]["streaming"] is True
    assert "success" not in resp
    for name, schema in resp["events"].items():
        assert "p" not in schema.get("required", []), name
        assert schema["properties"]["p"]["type"] == "string"
        assert schema["properties"]["p"][VOLATILE] is True
    delta = resp["events"]["contentBlockDelta"]["properties"]["delta"]
    assert [v["required"] for v in delta["anyOf"]] == [["text"], ["toolUse"]]
    assert resp["events"]["messageStop"]["properties"]["stopReason"]["enum"] == ["end_turn", "tool_use"]
    assert resp["content_types"] == ["application/vnd.amazon.eventstream"]


def test_openai_usage_chunk_with_empty_choices_does_not_loosen_the_chunk() -> None:
    doc = infer_contract("openai.chat.completions", fixture("openai_chat.yaml"))
    events = doc["response"]["events"]
    assert doc["response"]["event_types"] == ["[DONE]", "data"]
    chunk = events["data"]
    assert "anyOf" not in chunk
    assert chunk["required"] == sorted(["choices", "created", "id", "model", "object", "obfuscation",
                                        "service_tier", "system_fingerprint", "usage"])
    choice = chunk["properties"]["choices"]["items"]
    assert choice["required"] == ["delta", "finish_reason", "index", "logprobs"]
    assert chunk["properties"]["usage"]["type"] == ["object", "null"]
    assert chunk["properties"]["object"]["enum"] == ["chat.completion.chunk"]
    assert events["[DONE]"] == {"type": "string"}
    assert sorted(doc["response"]["content_types"]) == ["application/json", "text/event-stream"]
    assert doc["response"]["success"]["properties"]["choices"]["items"]["required"] == [
        "finish_reason", "index", "logprobs", "message"]


def test_xml_bodies_are_inferred_as_structures() -> None:
    doc = infer_contract("s3.ListObjectsV2", fixture("s3_list.yaml"))
    success = doc["response"]["success"]
    assert success["required"] == ["Contents", "IsTruncated", "KeyCount", "MaxKeys", "Name", "Prefix"]
    contents = success["properties"]["Contents"]
    assert contents["type"] == ["object", "array"]  # two objects once, a single object once
    assert contents["required"] == ["ETag", "Key", "LastModified", "Size", "StorageClass"]
    assert doc["request"] == {ONLY_NULL: True}


# ---------------------------------------------------------------- update_contracts and manual edits


def _all_fixtures() -> list[Exchange]:
    return [e for name in ("bedrock_converse.yaml", "bedrock_converse_stream.yaml", "openai_chat.yaml",
                           "s3_list.yaml") for e in fixture(name)]


def test_update_writes_stable_files_once(tmp_path: Path) -> None:
    changed = update_contracts(_all_fixtures(), tmp_path, min_samples=1)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in changed) == [
        "bedrock-runtime/Converse.json", "bedrock-runtime/ConverseStream.json", "openai/chat.completions.json",
        "s3/ListObjectsV2.json"]
    text = (tmp_path / "bedrock-runtime" / "Converse.json").read_text()
    doc = json.loads(text)
    assert text == json.dumps(doc, indent=2, sort_keys=True) + "\n"
    assert doc["x-replaykit"] == {"format": 1, "operation": "bedrock-runtime.Converse", "samples": 3,
                                  "streaming": False}
    assert doc["response"]["error"]["required"] == ["message"]
    mtimes = {p: p.stat().st_mtime_ns for p in changed}
    assert update_contracts(_all_fixtures(), tmp_path, min_samples=1) == []
    assert all(p.stat().st_mtime_ns == t for p, t in mtimes.items())
    store = ContractStore(tmp_path)
    assert [v for e in _all_fixtures() for v in store.validate(e)] == []


def test_http_operations_get_no_contract(tmp_path: Path) -> None:
    assert update_contracts([exchange("http.GET", {"a": 1})], tmp_path) == []


def test_manual_edits_survive_update(tmp_path: Path) -> None:
    exs = fixture("bedrock_converse.yaml")
    update_contracts(exs, tmp_path)
    path = contract_path(tmp_path, "bedrock-runtime.Converse")
    doc = json.loads(path.read_text())
    success = doc["response"]["success"]
    props = success["properties"]
    props["stopReason"]["description"] = "our code branches on this"
    props["usage"]["properties"]["outputTokens"][VOLATILE] = True
    props["metrics"]["properties"]["latencyMs"][VOLATILE] = False  # an inferred marker switched off stays off
    success["required"].remove("metrics")  # relaxed: we do not rely on metrics
    props["output"] = {MANUAL: True, "type": "object", "description": "hand-written", "required": ["message"]}
    doc["response"]["error"]["properties"]["message"][CLOSED] = True
    path.write_text(dump_contract(doc))

    newer = exchange("bedrock-runtime.Converse", {
        "output": {"message": {"role": "assistant", "content": [{"text": "x"}], "extra": 1}},
        "stopReason": "max_tokens", "usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3,
                                              "cacheReadInputTokens": 0},
        "metrics": {"latencyMs": 1}, "trace": {}})
    assert update_contracts([*exs, newer], tmp_path) == [path]
    after = json.loads(path.read_text())
    success = after["response"]["success"]
    props = success["properties"]
    assert props["stopReason"]["description"] == "our code branches on this"
    assert props["stopReason"]["enum"] == ["end_turn", "max_tokens", "tool_use"]  # open enum widened
    assert props["usage"]["properties"]["outputTokens"][VOLATILE] is True
    assert props["metrics"]["properties"]["latencyMs"][VOLATILE] is False
    assert "metrics" not in success["required"]
    assert props["output"] == {MANUAL: True, "type": "object", "description": "hand-written", "required": ["message"]}
    assert "cacheReadInputTokens" in props["usage"]["properties"]
    assert "cacheReadInputTokens" not in props["usage"]["required"]
    assert "trace" in props and "trace" not in success["required"]
    assert after["response"]["error"]["properties"]["message"][CLOSED] is True


def test_closed_enum_is_never_widened() -> None:
    existing = {"type": "object", "properties": {"role": {"type": "string", "enum": ["assistant"], CLOSED: True}},
                "required": ["role"]}
    merged = merge_schema(existing, infer_schema([{"role": "system"}]))
    assert merged["properties"]["role"]["enum"] == ["assistant"]
    assert merged["properties"]["role"][CLOSED] is True


def test_enum_dropped_when_it_grows_past_the_limit() -> None:
    existing = infer_schema([{"type": f"t{i}"} for i in range(6)])
    merged = merge_schema(existing, infer_schema([{"type": f"u{i}"} for i in range(4)]))
    assert merged["properties"]["type"] == {"type": "string"}


def test_new_variant_is_added_and_closed_variant_sets_are_kept() -> None:
    existing = infer_schema([{"c": [{"text": "a"}]}])
    merged = merge_schema(existing, infer_schema([{"c": [{"toolUse": {"name": "f"}}]}]))
    assert [v["required"] for v in merged["properties"]["c"]["items"]["anyOf"]] == [["text"], ["toolUse"]]
    closed = infer_schema([{"c": [{"text": "a"}, {"image": {"format": "png"}}]}])
    closed["properties"]["c"]["items"][CLOSED] = True
    kept = merge_schema(closed, infer_schema([{"c": [{"toolUse": {"name": "f"}}]}]))
    assert kept["properties"]["c"]["items"] == closed["properties"]["c"]["items"]


def test_merge_is_idempotent() -> None:
    samples = [e.response.body.value for e in fixture("openai_chat.yaml") if e.response.body.kind == "json"]
    schema = infer_schema(samples)
    assert merge_schema(schema, schema) == schema
    assert merge_schema(merge_schema(schema, infer_schema([{"id": None}])), infer_schema([{"id": None}])) == \
        merge_schema(schema, infer_schema([{"id": None}]))


def test_opaque_nodes_are_left_alone() -> None:
    existing = {"type": "object", "properties": {"x": {"$ref": "#/$defs/X"}}}
    merged = merge_schema(existing, infer_schema([{"x": 1, "y": "z"}]))
    assert merged["properties"]["x"] == {"$ref": "#/$defs/X"}
    assert merged["properties"]["y"] == {"type": "string"}


@pytest.mark.parametrize("operation", ["noprovider", ".x", "a/b.c"])
def test_bad_operation_names_are_rejected(tmp_path: Path, operation: str) -> None:
    from replaykit.errors import ConfigError

    with pytest.raises(ConfigError):
        contract_path(tmp_path, operation)


# ---------------------------------------------------------------- required after enough samples


def _converse_copies(n: int, *, drop: str | None = None) -> list[Exchange]:
    import copy

    base = fixture("bedrock_converse.yaml")[0]
    out = []
    for i in range(n):
        ex = copy.deepcopy(base)
        ex.index = i
        if drop:
            ex.response.body.value.pop(drop, None)
        out.append(ex)
    return out


def _success_required(path: Path) -> list[str]:
    return json.loads(path.read_text())["response"]["success"].get("required", [])


def test_required_needs_min_samples_then_shrinks_and_samples_alone_do_not_rewrite(tmp_path: Path) -> None:
    contract = tmp_path / "bedrock-runtime" / "Converse.json"
    update_contracts(_converse_copies(1), tmp_path, official=False, min_samples=3)
    assert _success_required(contract) == []  # one response is no evidence that every response has a key
    update_contracts(_converse_copies(3), tmp_path, official=False, min_samples=3)
    assert "metrics" in _success_required(contract)  # enough samples now: required grows once
    text = contract.read_text()
    assert update_contracts(_converse_copies(5), tmp_path, official=False, min_samples=3) == []
    assert contract.read_text() == text  # same shape: the sample count alone is not a diff
    update_contracts(_converse_copies(3) + _converse_copies(1, drop="metrics"), tmp_path, official=False)
    assert "metrics" not in _success_required(contract)  # a response without it: optional from now on


def test_official_required_keys_are_required_from_one_sample(tmp_path: Path) -> None:
    update_contracts(_converse_copies(1), tmp_path, min_samples=3)
    required = _success_required(tmp_path / "bedrock-runtime" / "Converse.json")
    assert {"output", "stopReason", "usage", "metrics"} <= set(required)  # the botocore output shape requires them
