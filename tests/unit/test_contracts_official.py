"""Official shapes from botocore and the openai SDK: well-formed, accepting realistic and real recorded traffic."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from replaykit.cassette import iter_cassettes, load_exchanges
from replaykit.contracts import (
    DEFAULT_OPERATIONS,
    ContractStore,
    check_official,
    has_official,
    load_contract,
    official_schema,
    update_contracts,
)
from replaykit.contracts.document import UNION, iter_parts
from replaykit.errors import ConfigError
from replaykit.exchange import Body, Exchange, Request, Response

CASES = Path(__file__).resolve().parents[1] / "cases" / "contracts"


def fixture(name: str) -> list[Exchange]:
    return load_exchanges(CASES / "cassettes" / name)


def json_exchange(operation: str, body: Any, *, status: int = 200, request: Any = None) -> Exchange:
    req = Body("json", request) if request is not None else Body("empty")
    return Exchange(0, operation, Request("POST", "https://example.invalid/", {}, req),
                    Response(status, "", {"Content-Type": ["application/json"]}, Body("json", body)))


@pytest.mark.parametrize("operation", DEFAULT_OPERATIONS)
def test_official_contracts_are_valid_json_schema(operation: str) -> None:
    doc = official_schema(operation)
    assert doc["x-replaykit"]["operation"] == operation
    assert doc["x-replaykit"]["official"]
    Draft202012Validator.check_schema({"$defs": doc.get("$defs", {})})
    for _name, _pointer, schema in iter_parts(doc):
        Draft202012Validator.check_schema(schema)
    assert official_schema(operation) is doc  # cached


def test_converse_shape_from_botocore() -> None:
    doc = official_schema("bedrock-runtime.Converse")
    success = doc["response"]["success"]
    assert success["required"] == ["output", "stopReason", "usage", "metrics"]
    assert success["additionalProperties"] is False
    assert "end_turn" in success["properties"]["stopReason"]["enum"]
    assert doc["$defs"]["ContentBlock"][UNION] is True
    assert doc["response"]["content_types"] == ["application/json"]
    # modelId is a required URI member: neither a body property nor required in the body
    assert "modelId" not in doc["request"]["properties"]
    assert "modelId" not in doc["request"].get("required", [])
    assert doc["request"]["properties"]["messages"] == {"$ref": "#/$defs/Messages"}


def test_converse_stream_has_one_schema_per_event() -> None:
    resp = official_schema("bedrock-runtime.ConverseStream")["response"]
    assert {"messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata",
            "throttlingException", "modelStreamErrorException"} <= set(resp["events"])
    assert resp["event_types"] == sorted(resp["events"])
    delta = resp["events"]["contentBlockDelta"]
    assert delta["required"] == ["delta", "contentBlockIndex"]
    assert delta["properties"]["p"]["type"] == "string"  # wire padding, not in the model
    assert "success" not in resp


def test_invoke_model_body_is_the_models_own_json() -> None:
    doc = official_schema("bedrock-runtime.InvokeModel")
    assert doc["request"] == {} and doc["response"]["success"] == {}
    assert "content_types" not in doc["response"]
    stream = official_schema("bedrock-runtime.InvokeModelWithResponseStream")["response"]["events"]["chunk"]
    assert "bytes" in stream["properties"]


def test_s3_list_objects_v2_uses_xml_names() -> None:
    doc = official_schema("s3.ListObjectsV2")
    props = doc["response"]["success"]["properties"]
    assert {"Contents", "CommonPrefixes", "KeyCount", "IsTruncated", "Name"} <= set(props)
    assert "RequestCharged" not in props  # a header member
    assert doc["request"] == {"type": "null"}
    assert "content_types" not in official_schema("s3.HeadObject")["response"]  # the object's own type


def test_openai_shapes_from_sdk_types() -> None:
    chat = official_schema("openai.chat.completions")
    assert chat["response"]["success"] == {"$ref": "#/$defs/ChatCompletion"}
    assert chat["response"]["events"]["data"] == {"$ref": "#/$defs/ChatCompletionChunk"}
    assert chat["response"]["event_types"] == ["[DONE]", "data"]
    assert chat["$defs"]["ChatCompletion"]["additionalProperties"] is False
    assert "title" not in chat["$defs"]["ChatCompletion"]
    responses = official_schema("openai.responses")["response"]
    assert {"response.created", "response.output_text.delta", "response.completed"} <= set(responses["events"])
    models = official_schema("openai.models.list")["response"]["success"]
    assert models["properties"]["data"]["items"] == {"$ref": "#/$defs/Model"}


@pytest.mark.parametrize("name", ["bedrock_converse.yaml", "bedrock_converse_stream.yaml", "openai_chat.yaml",
                                  "s3_list.yaml"])
def test_realistic_samples_satisfy_the_official_shapes(name: str) -> None:
    for ex in fixture(name):
        assert check_official(ex, cassette=name) == []


def test_embedding_response_floats_or_base64() -> None:
    body = {"object": "list", "model": "text-embedding-3-small", "usage": {"prompt_tokens": 2, "total_tokens": 2},
            "data": [{"object": "embedding", "index": 0, "embedding": [0.1, -0.2]}]}
    request = {"model": "text-embedding-3-small", "input": ["hi"], "encoding_format": "base64"}
    assert check_official(json_exchange("openai.embeddings", body, request=request)) == []
    body["data"][0]["embedding"] = "sDqdvHJAz7zp5926"  # the SDK asks for base64 by default
    assert check_official(json_exchange("openai.embeddings", body, request=request)) == []
    body["data"][0]["embedding"] = 3
    (v,) = check_official(json_exchange("openai.embeddings", body, request=request))
    assert (v.part, v.path) == ("official:response", "$.data[0].embedding")


def test_contradictions_are_reported_with_severity() -> None:
    ex = copy.deepcopy(fixture("bedrock_converse.yaml")[0])
    body = ex.response.body.value
    body["usage"]["serverToolUsage"] = {}
    body["stopReason"] = "brand_new_reason"
    body["usage"]["totalTokens"] = "12"
    del body["metrics"]
    found = {(v.path, v.severity, v.message) for v in check_official(ex, cassette="c.yaml")}
    assert found == {
        ("$.usage.serverToolUsage", "warning", "field the schema does not know"),
        ("$.stopReason", "warning", "value not in enum"),
        ("$.usage.totalTokens", "error", "type not allowed"),
        ("$.metrics", "error", "required field missing"),
    }


def test_check_official_on_an_inferred_contract(tmp_path: Path) -> None:
    exs = fixture("bedrock_converse.yaml")
    exs[0].response.body.value["usage"]["serverToolUsage"] = {}
    del exs[0].response.body.value["metrics"]
    update_contracts(exs, tmp_path)
    doc = load_contract(tmp_path / "bedrock-runtime" / "Converse.json")
    found = {(v.part, v.path, v.severity, v.found) for v in check_official(doc, cassette="Converse.json")}
    assert found == {("official:response", "$.usage.serverToolUsage", "warning", "present"),
                     ("official:response", "$.metrics", "error", "optional")}


def test_unknown_operations() -> None:
    assert not has_official("http.GET")
    assert not has_official("openai.files.list")
    assert not has_official("bedrock-runtime.NoSuchThing")
    assert has_official("s3.PutObject")
    with pytest.raises(ConfigError, match="no official schema for openai.files.list"):
        official_schema("openai.files.list")
    with pytest.raises(ConfigError, match="botocore knows no service"):
        official_schema("nosuchservice.Op")
    assert check_official(json_exchange("http.GET", {})) == []


# ---------------------------------------------------------------- recordings made against the real providers

# what the real recordings contradict in the official shapes (botocore 1.44.x, openai 3.54.x); see the report
KNOWN_ERRORS = {("openai.responses", "usage.input_tokens_details.cache_write_tokens"),
                ("openai.responses", "response.usage.input_tokens_details.cache_write_tokens")}
KNOWN_WARNINGS = {
    ("bedrock-runtime.Converse", "usage.serverToolUsage"),
    ("bedrock-runtime.Converse", "usage.cacheReadInputTokenCount"),
    ("bedrock-runtime.Converse", "usage.cacheWriteInputTokenCount"),
    ("bedrock-runtime.ConverseStream", "usage.serverToolUsage"),
    ("bedrock-runtime.ConverseStream", "start.toolUse.type"),
    ("openai.responses", "store"),
    ("openai.responses", "response.store"),
    ("openai.responses", "response.frequency_penalty"),
    ("openai.responses", "response.presence_penalty"),
}


def _tail(path: str) -> str:
    """``usage.x`` from ``$.usage.x`` or ``$[3].json.usage.x``/``$[3].data.usage.x``."""
    head, _, rest = path.partition(".")
    if head != "$" and rest.split(".", 1)[0] in ("json", "data"):
        rest = rest.split(".", 1)[1]
    return rest


def _real(real_cassettes: Path) -> list[tuple[Path, Exchange]]:
    return [(p, ex) for p in iter_cassettes(real_cassettes) for ex in load_exchanges(p)]


def test_real_recordings_against_the_official_shapes(real_cassettes: Path) -> None:
    recorded = _real(real_cassettes)
    ops = Counter(ex.operation for _p, ex in recorded)
    assert {"bedrock-runtime.Converse", "bedrock-runtime.ConverseStream", "bedrock-runtime.InvokeModel",
            "openai.chat.completions", "openai.embeddings", "openai.responses"} <= set(ops)
    errors, warnings = set(), set()
    for path, ex in recorded:
        for v in check_official(ex, cassette=str(path)):
            (errors if v.severity == "error" else warnings).add((v.operation, _tail(v.path)))
    assert errors == KNOWN_ERRORS
    assert warnings == KNOWN_WARNINGS


def test_contracts_inferred_from_real_recordings(real_cassettes: Path, tmp_path: Path) -> None:
    recorded = _real(real_cassettes)
    exchanges = [ex for _p, ex in recorded]
    assert len(update_contracts(exchanges, tmp_path)) == len({ex.operation for ex in exchanges})
    assert update_contracts(exchanges, tmp_path) == []
    store = ContractStore(tmp_path)
    assert [str(v) for p, ex in recorded for v in store.validate(ex, cassette=str(p))] == []
    stream = load_contract(tmp_path / "bedrock-runtime" / "ConverseStream.json")["response"]["events"]
    assert all("p" not in schema.get("required", []) for schema in stream.values())
    contradictions = set()
    for contract in sorted(tmp_path.rglob("*.json")):
        for v in check_official(load_contract(contract), cassette=str(contract)):
            contradictions.add((v.operation, v.path, v.severity))
    assert ("bedrock-runtime.Converse", "$.usage.serverToolUsage", "warning") in contradictions
    assert ("openai.responses", "$.usage.input_tokens_details.cache_write_tokens", "error") in contradictions


def test_official_shapes_follow_each_aws_protocol():
    from replaykit.contracts.official import official_schema

    query = official_schema("dynamodb.Query")  # json protocol: x-amz-json, always an object body
    assert query["response"]["content_types"] == ["application/x-amz-json-1.0", "application/json"]
    assert query["request"]["properties"]["TableName"] == {"type": "string"}
    assert official_schema("dynamodb.DescribeLimits")["request"]["type"] == "object"  # botocore sends {}
    sts = official_schema("sts.GetCallerIdentity")  # query protocol: a form in, <Name>Result out
    assert sts["request"]["contentMediaType"] == "application/x-www-form-urlencoded"
    assert "GetCallerIdentityResult" in sts["response"]["success"]["properties"]
    assert "text/xml" in sts["response"]["content_types"]
    sm = official_schema("sagemaker-runtime.InvokeEndpoint")  # named as identify names it, not by endpoint prefix
    assert sm["x-replaykit"]["operation"] == "sagemaker-runtime.InvokeEndpoint"
