"""The project's Bedrock Runtime contract suite: real boto3 calls, recorded once, replayed offline in CI."""

from __future__ import annotations

import json

import botocore.exceptions
import pytest

CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
NOVA = "amazon.nova-micro-v1:0"
LLAMA = "meta.llama3-8b-instruct-v1:0"
WEATHER_TOOL = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "inputSchema": {
            "json": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
        },
    }
}


def _user(text: str) -> dict:
    return {"role": "user", "content": [{"text": text}]}


def test_converse_text(bedrock_runtime):
    resp = bedrock_runtime.converse(modelId=CLAUDE, messages=[_user("Name three primary colours.")],
                                    inferenceConfig={"maxTokens": 200})
    assert resp["stopReason"] == "end_turn"
    assert resp["output"]["message"]["role"] == "assistant"
    assert resp["output"]["message"]["content"][0]["text"].strip()
    usage = resp["usage"]
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]


def test_converse_system_prompt_and_max_tokens(bedrock_runtime):
    resp = bedrock_runtime.converse(modelId=CLAUDE, system=[{"text": "Answer like a pirate."}],
                                    messages=[_user("Tell me a long story about the sea and the stars.")],
                                    inferenceConfig={"maxTokens": 5})
    assert resp["stopReason"] == "max_tokens"
    assert resp["usage"]["outputTokens"] <= 5


def test_converse_tool_use_multi_turn(bedrock_runtime):
    messages = [_user("What's the weather in Paris?")]
    first = bedrock_runtime.converse(modelId=CLAUDE, messages=messages, toolConfig={"tools": [WEATHER_TOOL]})
    assert first["stopReason"] == "tool_use"
    tool_use = next(b["toolUse"] for b in first["output"]["message"]["content"] if "toolUse" in b)
    assert tool_use["name"] == "get_weather"
    assert isinstance(tool_use["input"]["city"], str)
    messages += [first["output"]["message"], {"role": "user", "content": [{"toolResult": {
        "toolUseId": tool_use["toolUseId"], "content": [{"json": {"temperature_c": 18}}]}}]}]
    second = bedrock_runtime.converse(modelId=CLAUDE, messages=messages, toolConfig={"tools": [WEATHER_TOOL]})
    assert second["stopReason"] == "end_turn"
    assert second["output"]["message"]["content"][0]["text"]


def test_converse_stream(bedrock_runtime):
    resp = bedrock_runtime.converse_stream(modelId=CLAUDE, messages=[_user("Count to five.")])
    events = list(resp["stream"])
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "messageStart" and kinds[-1] == "metadata"
    assert "messageStop" in kinds and "contentBlockDelta" in kinds
    text = "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e)
    assert text.strip()
    assert events[-1]["metadata"]["usage"]["outputTokens"] > 0


def test_invoke_model_anthropic(bedrock_runtime):
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
            "messages": [{"role": "user", "content": "Say hello."}]}
    resp = bedrock_runtime.invoke_model(modelId=CLAUDE, body=json.dumps(body))
    payload = json.loads(resp["body"].read())
    assert payload["type"] == "message" and payload["role"] == "assistant"
    assert payload["content"][0]["type"] == "text"
    assert payload["usage"]["input_tokens"] > 0


def test_invoke_model_nova(bedrock_runtime):
    body = {"messages": [{"role": "user", "content": [{"text": "Say hello."}]}], "inferenceConfig": {"maxTokens": 50}}
    resp = bedrock_runtime.invoke_model(modelId=NOVA, body=json.dumps(body))
    payload = json.loads(resp["body"].read())
    assert payload["output"]["message"]["content"][0]["text"]
    assert payload["stopReason"] in ("end_turn", "max_tokens")


def test_invoke_model_llama(bedrock_runtime):
    body = {"prompt": "Say hello.", "max_gen_len": 40}
    resp = bedrock_runtime.invoke_model(modelId=LLAMA, body=json.dumps(body))
    payload = json.loads(resp["body"].read())
    assert payload["generation"]
    assert payload["prompt_token_count"] > 0


def test_invoke_model_with_response_stream(bedrock_runtime):
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
            "messages": [{"role": "user", "content": "Write a haiku."}]}
    resp = bedrock_runtime.invoke_model_with_response_stream(modelId=CLAUDE, body=json.dumps(body))
    chunks = [json.loads(e["chunk"]["bytes"]) for e in resp["body"]]
    types = [c["type"] for c in chunks]
    assert types[0] == "message_start" and types[-1] == "message_stop"
    text = "".join(c["delta"].get("text", "") for c in chunks if c["type"] == "content_block_delta")
    assert text.strip()


def test_validation_exception(bedrock_runtime):
    with pytest.raises(bedrock_runtime.exceptions.ValidationException) as info:
        bedrock_runtime.converse(modelId="not-a-real-model", messages=[_user("hi")])
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_throttling_exception(bedrock_runtime):
    with pytest.raises(bedrock_runtime.exceptions.ThrottlingException) as info:
        bedrock_runtime.converse(modelId="sandbox.error.ThrottlingException", messages=[_user("hi")])
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429


def test_access_denied(bedrock_runtime):
    with pytest.raises(botocore.exceptions.ClientError) as info:
        bedrock_runtime.converse(modelId="sandbox.error.AccessDeniedException", messages=[_user("hi")])
    assert info.value.response["Error"]["Code"] == "AccessDeniedException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
