"""The sandbox's Bedrock Runtime, driven by a real boto3 client (and raw HTTP for wire-level checks)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError, EventStreamError

from replaykit.codecs import eventstream
from replaykit.sandbox.bedrock.models import error_statuses

SIGV4 = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/bedrock/aws4_request, "
         "SignedHeaders=content-type;host;x-amz-date, Signature=" + "0" * 64)

NOVA = "us.amazon.nova-micro-v1:0"
CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
WEATHER_TOOL = {"tools": [{"toolSpec": {"name": "get_weather", "description": "Weather for a place.", "inputSchema": {
    "json": {"type": "object", "properties": {"location": {"type": "string"}, "days": {"type": "integer"}},
             "required": ["location"]}}}}]}


def _user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": text}]}]


def _strip(resp: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resp.items() if k != "ResponseMetadata"}


def _with_header(client: Any, name: str, value: str) -> None:
    def add(request: Any, **_: Any) -> None:
        request.headers[name] = value

    client.meta.events.register_first("before-sign.bedrock-runtime.*", add, unique_id=f"sbx-{name}")


def _without_header(client: Any, name: str) -> None:
    client.meta.events.unregister("before-sign.bedrock-runtime.*", unique_id=f"sbx-{name}")


def _raw(http: Any, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http.post(path, content=data, headers={"Authorization": SIGV4, "Content-Type": "application/json",
                                                  **(headers or {})})


# --- Converse -----------------------------------------------------------------------------------------------------


def test_converse_answers_with_text_usage_and_metrics(sbx_bedrock: Any) -> None:
    resp = sbx_bedrock.converse(modelId=NOVA, messages=_user("Hello!"), system=[{"text": "You are a chatbot."}])
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp["ResponseMetadata"]["RequestId"]
    assert resp["output"]["message"]["role"] == "assistant"
    text = resp["output"]["message"]["content"][0]["text"]
    assert text.endswith(".") and len(text.split()) > 5
    assert resp["stopReason"] == "end_turn"
    usage = resp["usage"]
    assert usage["inputTokens"] == 7  # "You are a chatbot ." + "Hello !"
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert isinstance(resp["metrics"]["latencyMs"], int)


def test_converse_is_deterministic(sbx_bedrock: Any) -> None:
    first = _strip(sbx_bedrock.converse(modelId=NOVA, messages=_user("Tell me about replays")))
    second = _strip(sbx_bedrock.converse(modelId=NOVA, messages=_user("Tell me about replays")))
    first.pop("metrics"), second.pop("metrics")
    assert first == second
    other = sbx_bedrock.converse(modelId=NOVA, messages=_user("Something else entirely"))
    assert other["output"] != first["output"]


def test_max_tokens_truncates_and_reports_max_tokens(sbx_bedrock: Any) -> None:
    full = sbx_bedrock.converse(modelId=NOVA, messages=_user("What is the capital of France?"))
    cut = sbx_bedrock.converse(modelId=NOVA, messages=_user("What is the capital of France?"),
                               inferenceConfig={"maxTokens": 5})
    assert cut["stopReason"] == "max_tokens"
    assert cut["usage"]["outputTokens"] == 5
    assert full["output"]["message"]["content"][0]["text"].startswith(cut["output"]["message"]["content"][0]["text"])


def test_stop_sequence_cuts_the_answer(sbx_bedrock: Any) -> None:
    full = sbx_bedrock.converse(modelId=NOVA, messages=_user("Stop early"))["output"]["message"]["content"][0]["text"]
    word = full.split()[3]
    resp = sbx_bedrock.converse(modelId=NOVA, messages=_user("Stop early"), inferenceConfig={"stopSequences": [word]})
    assert resp["stopReason"] == "stop_sequence"
    assert resp["output"]["message"]["content"][0]["text"] == full[: full.index(word)]


def test_tool_use_round_trip(sbx_bedrock: Any) -> None:
    messages = _user("What is the weather in Paris?")
    resp = sbx_bedrock.converse(modelId=CLAUDE, messages=messages, toolConfig=WEATHER_TOOL)
    assert resp["stopReason"] == "tool_use"
    (block,) = resp["output"]["message"]["content"]
    use = block["toolUse"]
    assert use["name"] == "get_weather"
    assert use["toolUseId"].startswith("tooluse_")
    assert use["input"]["location"] == "Paris" and isinstance(use["input"]["days"], int)
    messages = messages + [resp["output"]["message"], {"role": "user", "content": [{"toolResult": {
        "toolUseId": use["toolUseId"], "content": [{"text": "22 degrees and sunny"}]}}]}]
    answer = sbx_bedrock.converse(modelId=CLAUDE, messages=messages, toolConfig=WEATHER_TOOL)
    assert answer["stopReason"] == "end_turn"
    assert "22 degrees and sunny" in answer["output"]["message"]["content"][0]["text"]
    assert answer["usage"]["cacheReadInputTokens"] == 0  # Claude reports prompt-cache counters


def test_tool_choice_any_forces_a_call_and_auto_may_answer(sbx_bedrock: Any) -> None:
    forced = dict(WEATHER_TOOL, toolChoice={"any": {}})
    resp = sbx_bedrock.converse(modelId=NOVA, messages=_user("Say hi"), toolConfig=forced)
    assert resp["stopReason"] == "tool_use"
    resp = sbx_bedrock.converse(modelId=NOVA, messages=_user("Say hi"), toolConfig=WEATHER_TOOL)
    assert resp["stopReason"] == "end_turn"


def test_reasoning_blocks_for_thinking_models(sbx_bedrock: Any) -> None:
    resp = sbx_bedrock.converse(modelId="us.anthropic.claude-sonnet-4-20250514-v1:0", messages=_user("Think"),
                                additionalModelRequestFields={"thinking": {"type": "enabled", "budget_tokens": 1024}})
    reasoning, text = resp["output"]["message"]["content"]
    assert reasoning["reasoningContent"]["reasoningText"]["text"]
    assert reasoning["reasoningContent"]["reasoningText"]["signature"]
    assert text["text"]
    deepseek = sbx_bedrock.converse(modelId="us.deepseek.r1-v1:0", messages=_user("Think"))
    assert "signature" not in deepseek["output"]["message"]["content"][0]["reasoningContent"]["reasoningText"]


def test_guardrail_trace(sbx_bedrock: Any) -> None:
    resp = sbx_bedrock.converse(modelId=NOVA, messages=_user("Hi"), guardrailConfig={
        "guardrailIdentifier": "gr123", "guardrailVersion": "DRAFT", "trace": "enabled"})
    guard = resp["trace"]["guardrail"]
    assert guard["inputAssessment"]["gr123"]["appliedGuardrailDetails"]["guardrailId"] == "gr123"
    assert guard["outputAssessments"]["gr123"][0]["invocationMetrics"]["usage"]["topicPolicyUnits"] == 1


def test_arn_model_ids_are_accepted(sbx_bedrock: Any) -> None:
    arn = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0"
    resp = sbx_bedrock.converse(modelId=arn, messages=_user("Hello!"))
    assert resp["stopReason"] == "end_turn"


# --- ConverseStream -----------------------------------------------------------------------------------------------


def _collect(stream: Any) -> list[dict[str, Any]]:
    return list(stream)


def test_converse_stream_matches_converse(sbx_bedrock: Any) -> None:
    full = sbx_bedrock.converse(modelId=NOVA, messages=_user("Stream please"))
    events = _collect(sbx_bedrock.converse_stream(modelId=NOVA, messages=_user("Stream please"))["stream"])
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"]
    assert set(kinds[1:-3]) == {"contentBlockDelta"} and kinds[-3] == "contentBlockStop"
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == full["output"]["message"]["content"][0]["text"]
    assert events[-2]["messageStop"]["stopReason"] == "end_turn"
    assert events[-1]["metadata"]["usage"] == full["usage"]
    assert isinstance(events[-1]["metadata"]["metrics"]["latencyMs"], int)


def test_converse_stream_tool_use(sbx_bedrock: Any) -> None:
    events = _collect(sbx_bedrock.converse_stream(modelId=CLAUDE, messages=_user("Weather in Paris?"),
                                                  toolConfig=WEATHER_TOOL)["stream"])
    start = next(e["contentBlockStart"] for e in events if "contentBlockStart" in e)
    assert start["start"]["toolUse"]["name"] == "get_weather"
    raw = "".join(e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events if "contentBlockDelta" in e)
    assert json.loads(raw)["location"] == "Paris"
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"


def test_stream_frames_carry_padding_and_headers(sbx_http: Any) -> None:
    resp = _raw(sbx_http, f"/model/{NOVA}/converse-stream", {"messages": _user("frames")})
    assert resp.headers["content-type"] == "application/vnd.amazon.eventstream"
    messages = eventstream.decode(resp.content)
    for m in messages:
        assert m.headers[":message-type"] == "event" and m.headers[":content-type"] == "application/json"
        padding = json.loads(m.payload)["p"]
        assert padding and "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".startswith(padding)


@pytest.mark.parametrize("exc_type", ["modelStreamErrorException", "throttlingException"])
def test_mid_stream_exception_from_model_id(sbx_bedrock: Any, exc_type: str) -> None:
    stream = sbx_bedrock.converse_stream(modelId=f"sandbox.stream-error.{exc_type}", messages=_user("x"))["stream"]
    seen = []
    with pytest.raises(EventStreamError) as info:
        for event in stream:
            seen.append(event)
    assert info.value.response["Error"]["Code"] == exc_type
    assert seen and "messageStart" in seen[0]


def test_mid_stream_exception_from_header(sbx_bedrock: Any) -> None:
    _with_header(sbx_bedrock, "x-replaykit-sandbox-error", "modelStreamErrorException")
    try:
        stream = sbx_bedrock.converse_stream(modelId=NOVA, messages=_user("x"))["stream"]
        with pytest.raises(EventStreamError, match="modelStreamErrorException"):
            _collect(stream)
    finally:
        _without_header(sbx_bedrock, "x-replaykit-sandbox-error")


# --- errors -------------------------------------------------------------------------------------------------------


def test_unknown_model_is_a_validation_exception(sbx_bedrock: Any) -> None:
    with pytest.raises(sbx_bedrock.exceptions.ValidationException) as info:
        sbx_bedrock.converse(modelId="us.does-not-exist-model-v1:0", messages=_user("hello"))
    assert info.value.response["Error"]["Message"] == "The provided model identifier is invalid."
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize(("name", "status"), [
    ("ValidationException", 400), ("AccessDeniedException", 403), ("ResourceNotFoundException", 404),
    ("ThrottlingException", 429), ("ModelTimeoutException", 408), ("ServiceUnavailableException", 503),
    ("InternalServerException", 500), ("ModelErrorException", 424), ("ModelNotReadyException", 429),
])
def test_error_triggers_raise_the_modeled_exception(sbx_bedrock: Any, name: str, status: int) -> None:
    modeled = getattr(sbx_bedrock.exceptions, name)
    with pytest.raises(modeled) as info:
        sbx_bedrock.converse(modelId=f"sandbox.error.{name}", messages=_user("x"))
    assert info.value.response["Error"]["Code"] == name
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status == error_statuses()[name]
    assert info.value.response["Error"]["Message"]


def test_error_trigger_header_works_for_any_model_and_operation(sbx_bedrock: Any) -> None:
    _with_header(sbx_bedrock, "x-replaykit-sandbox-error", "ThrottlingException")
    try:
        with pytest.raises(sbx_bedrock.exceptions.ThrottlingException):
            sbx_bedrock.converse(modelId=NOVA, messages=_user("x"))
        with pytest.raises(sbx_bedrock.exceptions.ThrottlingException):
            sbx_bedrock.invoke_model(modelId=CLAUDE, body=b"{}")
    finally:
        _without_header(sbx_bedrock, "x-replaykit-sandbox-error")


def test_error_wire_format(sbx_http: Any) -> None:
    resp = _raw(sbx_http, "/model/sandbox.error.ThrottlingException/converse", {"messages": _user("x")})
    assert resp.status_code == 429
    assert resp.headers["x-amzn-ErrorType"].startswith("ThrottlingException:")
    assert resp.headers["x-amzn-RequestId"]
    assert set(resp.json()) == {"message"}


def test_missing_or_malformed_authorization_is_access_denied(sbx_http: Any, sbx: Any) -> None:
    body = json.dumps({"messages": _user("x")})
    missing = sbx_http.post(f"/model/{NOVA}/converse", content=body)
    assert missing.status_code == 403
    assert missing.headers["x-amzn-ErrorType"].startswith("AccessDeniedException")
    bad = sbx_http.post(f"/model/{NOVA}/converse", content=body, headers={"Authorization": "AWS4-HMAC-SHA256 nope"})
    assert bad.status_code == 403
    wrong_service = SIGV4.replace("/bedrock/", "/s3/")
    assert sbx_http.post(f"/model/{NOVA}/converse", content=body,
                         headers={"Authorization": wrong_service}).status_code == 403

    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    unsigned = boto3.client("bedrock-runtime", endpoint_url=sbx.bedrock_runtime, region_name="us-east-1",
                            config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}))
    with pytest.raises(unsigned.exceptions.AccessDeniedException):
        unsigned.converse(modelId=NOVA, messages=_user("x"))


@pytest.mark.parametrize(("body", "needle"), [
    (b"{not json", "not valid JSON"),
    ({"messages": []}, "must start with a user message"),
    ({}, "must start with a user message"),
    ({"messages": _user("a") + _user("b")}, "alternate"),
    ({"messages": _user("a"), "inferenceConfig": {"maxTokens": 0}}, "maxTokens"),
])
def test_invalid_requests_are_validation_exceptions(sbx_http: Any, body: Any, needle: str) -> None:
    resp = _raw(sbx_http, f"/model/{NOVA}/converse", body)
    assert resp.status_code == 400
    assert resp.headers["x-amzn-ErrorType"].startswith("ValidationException")
    assert needle in resp.json()["message"]


def test_embedding_models_cannot_converse(sbx_bedrock: Any) -> None:
    with pytest.raises(ClientError, match="doesn't support the model"):
        sbx_bedrock.converse(modelId="amazon.titan-embed-text-v2:0", messages=_user("x"))


# --- InvokeModel --------------------------------------------------------------------------------------------------


def _invoke(client: Any, model: str, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    resp = client.invoke_model(modelId=model, body=json.dumps(body), contentType="application/json")
    assert resp["contentType"] == "application/json"
    return json.loads(resp["body"].read()), resp["ResponseMetadata"]["HTTPHeaders"]


def test_invoke_anthropic_messages(sbx_bedrock: Any) -> None:
    body, headers = _invoke(sbx_bedrock, CLAUDE, {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 12,
                                                  "system": "Be brief.", "messages": [{"role": "user",
                                                                                       "content": "Hello there"}]})
    assert body["type"] == "message" and body["role"] == "assistant" and body["id"].startswith("msg_bdrk_")
    assert body["model"] == "claude-3-haiku-20240307"
    assert body["content"][0]["type"] == "text"
    assert body["stop_reason"] == "max_tokens" and body["usage"]["output_tokens"] == 12
    assert headers["x-amzn-bedrock-output-token-count"] == "12"
    assert headers["x-amzn-bedrock-input-token-count"] == str(body["usage"]["input_tokens"])
    assert int(headers["x-amzn-bedrock-invocation-latency"]) > 0
    assert headers["x-amzn-requestid"]


def test_invoke_anthropic_tool_use(sbx_bedrock: Any) -> None:
    body, _ = _invoke(sbx_bedrock, CLAUDE, {
        "anthropic_version": "bedrock-2023-05-31", "max_tokens": 200,
        "tools": [{"name": "get_weather", "input_schema": WEATHER_TOOL["tools"][0]["toolSpec"]["inputSchema"]["json"]}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "weather in Paris"}]}]})
    assert body["stop_reason"] == "tool_use"
    assert body["content"][0]["type"] == "tool_use" and body["content"][0]["input"]["location"] == "Paris"


def test_invoke_anthropic_requires_its_keys(sbx_bedrock: Any) -> None:
    with pytest.raises(sbx_bedrock.exceptions.ValidationException, match=r"required key \[anthropic_version\]"):
        _invoke(sbx_bedrock, CLAUDE, {"max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})


def test_invoke_nova_titan_llama_mistral(sbx_bedrock: Any) -> None:
    nova, _ = _invoke(sbx_bedrock, "amazon.nova-micro-v1:0", {"schemaVersion": "messages-v1", "messages": _user("hi"),
                                                                "inferenceConfig": {"maxTokens": 64}})
    assert nova["output"]["message"]["role"] == "assistant" and nova["stopReason"] == "end_turn"
    usage = nova["usage"]
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    titan, _ = _invoke(sbx_bedrock, "amazon.titan-text-express-v1", {
        "inputText": "Hello", "textGenerationConfig": {"maxTokenCount": 4}})
    assert titan["results"][0]["completionReason"] == "LENGTH" and titan["results"][0]["tokenCount"] == 4
    llama, _ = _invoke(sbx_bedrock, "meta.llama3-8b-instruct-v1:0", {"prompt": "Hello", "max_gen_len": 100})
    assert llama["stop_reason"] == "stop" and llama["generation"] and llama["prompt_token_count"] == 1
    mistral, _ = _invoke(sbx_bedrock, "mistral.mistral-7b-instruct-v0:2", {"prompt": "<s>[INST] Hi [/INST]"})
    assert mistral["outputs"][0]["stop_reason"] == "stop"


def test_invoke_embeddings(sbx_bedrock: Any) -> None:
    body, headers = _invoke(sbx_bedrock, "amazon.titan-embed-text-v2:0", {"inputText": "hello", "dimensions": 256})
    assert len(body["embedding"]) == 256 and body["embeddingsByType"]["float"] == body["embedding"]
    assert abs(sum(v * v for v in body["embedding"]) - 1) < 1e-4
    assert body["inputTextTokenCount"] == 2 and "x-amzn-bedrock-output-token-count" not in headers
    again, _ = _invoke(sbx_bedrock, "amazon.titan-embed-text-v2:0", {"inputText": "hello", "dimensions": 256})
    assert again["embedding"] == body["embedding"]
    v1, _ = _invoke(sbx_bedrock, "amazon.titan-embed-text-v1", {"inputText": "hello"})
    assert len(v1["embedding"]) == 1536 and "embeddingsByType" not in v1
    cohere, _ = _invoke(sbx_bedrock, "cohere.embed-english-v3", {"texts": ["Hi", "There"],
                                                                  "input_type": "search_query"})
    assert len(cohere["embeddings"]) == 2 and cohere["texts"] == ["hi", "there"]


def test_invoke_with_response_stream_anthropic(sbx_bedrock: Any) -> None:
    resp = sbx_bedrock.invoke_model_with_response_stream(modelId=CLAUDE, body=json.dumps({
        "anthropic_version": "bedrock-2023-05-31", "max_tokens": 50, "messages": [{"role": "user", "content": "Hi"}]}))
    assert resp["contentType"] == "application/json"
    chunks = [json.loads(e["chunk"]["bytes"]) for e in resp["body"]]
    types = [c["type"] for c in chunks]
    assert types[0] == "message_start" and types[1] == "content_block_start"
    assert types[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    metrics = chunks[-1]["amazon-bedrock-invocationMetrics"]
    assert metrics["outputTokenCount"] == chunks[-2]["usage"]["output_tokens"]
    text = "".join(c["delta"]["text"] for c in chunks if c["type"] == "content_block_delta")
    full, _ = _invoke(sbx_bedrock, CLAUDE, {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50,
                                            "messages": [{"role": "user", "content": "Hi"}]})
    assert text == full["content"][0]["text"]


def test_invoke_with_response_stream_nova_and_error(sbx_bedrock: Any) -> None:
    resp = sbx_bedrock.invoke_model_with_response_stream(modelId="amazon.nova-micro-v1:0", body=json.dumps(
        {"messages": _user("Three colors?"), "inferenceConfig": {"maxTokens": 64}}))
    chunks = [json.loads(e["chunk"]["bytes"]) for e in resp["body"]]
    assert "messageStart" in chunks[0] and "messageStop" in chunks[-2]
    assert chunks[-1]["metadata"]["usage"]["inputTokens"] == chunks[-1]["amazon-bedrock-invocationMetrics"][
        "inputTokenCount"]
    broken = sbx_bedrock.invoke_model_with_response_stream(
        modelId="sandbox.stream-error.modelStreamErrorException",
        body=json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50,
                         "messages": [{"role": "user", "content": "Hi"}]}))
    with pytest.raises(EventStreamError, match="modelStreamErrorException"):
        list(broken["body"])


def test_count_tokens(sbx_bedrock: Any) -> None:
    converse = sbx_bedrock.count_tokens(modelId=CLAUDE, input={"converse": {"messages": _user("What is the weather?"),
                                                                            "system": [{"text": "Be brief."}]}})
    assert converse["inputTokens"] == sbx_bedrock.converse(modelId=CLAUDE, messages=_user("What is the weather?"),
                                                           system=[{"text": "Be brief."}])["usage"]["inputTokens"]
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5,
                       "messages": [{"role": "user", "content": "one two three"}]}).encode()
    invoke = sbx_bedrock.count_tokens(modelId=CLAUDE, input={"invokeModel": {"body": body}})
    assert invoke["inputTokens"] == 3


# --- profiles through boto3 ---------------------------------------------------------------------------------------


def test_profiles_stay_parseable_by_botocore(sbx_bedrock: Any) -> None:
    try:
        _with_header(sbx_bedrock, "x-replaykit-sandbox-profile", "legacy-2024")
        assert "metrics" not in sbx_bedrock.converse(modelId=NOVA, messages=_user("x"))
        _without_header(sbx_bedrock, "x-replaykit-sandbox-profile")
        _with_header(sbx_bedrock, "x-replaykit-sandbox-profile", "next-2027")
        resp = sbx_bedrock.converse(modelId=NOVA, messages=_user("x"))
        assert isinstance(resp["metrics"]["latencyMs"], int) and "totalTokens" not in resp["usage"]
        events = _collect(sbx_bedrock.converse_stream(modelId=NOVA, messages=_user("x"))["stream"])
        # botocore silently skips the unknown messageMetadata event
        assert [next(iter(e)) for e in events][-2:] == ["messageStop", "metadata"]
    finally:
        _without_header(sbx_bedrock, "x-replaykit-sandbox-profile")
