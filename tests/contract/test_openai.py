"""The project's OpenAI contract suite: the real openai SDK (httpx2 transport), sync and async."""

from __future__ import annotations

import json

import openai
import pytest

MODEL = "gpt-4o-mini"


def test_chat_completion(openai_client):
    resp = openai_client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Say hi."}])
    assert resp.object == "chat.completion"
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].message.content
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens


def test_chat_tools(openai_client):
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    resp = openai_client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Weather in Oslo?"}], tools=tools, tool_choice="required")
    call = resp.choices[0].message.tool_calls[0]
    assert resp.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather"
    assert "city" in json.loads(call.function.arguments)


def test_chat_json_mode(openai_client):
    resp = openai_client.chat.completions.create(
        model=MODEL, response_format={"type": "json_object"},
        messages=[{"role": "user", "content": "Give me a JSON object with a colour."}])
    assert isinstance(json.loads(resp.choices[0].message.content), dict)


def test_chat_stream_with_usage(openai_client):
    stream = openai_client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Count to three."}], stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0
    assert any(c.choices and c.choices[0].finish_reason == "stop" for c in chunks)


async def test_chat_async(async_openai_client):
    resp = await async_openai_client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Say hi asynchronously."}])
    assert resp.choices[0].message.content


async def test_chat_async_stream(async_openai_client):
    stream = await async_openai_client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Stream asynchronously."}], stream=True)
    parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(parts).strip()


def test_embeddings_float_and_base64(openai_client):
    floats = openai_client.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"])
    assert len(floats.data) == 2 and len(floats.data[0].embedding) > 8
    b64 = openai_client.embeddings.create(model="text-embedding-3-small", input="alpha", encoding_format="base64")
    assert b64.data[0].embedding


def test_models_list(openai_client):
    models = openai_client.models.list()
    assert any(m.id == MODEL for m in models.data)


def test_responses(openai_client):
    resp = openai_client.responses.create(model=MODEL, input="Say hello in French.")
    assert resp.status == "completed"
    assert resp.output_text


def test_responses_stream(openai_client):
    events = list(openai_client.responses.create(model=MODEL, input="Stream a greeting.", stream=True))
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta").strip()


def test_error_401(openai_client):
    bad = openai_client.with_options(api_key="invalid-key")
    with pytest.raises(openai.AuthenticationError) as info:
        bad.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 401


def test_error_404(openai_client):
    with pytest.raises(openai.NotFoundError) as info:
        openai_client.chat.completions.create(model="gpt-does-not-exist", messages=[{"role": "user", "content": "x"}])
    assert info.value.body["code"] == "model_not_found"


def test_error_429(openai_client):
    with pytest.raises(openai.RateLimitError) as info:
        openai_client.chat.completions.create(model="sandbox-error-429", messages=[{"role": "user", "content": "x"}])
    assert info.value.response.headers.get("retry-after")
