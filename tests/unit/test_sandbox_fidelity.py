"""Fidelity: default-profile bodies validate against botocore's output shapes and the openai SDK's types.

Bodies come from the sandbox's real routing and wire code, in-process (the HTTP server adds only framing).
botocore: no unknown members, required members present, types and enums respected, event payloads per event shape.
openai: every body validates and no parsed model carries an undeclared field.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from openai.types import CreateEmbeddingResponse, Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent

from replaykit.codecs import eventstream, sse
from replaykit.providers.aws import service_model
from replaykit.sandbox import _fidelity
from replaykit.sandbox.server import handle

SIGV4 = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/bedrock/aws4_request, "
         "SignedHeaders=host, Signature=" + "0" * 64)
NOVA = "us.amazon.nova-micro-v1%3A0"
CLAUDE = "anthropic.claude-3-haiku-20240307-v1%3A0"
WEATHER_TOOL = {"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {
    "type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}}]}
CAPITAL_TOOL = {"type": "function", "function": {"name": "get_capital", "parameters": {
    "type": "object", "properties": {"country": {"type": "string"}}, "required": ["country"]}}}
CITY_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
               "required": ["city", "population"]}
HELLO = [{"role": "user", "content": "hello"}]


def _user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": text}]}]


def _call(method: str, path: str, body: Any = None) -> tuple[int, dict[str, str], bytes]:
    auth = "Bearer sk-test" if path.startswith("/v1") else SIGV4
    reply = handle(method, path, b"" if body is None else json.dumps(body).encode(), {"Authorization": auth})
    data = reply.body if reply.chunks is None else b"".join(reply.chunks)
    return reply.status, {k.lower(): v for k, v in reply.headers}, data


# --- Bedrock Runtime ----------------------------------------------------------------------------------------------

CONVERSE_BODIES = [
    {"messages": _user("Hello!"), "system": [{"text": "You are a chatbot."}]},
    {"messages": _user("Weather in Paris?"), "toolConfig": WEATHER_TOOL},
    {"messages": _user("x"), "inferenceConfig": {"maxTokens": 3}},
    {"messages": _user("Hi"), "guardrailConfig": {"guardrailIdentifier": "g1", "guardrailVersion": "1",
                                                  "trace": "enabled"}},
    {"messages": _user("Hi"), "performanceConfig": {"latency": "optimized"}, "serviceTier": {"type": "priority"}},
    {"messages": _user("Hi"), "system": [{"text": "cached"}, {"cachePoint": {"type": "default"}}]},
]
MODELS = [NOVA, CLAUDE, "us.anthropic.claude-sonnet-4-20250514-v1%3A0", "us.deepseek.r1-v1%3A0",
          "meta.llama3-8b-instruct-v1%3A0"]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("body", CONVERSE_BODIES, ids=["plain", "tool", "max_tokens", "guardrail", "tiers", "cache"])
def test_converse_and_stream_validate_against_botocore(model: str, body: Any) -> None:
    if "claude-sonnet-4" in model:
        body = dict(body, additionalModelRequestFields={"thinking": {"type": "enabled", "budget_tokens": 1024}})
    status, _, data = _call("POST", f"/model/{model}/converse", body)
    assert status == 200, data
    assert _fidelity.bedrock_output_problems("Converse", json.loads(data)) == []
    status, headers, data = _call("POST", f"/model/{model}/converse-stream", body)
    assert headers["content-type"] == eventstream.CONTENT_TYPE
    for m in eventstream.decode(data):
        payload = json.loads(m.payload)
        assert _fidelity.bedrock_event_problems("ConverseStream", m.headers[":event-type"], payload) == []


def test_invoke_stream_count_tokens_and_errors_validate() -> None:
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 20, "messages": [{"role": "user", "content": "a"}]}
    _, headers, data = _call("POST", f"/model/{CLAUDE}/invoke-with-response-stream", body)
    assert headers["x-amzn-bedrock-content-type"] == "application/json"
    for m in eventstream.decode(data):
        payload = json.loads(m.payload)
        assert _fidelity.bedrock_event_problems("InvokeModelWithResponseStream", "chunk", payload) == []
        json.loads(base64.b64decode(payload["bytes"]))
    _, _, data = _call("POST", "/model/sandbox.stream-error.throttlingException/converse-stream",
                       {"messages": _user("a")})
    last = eventstream.decode(data)[-1]
    assert last.headers[":message-type"] == "exception"
    assert _fidelity.bedrock_event_problems("ConverseStream", last.headers[":exception-type"],
                                            json.loads(last.payload), "exception") == []
    _, _, data = _call("POST", f"/model/{CLAUDE}/count-tokens", {"input": {"converse": {"messages": _user("a b")}}})
    assert _fidelity.bedrock_output_problems("CountTokens", json.loads(data)) == []
    for name in ("ModelTimeoutException", "ValidationException", "ModelErrorException"):
        status, headers, data = _call("POST", f"/model/sandbox.error.{name}/converse", {"messages": _user("a")})
        assert headers["x-amzn-errortype"].split(":")[0] == name
        assert _fidelity.botocore_problems(json.loads(data), service_model("bedrock-runtime").shape_for(name)) == []


def test_botocore_check_catches_problems() -> None:
    problems = _fidelity.bedrock_output_problems("Converse", {"output": {"message": {"role": "robot", "content": []}},
                                                               "stopReason": "end_turn", "usage": {}, "extra": 1})
    assert any("extra" in p for p in problems) and any("robot" in p for p in problems)
    assert any("inputTokens" in p for p in problems) and any("metrics" in p for p in problems)


# --- OpenAI -------------------------------------------------------------------------------------------------------

CHAT_BODIES = [
    {"model": "gpt-4o-mini", "messages": HELLO},
    {"model": "gpt-4o-mini", "messages": HELLO, "n": 2, "logprobs": True},
    {"model": "gpt-4o", "messages": [{"role": "user", "content": "capital of UK"}], "tools": [CAPITAL_TOOL]},
    {"model": "o3-mini", "messages": HELLO, "max_completion_tokens": 80},
    {"model": "gpt-4o-mini", "messages": HELLO, "response_format": {
        "type": "json_schema", "json_schema": {"name": "c", "schema": CITY_SCHEMA}}},
]


@pytest.mark.parametrize("body", CHAT_BODIES, ids=["plain", "n-logprobs", "tools", "reasoning", "json-schema"])
def test_chat_fidelity(body: dict[str, Any]) -> None:
    assert _fidelity.openai_problems(ChatCompletion, json.loads(_call("POST", "/v1/chat/completions", body)[2])) == []
    _, _, data = _call("POST", "/v1/chat/completions", dict(body, stream=True, stream_options={"include_usage": True}))
    events = sse.decode(data)
    assert events[-1].data == "[DONE]"
    for event in events[:-1]:
        assert _fidelity.openai_problems(ChatCompletionChunk, json.loads(event.data)) == []


def test_embeddings_models_and_responses_fidelity() -> None:
    data = _call("POST", "/v1/embeddings", {"model": "text-embedding-3-small", "input": "x",
                                            "encoding_format": "float"})[2]
    assert _fidelity.openai_problems(CreateEmbeddingResponse, json.loads(data)) == []
    listed = json.loads(_call("GET", "/v1/models")[2])
    assert all(_fidelity.openai_problems(Model, m) == [] for m in listed["data"])
    assert _fidelity.openai_problems(Model, json.loads(_call("GET", "/v1/models/gpt-4o")[2])) == []
    tool = {"type": "function", "name": "get_capital", "parameters": CAPITAL_TOOL["function"]["parameters"]}
    for body in ({"model": "gpt-4o", "input": "hi"}, {"model": "gpt-4o", "input": "capital?", "tools": [tool]},
                 {"model": "o4-mini", "input": "hi", "max_output_tokens": 70}):
        assert _fidelity.openai_problems(Response, json.loads(_call("POST", "/v1/responses", body)[2])) == []
        for event in sse.decode(_call("POST", "/v1/responses", dict(body, stream=True))[2]):
            assert _fidelity.openai_problems(ResponseStreamEvent, json.loads(event.data)) == []


def test_openai_check_catches_unknown_fields() -> None:
    assert _fidelity.openai_problems(Model, {"id": "m", "object": "model", "created": 1, "owned_by": "x",
                                             "surprise": 1}) == ["$.surprise: not a field of Model"]
