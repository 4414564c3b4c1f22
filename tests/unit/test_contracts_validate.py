"""Validation against contracts: the right part and JSON path for each kind of drift, broken files, caching."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from replaykit.cassette import load_exchanges
from replaykit.contracts import (
    CLOSED,
    VOLATILE,
    CompiledContract,
    ContractStore,
    Violation,
    contract_path,
    dump_contract,
    infer_contract,
    official_schema,
    update_contracts,
)
from replaykit.contracts import validate as validate_module
from replaykit.errors import ConfigError
from replaykit.exchange import Body, Exchange, Request, Response

CASES = Path(__file__).resolve().parents[1] / "cases" / "contracts"
FIXTURES = ("bedrock_converse.yaml", "bedrock_converse_stream.yaml", "openai_chat.yaml", "s3_list.yaml")


def fixture(name: str, folder: str = "cassettes") -> list[Exchange]:
    return load_exchanges(CASES / folder / name)


@pytest.fixture(scope="module")
def contracts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("contracts")
    # one sample each: these tests are about where a violation points, so every seen key is required
    update_contracts([e for name in FIXTURES for e in fixture(name)], root, official=False, min_samples=1)
    return root


def test_recorded_exchanges_satisfy_their_inferred_contracts(contracts: Path) -> None:
    store = ContractStore(contracts)
    for name in FIXTURES:
        for ex in fixture(name):
            assert store.validate(ex, cassette=name) == []


def test_removed_required_field_and_changed_type(contracts: Path) -> None:
    store = ContractStore(contracts)
    found = store.validate(fixture("bedrock_converse.yaml", "drifted")[0], cassette="drifted/bedrock_converse.yaml")
    assert [(v.part, v.path, v.expected, v.found) for v in found] == [
        ("response", "$.stopReason", "present (required)", "missing"),
        ("response", "$.usage.inputTokens", "integer", "string"),
    ]
    assert {v.severity for v in found} == {"error"}
    assert str(found[0]) == ("drifted/bedrock_converse.yaml #0 bedrock-runtime.Converse response $.stopReason: "
                             "expected present (required), found missing (required field missing)")


def test_unknown_event_type(contracts: Path) -> None:
    found = ContractStore(contracts).validate(fixture("bedrock_converse_stream.yaml", "drifted")[0], cassette="s.yaml")
    assert len(found) == 1
    v = found[0]
    assert (v.part, v.path, v.found, v.message) == ("event-type", "$[4]", "citationDelta", "unknown event type")
    assert "contentBlockDelta" in v.expected and "metadata" in v.expected


def test_changed_content_type(contracts: Path) -> None:
    found = ContractStore(contracts).validate(fixture("openai_chat.yaml", "drifted")[0], cassette="c.yaml")
    assert [(v.part, v.path, v.found) for v in found] == [("content-type", "$", "application/x-ndjson")]
    assert found[0].expected == "one of application/json, text/event-stream"


def test_event_payload_violation_points_into_the_stored_event(contracts: Path) -> None:
    ex = copy.deepcopy(fixture("bedrock_converse_stream.yaml")[0])
    ex.response.body.value[1]["json"]["delta"]["text"] = 7
    ex.response.body.value[4]["json"]["stopReason"] = "guardrail_intervened"
    found = ContractStore(contracts).validate(ex)
    assert [(v.part, v.path, v.expected, v.found) for v in found] == [
        ("event:contentBlockDelta", "$[1].json.delta.text", "string", "integer"),
        ("event:messageStop", "$[4].json.stopReason", "one of 'end_turn', 'tool_use'", "'guardrail_intervened'"),
    ]


def test_sse_event_violation_and_done_sentinel(contracts: Path) -> None:
    ex = copy.deepcopy(fixture("openai_chat.yaml")[1])
    del ex.response.body.value[1]["data"]["choices"][0]["index"]
    ex.response.body.value[-1]["data"] = "[END]"
    found = ContractStore(contracts).validate(ex)
    assert [(v.part, v.path) for v in found] == [("event:data", "$[1].data.choices[0].index"),
                                                 ("event:data", "$[4].data")]


def test_violation_inside_a_content_block_variant(contracts: Path) -> None:
    ex = copy.deepcopy(fixture("bedrock_converse.yaml")[1])
    del ex.response.body.value["output"]["message"]["content"][1]["toolUse"]["toolUseId"]
    found = ContractStore(contracts).validate(ex)
    assert [(v.part, v.path, v.found) for v in found] == [
        ("response", "$.output.message.content[1].toolUse.toolUseId", "missing")]


def test_block_of_no_known_variant(contracts: Path) -> None:
    ex = copy.deepcopy(fixture("bedrock_converse.yaml")[0])
    ex.response.body.value["output"]["message"]["content"] = [{"image": {"format": "png"}}]
    (v,) = ContractStore(contracts).validate(ex)
    assert (v.path, v.message, v.found) == ("$.output.message.content[0]", "matches no variant",
                                            "object with keys [image]")
    assert v.expected == "one of {text} | {toolUse}"


def test_request_and_error_bodies_are_validated(contracts: Path) -> None:
    store = ContractStore(contracts)
    ex = copy.deepcopy(fixture("bedrock_converse.yaml")[2])
    ex.request.body.value["messages"][0]["role"] = 5
    ex.response.body.value = {"Message": "capitalised"}
    found = store.validate(ex)
    assert [(v.part, v.path) for v in found] == [("request", "$.messages[0].role"), ("response", "$.message")]


def test_xml_body_violation(contracts: Path) -> None:
    ex = copy.deepcopy(fixture("s3_list.yaml")[0])
    ex.response.body.value = ex.response.body.value.replace("<KeyCount>2</KeyCount>", "")
    (v,) = ContractStore(contracts).validate(ex)
    assert (v.part, v.path, v.found) == ("response", "$.KeyCount", "missing")


def test_stream_where_the_contract_has_none() -> None:
    doc = infer_contract("x.y", [Exchange(0, "x.y", Request("GET", "u"), Response(200, "", {}, Body("json", {})))])
    stream = Exchange(0, "x.y", Request("GET", "u"), Response(200, "", {}, Body("sse", [{"data": {"a": 1}}])))
    (v,) = CompiledContract(doc, "t", "x.y").validate(stream)
    assert (v.part, v.found) == ("response", "sse stream")


def test_violation_is_frozen_and_serialisable() -> None:
    v = Violation("c.yaml", 3, "openai.embeddings", "response", "$.data", "array", "string", "type not allowed")
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.path = "$"  # type: ignore[misc]
    assert v.to_dict()["severity"] == "error"
    assert json.loads(json.dumps(v.to_dict()))["exchange_index"] == 3
    assert "\n" not in str(v)


def test_store_compiles_each_contract_once(contracts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    original = validate_module.CompiledContract.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        compiled.append(args[2])
        original(self, *args, **kwargs)

    monkeypatch.setattr(validate_module.CompiledContract, "__init__", counting)
    store = ContractStore(contracts)
    exs = [e for name in FIXTURES for e in fixture(name)]
    for _ in range(50):
        for ex in exs:
            store.validate(ex)
    assert sorted(compiled) == sorted({e.operation for e in exs})
    assert store.get("openai.chat.completions") is store.get("openai.chat.completions")
    # every part of inferred and official contracts has the compiled fast path (no jsonschema on valid bodies)
    for op in compiled:
        assert all(part.fast is not None for part in store.get(op).parts.values()), op
    official = CompiledContract(official_schema("openai.responses"), "o", "openai.responses", official=True)
    assert all(part.fast is not None for part in official.parts.values())


def test_missing_contract(contracts: Path) -> None:
    store = ContractStore(contracts)
    ex = fixture("bedrock_converse.yaml")[0]
    ex = dataclasses.replace(ex, operation="bedrock-runtime.CountTokens")
    assert not store.exists("bedrock-runtime.CountTokens")
    assert store.validate(ex) == []
    assert not store.exists("not-an-operation")


def _write(tmp_path: Path, text: str) -> Path:
    path = contract_path(tmp_path, "bedrock-runtime.Converse")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_contract_that_is_not_json_names_file_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, (CASES / "broken" / "not_json.json").read_text())
    with pytest.raises(ConfigError) as err:
        ContractStore(tmp_path).validate(fixture("bedrock_converse.yaml")[0])
    # the parser's own wording follows (it differs between CPython versions): file, line and column are ours
    assert str(err.value).startswith(f"{path}: line 5 column 34: invalid JSON: ")


def test_contract_that_is_not_a_schema_names_file_and_place(tmp_path: Path) -> None:
    path = _write(tmp_path, (CASES / "broken" / "bad_schema.json").read_text())
    with pytest.raises(ConfigError) as err:
        ContractStore(tmp_path).exists("bedrock-runtime.Converse")
    assert str(err.value).startswith(f"{path}: response.success.properties.stopReason.type: not a valid JSON Schema")


@pytest.mark.parametrize(("doc", "where"), [
    ([], "$"), ({"response": []}, "response"), ({"response": {"events": {"a": 1}}}, "response.events.a"),
    ({"response": {"content_types": "application/json"}}, "response.content_types"), ({"request": 3}, "request"),
])
def test_contract_with_a_bad_layout(tmp_path: Path, doc: Any, where: str) -> None:
    path = _write(tmp_path, json.dumps(doc))
    with pytest.raises(ConfigError, match="^" + re.escape(f"{path}: {where}: ")):
        ContractStore(tmp_path).get("bedrock-runtime.Converse")


def test_volatile_and_closed_enum_paths(contracts: Path, tmp_path: Path) -> None:
    store = ContractStore(contracts)
    volatile = store.volatile_paths("bedrock-runtime.ConverseStream")
    assert "event:messageStart:$.p" in volatile
    assert "event:metadata:$.metrics.latencyMs" in volatile
    assert "response:$.id" in store.volatile_paths("openai.chat.completions")
    assert "event:data:$.obfuscation" in store.volatile_paths("openai.chat.completions")
    doc = json.loads(contract_path(contracts, "bedrock-runtime.Converse").read_text())
    doc["response"]["success"]["properties"]["stopReason"][CLOSED] = True
    doc["response"]["success"]["properties"]["output"]["properties"]["message"]["properties"]["content"]["items"][
        "anyOf"][0]["properties"]["text"][VOLATILE] = True
    path = contract_path(tmp_path, "bedrock-runtime.Converse")
    path.parent.mkdir(parents=True)
    path.write_text(dump_contract(doc))
    mine = ContractStore(tmp_path)
    assert mine.closed_enum_paths("bedrock-runtime.Converse") == {"response:$.stopReason"}
    assert "response:$.output.message.content[*].text" in mine.volatile_paths("bedrock-runtime.Converse")
    assert mine.volatile_paths("s3.GetObject") == set()


def _mutations(value: Any) -> list[Any]:
    """The value plus variants with one node changed: dropped keys, swapped types, nulls, emptied arrays."""
    out = [value]
    if isinstance(value, dict):
        for key in list(value)[:6]:
            dropped = {k: v for k, v in value.items() if k != key}
            out.append(dropped)
            for swap in (None, "x", 1, 1.5, True, [], {}):
                out.append({**value, key: swap})
            out.extend({**value, key: m} for m in _mutations(value[key])[1:4])
    elif isinstance(value, list) and value:
        out.append([])
        out.extend([m, *value[1:]] for m in _mutations(value[0])[1:4])
    return out


def test_compiled_check_agrees_with_jsonschema(contracts: Path) -> None:
    store = ContractStore(contracts)
    official = {op: CompiledContract(official_schema(op), op, op, official=True)
                for op in ("bedrock-runtime.Converse", "openai.chat.completions", "s3.ListObjectsV2")}
    checked = 0
    for name in FIXTURES:
        for ex in fixture(name):
            compiled = [store.get(ex.operation), official.get(ex.operation)]
            body = ex.response.body.value
            values = [body] if ex.response.body.kind == "json" else []
            for value in values:
                for variant in _mutations(value):
                    for contract in filter(None, compiled):
                        part = contract.parts["success" if ex.response.status < 400 else "error"]
                        assert part.fast(variant) == part.validator.is_valid(variant), (ex.operation, variant)
                        checked += 1
    assert checked > 200
