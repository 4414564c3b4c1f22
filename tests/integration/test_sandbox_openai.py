"""The sandbox's OpenAI API, driven by the real openai SDK (sync and async) and raw HTTP for wire checks."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import httpx
import jsonschema
import openai
import pytest

from replaykit.codecs import sse

HELLO = [{"role": "user", "content": "hello"}]
CAPITAL_TOOL = {"type": "function", "function": {"name": "get_capital", "description": "", "parameters": {
    "type": "object", "properties": {"country": {"type": "string"}}, "required": ["country"],
    "additionalProperties": False}, "strict": True}}
CITY_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}, "population": {"type": "integer"},
                                                "tags": {"type": "array", "items": {"type": "string"}}},
               "required": ["city", "population", "tags"], "additionalProperties": False}


def _raw(sbx: Any, path: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(sbx.openai + path, content=data, timeout=10,
                      headers={"Authorization": "Bearer sk-sandbox", "Content-Type": "application/json",
                               **(headers or {})})


# --- chat completions ---------------------------------------------------------------------------------------------


def test_chat_completion_fields_and_headers(sbx_openai: Any) -> None:
    raw = sbx_openai.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO)
    resp = raw.parse()
    assert resp.id.startswith("chatcmpl-") and resp.object == "chat.completion"
    assert resp.model == "gpt-4o-mini-2024-07-18" and resp.system_fingerprint.startswith("fp_")
    assert resp.service_tier == "default"
    (choice,) = resp.choices
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    assert choice.message.content and choice.message.refusal is None and choice.message.annotations == []
    usage = resp.usage
    assert usage.prompt_tokens == 8 and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens_details.cached_tokens == 0
    assert usage.completion_tokens_details.reasoning_tokens == 0
    headers = raw.headers
    assert headers["openai-version"] == "2020-10-01" and int(headers["openai-processing-ms"]) > 0
    assert headers["x-request-id"].startswith("req_") and raw.request_id == headers["x-request-id"]
    for name in ("limit-requests", "remaining-requests", "reset-requests", "limit-tokens", "remaining-tokens",
                 "reset-tokens"):
        assert headers[f"x-ratelimit-{name}"]
    assert "openai-organization" not in headers and "openai-project" not in headers


def test_organization_and_project_are_echoed(sbx: Any) -> None:
    client = openai.OpenAI(base_url=sbx.openai, api_key="sk-x", organization="org-abc", project="proj_xyz",
                           max_retries=0)
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO)
    assert raw.headers["openai-organization"] == "org-abc" and raw.headers["openai-project"] == "proj_xyz"


def test_json_is_pretty_printed_like_the_real_api(sbx: Any) -> None:
    resp = _raw(sbx, "/chat/completions", {"model": "gpt-4o-mini", "messages": HELLO})
    assert resp.headers["content-type"] == "application/json"
    assert resp.text.startswith('{\n  "id": "chatcmpl-')


def test_chat_is_deterministic(sbx_openai: Any) -> None:
    a = sbx_openai.chat.completions.create(model="gpt-4o", messages=HELLO)
    b = sbx_openai.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert a.id != b.id
    assert a.choices == b.choices and a.usage == b.usage


def test_tool_calls_and_tool_results(sbx_openai: Any) -> None:
    messages: list[Any] = [{"role": "user", "content": "What is the capital of the UK? Use the tool."}]
    resp = sbx_openai.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[CAPITAL_TOOL])
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.id.startswith("call_") and call.type == "function" and call.function.name == "get_capital"
    args = json.loads(call.function.arguments)
    jsonschema.validate(args, CAPITAL_TOOL["function"]["parameters"])
    messages += [choice.message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "London"}]
    answer = sbx_openai.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[CAPITAL_TOOL])
    assert answer.choices[0].finish_reason == "stop" and "London" in answer.choices[0].message.content


def test_named_tool_choice_reports_stop_like_openai(sbx_openai: Any) -> None:
    resp = sbx_openai.chat.completions.create(
        model="gpt-4o-mini", messages=HELLO, tools=[CAPITAL_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_capital"}})
    assert resp.choices[0].finish_reason == "stop" and resp.choices[0].message.tool_calls
    none = sbx_openai.chat.completions.create(model="gpt-4o-mini", messages=HELLO, tools=[CAPITAL_TOOL],
                                              tool_choice="none")
    assert none.choices[0].message.tool_calls is None


def test_response_formats(sbx_openai: Any) -> None:
    resp = sbx_openai.chat.completions.create(model="gpt-4o-mini", messages=HELLO, response_format={
        "type": "json_schema", "json_schema": {"name": "city", "schema": CITY_SCHEMA, "strict": True}})
    jsonschema.validate(json.loads(resp.choices[0].message.content), CITY_SCHEMA)
    obj = sbx_openai.chat.completions.create(model="gpt-4o-mini", messages=HELLO,
                                             response_format={"type": "json_object"})
    assert isinstance(json.loads(obj.choices[0].message.content), dict)


def test_n_max_tokens_and_stop(sbx_openai: Any) -> None:
    many = sbx_openai.chat.completions.create(model="gpt-4o-mini", messages=HELLO, n=3)
    assert [c.index for c in many.choices] == [0, 1, 2]
    assert len({c.message.content for c in many.choices}) > 1
    cut = sbx_openai.chat.completions.create(model="gpt-4o-mini", messages=HELLO, max_tokens=4)
    assert cut.choices[0].finish_reason == "length" and cut.usage.completion_tokens == 4
    cut2 = sbx_openai.chat.completions.create(model="gpt-4o-mini", messages=HELLO, max_completion_tokens=4)
    assert cut2.choices[0].message.content == cut.choices[0].message.content
    full = sbx_openai.chat.completions.create(model="gpt-4o-mini", messages=HELLO).choices[0].message.content
    word = full.split()[2]
    stopped = sbx_openai.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stop=[word])
    assert stopped.choices[0].message.content == full[: full.index(word)]


def test_reasoning_models(sbx_openai: Any) -> None:
    resp = sbx_openai.chat.completions.create(model="o3-mini", messages=HELLO)
    assert resp.usage.completion_tokens_details.reasoning_tokens > 0
    with pytest.raises(openai.BadRequestError) as info:
        sbx_openai.chat.completions.create(model="o3-mini", messages=HELLO, max_tokens=10)
    assert info.value.code == "unsupported_parameter" and info.value.param == "max_tokens"


def test_streaming_matches_non_streaming(sbx_openai: Any) -> None:
    full = sbx_openai.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    chunks = list(sbx_openai.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True,
                                                     stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == full.choices[0].message.content
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage == full.usage
    assert len({c.id for c in chunks}) == 1 and all(c.obfuscation for c in chunks)


def test_stream_wire_format(sbx: Any) -> None:
    resp = _raw(sbx, "/chat/completions", {"model": "gpt-4o-mini", "messages": HELLO, "stream": True})
    assert resp.headers["content-type"].startswith("text/event-stream")
    events = sse.decode(resp.content)
    assert events[-1].data == "[DONE]"
    assert all("usage" not in json.loads(e.data) for e in events[:-1])


def test_streaming_tool_calls(sbx_openai: Any) -> None:
    stream = sbx_openai.chat.completions.create(model="gpt-4o-mini", messages=[
        {"role": "user", "content": "capital of the UK?"}], tools=[CAPITAL_TOOL], stream=True)
    chunks = list(stream)
    first = chunks[0].choices[0].delta.tool_calls[0]
    assert first.function.name == "get_capital" and first.id.startswith("call_")
    args = "".join(c.choices[0].delta.tool_calls[0].function.arguments or "" for c in chunks
                   if c.choices and c.choices[0].delta.tool_calls)
    jsonschema.validate(json.loads(args), CAPITAL_TOOL["function"]["parameters"])
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_stream_helper_accumulates(sbx_openai: Any) -> None:
    with sbx_openai.chat.completions.stream(model="gpt-4o-mini", messages=HELLO) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content


async def test_async_client(sbx_async_openai: Any) -> None:
    resp = await sbx_async_openai.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    text = ""
    async for chunk in await sbx_async_openai.chat.completions.create(model="gpt-4o-mini", messages=HELLO,
                                                                       stream=True):
        text += chunk.choices[0].delta.content or "" if chunk.choices else ""
    assert text == resp.choices[0].message.content
    emb = await sbx_async_openai.embeddings.create(model="text-embedding-3-small", input="hi", dimensions=8)
    assert len(emb.data[0].embedding) == 8
    response = await sbx_async_openai.responses.create(model="gpt-4o", input="hi")
    assert response.output_text
    events = [e.type async for e in await sbx_async_openai.responses.create(model="gpt-4o", input="hi", stream=True)]
    assert events[-1] == "response.completed"
    with pytest.raises(openai.RateLimitError):
        await sbx_async_openai.chat.completions.create(model="sandbox-error-429", messages=HELLO)
    await sbx_async_openai.close()


# --- embeddings and models ----------------------------------------------------------------------------------------


def test_embeddings_float_base64_and_dimensions(sbx_openai: Any, sbx: Any) -> None:
    floats = _raw(sbx, "/embeddings", {"model": "text-embedding-3-small", "input": ["Hello, world!", "again"],
                                       "encoding_format": "float"}).json()
    assert floats["object"] == "list" and floats["model"] == "text-embedding-3-small"
    assert [d["index"] for d in floats["data"]] == [0, 1] and len(floats["data"][0]["embedding"]) == 1536
    assert floats["usage"] == {"prompt_tokens": 5, "total_tokens": 5}
    b64 = _raw(sbx, "/embeddings", {"model": "text-embedding-3-small", "input": ["Hello, world!", "again"],
                                    "encoding_format": "base64"}).json()
    decoded = struct.unpack("<1536f", base64.b64decode(b64["data"][0]["embedding"]))
    assert list(decoded) == floats["data"][0]["embedding"]
    # the SDK asks for base64 by default and decodes it itself
    sdk = sbx_openai.embeddings.create(model="text-embedding-3-small", input=["Hello, world!", "again"])
    assert sdk.data[0].embedding == floats["data"][0]["embedding"]
    small = sbx_openai.embeddings.create(model="text-embedding-3-large", input="x", dimensions=256)
    assert len(small.data[0].embedding) == 256
    with pytest.raises(openai.BadRequestError):
        sbx_openai.embeddings.create(model="text-embedding-ada-002", input="x", dimensions=256)


def test_models_list_and_retrieve(sbx_openai: Any) -> None:
    ids = [m.id for m in sbx_openai.models.list()]
    assert {"gpt-4o-mini", "text-embedding-3-small"} <= set(ids)
    assert sbx_openai.models.retrieve("gpt-4o").owned_by == "system"
    with pytest.raises(openai.NotFoundError):
        sbx_openai.models.retrieve("gpt-nope")


# --- responses API ------------------------------------------------------------------------------------------------


def test_responses_create(sbx_openai: Any) -> None:
    resp = sbx_openai.responses.create(model="gpt-4o", input="What is the capital of France?",
                                       instructions="Be brief.")
    assert resp.id.startswith("resp_") and resp.status == "completed" and resp.model == "gpt-4o-2024-08-06"
    assert resp.output[0].type == "message" and resp.output_text
    assert resp.instructions == "Be brief."
    usage = resp.usage
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.input_tokens_details.cached_tokens == 0 and usage.output_tokens_details.reasoning_tokens == 0


def test_responses_function_call_and_limits(sbx_openai: Any) -> None:
    tool = {"type": "function", "name": "get_capital", "parameters": CAPITAL_TOOL["function"]["parameters"],
            "strict": True}
    resp = sbx_openai.responses.create(model="gpt-4o", input="capital of Peru?", tools=[tool])
    (call,) = resp.output
    assert call.type == "function_call" and call.name == "get_capital" and call.call_id.startswith("call_")
    follow = sbx_openai.responses.create(model="gpt-4o", tools=[tool], input=[
        {"role": "user", "content": "capital of Peru?"}, call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": "Lima"}])
    assert "Lima" in follow.output_text
    short = sbx_openai.responses.create(model="gpt-4o", input="hi", max_output_tokens=16)
    assert short.status == "incomplete" and short.incomplete_details.reason == "max_output_tokens"
    with pytest.raises(openai.BadRequestError, match="max_output_tokens"):
        sbx_openai.responses.create(model="gpt-4o", input="hi", max_output_tokens=5)
    with pytest.raises(openai.BadRequestError, match="temperature"):
        sbx_openai.responses.create(model="gpt-4o", input="hi", temperature=-1)


def test_responses_stream(sbx_openai: Any, sbx: Any) -> None:
    full = sbx_openai.responses.create(model="gpt-4o", input="Stream it")
    events = list(sbx_openai.responses.create(model="gpt-4o", input="Stream it", stream=True))
    types = [e.type for e in events]
    assert types[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert types[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.completed"]
    assert set(types[4:-4]) == {"response.output_text.delta"}
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == full.output_text == events[-1].response.output_text
    raw = sse.decode(_raw(sbx, "/responses", {"model": "gpt-4o", "input": "x", "stream": True}).content)
    assert all(e.event == json.loads(e.data)["type"] for e in raw)


# --- errors -------------------------------------------------------------------------------------------------------


def test_authentication_errors(sbx: Any) -> None:
    missing = httpx.post(sbx.openai + "/chat/completions", json={"model": "gpt-4o", "messages": HELLO})
    assert missing.status_code == 401 and missing.json()["error"]["type"] == "invalid_request_error"
    client = openai.OpenAI(base_url=sbx.openai, api_key="not-a-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert info.value.code == "invalid_api_key" and "not-a-key" not in str(info.value)


def test_not_found_and_bad_request(sbx_openai: Any, sbx: Any) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        sbx_openai.chat.completions.create(model="gpt-5.2-proo", messages=HELLO)
    assert info.value.code == "model_not_found" and "gpt-5.2-proo" in info.value.message
    with pytest.raises(openai.BadRequestError) as bad:
        sbx_openai.chat.completions.create(model="gpt-4o", messages=[])
    assert bad.value.param == "messages"
    broken = _raw(sbx, "/chat/completions", b"{nope")
    assert broken.status_code == 400 and "could not parse the JSON body" in broken.json()["error"]["message"]
    url = _raw(sbx, "/nothing/here", {})
    assert url.status_code == 404 and url.json()["error"]["message"].startswith("Invalid URL")


@pytest.mark.parametrize(("status", "exc"), [
    (400, openai.BadRequestError), (401, openai.AuthenticationError), (403, openai.PermissionDeniedError),
    (404, openai.NotFoundError), (429, openai.RateLimitError), (500, openai.InternalServerError),
    (503, openai.InternalServerError),
])
def test_error_triggers(sbx_openai: Any, status: int, exc: type[Exception]) -> None:
    with pytest.raises(exc) as info:
        sbx_openai.chat.completions.create(model=f"sandbox-error-{status}", messages=HELLO)
    assert info.value.status_code == status
    body = info.value.body
    assert set(body) == {"message", "type", "param", "code"}
    with pytest.raises(exc):
        sbx_openai.embeddings.create(model="text-embedding-3-small", input="x",
                                     extra_headers={"x-replaykit-sandbox-error": str(status)})


def test_rate_limit_headers(sbx_openai: Any) -> None:
    with pytest.raises(openai.RateLimitError) as info:
        sbx_openai.chat.completions.create(model="sandbox-error-429", messages=HELLO)
    headers = info.value.response.headers
    assert headers["retry-after"] == "1" and headers["x-ratelimit-remaining-requests"] == "0"
    assert info.value.code == "rate_limit_exceeded"


def test_stream_cut(sbx_openai: Any, sbx: Any) -> None:
    got = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in sbx_openai.chat.completions.create(model="sandbox-stream-cut", messages=HELLO, stream=True):
            got.append(chunk)
    assert 0 < len(got) <= 3
    with pytest.raises(openai.APIConnectionError):
        list(sbx_openai.responses.create(model="gpt-4o", input="x", stream=True,
                                         extra_headers={"x-replaykit-sandbox-error": "stream-cut"}))
    # after a cut, the next request on the same client works
    assert sbx_openai.chat.completions.create(model="gpt-4o-mini", messages=HELLO).choices
