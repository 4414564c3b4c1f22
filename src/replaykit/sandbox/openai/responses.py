"""OpenAI wire format: pretty JSON bodies, SSE streams, rate-limit and request-id headers, error bodies."""

from __future__ import annotations

import functools
import json
import random
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from replaykit.codecs import sse
from replaykit.sandbox import _text
from replaykit.sandbox._http import ERROR_HEADER, VALIDATION_HEADER, Reply, Request, http_date, json_bytes
from replaykit.sandbox.openai import models, responses_api
from replaykit.sandbox.openai.models import OpenAIError

_LIMIT_REQUESTS = 10_000
_LIMIT_TOKENS = 30_000_000
_MISSING_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using "
    "Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if "
    "you're accessing the API from your browser and are prompted for a username and password. You can "
    "obtain an API key from https://platform.openai.com/account/api-keys."
)


def _headers(
    req: Request, content_type: str, tokens: int = 0, remaining_requests: int | None = None
) -> list[tuple[str, str]]:
    remaining = _LIMIT_REQUESTS - 1 if remaining_requests is None else remaining_requests
    headers = [
        ("Date", http_date()),
        ("Content-Type", content_type),
        ("access-control-expose-headers", "X-Request-ID"),
        ("openai-processing-ms", str(random.randint(90, 700))),
        ("openai-version", "2020-10-01"),
        ("x-ratelimit-limit-requests", str(_LIMIT_REQUESTS)),
        ("x-ratelimit-limit-tokens", str(_LIMIT_TOKENS)),
        ("x-ratelimit-remaining-requests", str(remaining)),
        ("x-ratelimit-remaining-tokens", str(max(0, _LIMIT_TOKENS - tokens) if remaining else 0)),
        ("x-ratelimit-reset-requests", "6ms" if remaining else "120ms"),
        ("x-ratelimit-reset-tokens", "0s"),
        ("x-request-id", "req_" + secrets.token_hex(16)),
    ]
    # the real API names the caller's organization/project only when the request selected one
    for sent, returned in (("openai-organization", "openai-organization"), ("openai-project", "openai-project")):
        value = req.header(sent)
        if value:
            headers.append((returned, value))
    return headers


def error_reply(req: Request, err: OpenAIError) -> Reply:
    """An error response with OpenAI's body and headers (429 adds retry-after and exhausted limits)."""
    headers = _headers(req, "application/json; charset=utf-8", remaining_requests=0 if err.status == 429 else None)
    if err.status == 429:
        headers.append(("retry-after", "1"))
    if err.input_field:
        headers.append((VALIDATION_HEADER, err.input_field))
    # error bodies are indented by four spaces (success bodies by two), with a trailing newline
    body = json.dumps(err.body(), indent=4, ensure_ascii=False).encode("utf-8") + b"\n"
    return Reply(err.status, headers, body)


def _check_auth(req: Request) -> None:
    auth = req.header("authorization") or ""
    if not auth.startswith("Bearer ") or not auth[7:].strip():
        raise OpenAIError(401, _MISSING_KEY, "invalid_request_error", None, None)
    key = auth[7:].strip()
    if not key.startswith("sk-"):
        masked = key[:3] + "*" * max(0, len(key) - 7) + key[-4:]
        raise OpenAIError(
            401,
            f"Incorrect API key provided: {masked}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            None,
            "invalid_api_key",
        )


def _forced(req: Request) -> str | None:
    """The trigger header's value: a status code or ``stream-cut``."""
    value = (req.header(ERROR_HEADER) or "").strip()
    if value.isdigit():
        raise models.triggered_error(int(value))
    return value or None


def _body(req: Request) -> Any:
    try:
        return req.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise models.invalid(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
            "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
            "sent was not valid JSON. If you have trouble figuring out how to fix this, please "
            "contact us through our help center at help.openai.com.)"
        ) from exc


def handles_errors(fn: Callable[[Request], Reply]) -> Callable[[Request], Reply]:
    """Check the API key and the trigger header, and turn OpenAIError into OpenAI's error response."""

    @functools.wraps(fn)
    def wrapper(req: Request) -> Reply:
        try:
            _check_auth(req)
            return fn(req)
        except OpenAIError as err:
            return error_reply(req, err)

    return wrapper


def _json(req: Request, body: Any, tokens: int = 0, extra: list[tuple[str, str]] | None = None) -> Reply:
    return Reply(200, _headers(req, "application/json", tokens) + (extra or []), json_bytes(body, pretty=True))


def _sse(req: Request, events: list[sse.Event], tokens: int, cut: bool = False) -> Reply:
    if cut:
        # a dropped connection: a few events, no [DONE], no end of the chunked body
        events = events[:3]
    chunks = [sse.encode([e]) for e in events]
    return Reply(200, _headers(req, "text/event-stream; charset=utf-8", tokens), chunks=chunks, cut=cut)


@handles_errors
def chat_completions(req: Request) -> Reply:
    """POST /v1/chat/completions (JSON or SSE)."""
    forced = _forced(req)
    body = _body(req)
    result = models.chat(body)
    cid, created = models.random_id("chatcmpl-"), int(time.time())
    fp = models.fingerprint(result.model)
    tokens = result.usage["total_tokens"]
    if not body.get("stream"):
        choices = []
        for i, (plan, finish) in enumerate(zip(result.plans, result.finish, strict=True)):
            message: dict[str, Any] = {
                "role": "assistant",
                "content": plan.text if not plan.tool_calls else None,
                "refusal": None,
                "annotations": [],
            }
            if plan.tool_calls:
                message["tool_calls"] = models.tool_calls(plan)
            logprobs = models.logprobs_for(plan.text) if result.logprobs and not plan.tool_calls else None
            choices.append({"index": i, "message": message, "logprobs": logprobs, "finish_reason": finish})
        doc = {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": result.model,
            "choices": choices,
            "usage": result.usage,
            "service_tier": "default",
            "system_fingerprint": fp,
        }
        return _json(req, req.profile.apply_response("openai.chat.completions", doc), tokens)
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    head = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": result.model,
        "service_tier": "default",
        "system_fingerprint": fp,
    }
    chunks: list[dict[str, Any]] = []

    def chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> None:
        doc: dict[str, Any] = {
            **head,
            "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            doc["usage"] = None
        chunks.append(doc)

    for i, (plan, finish) in enumerate(zip(result.plans, result.finish, strict=True)):
        if plan.tool_calls:
            calls = models.tool_calls(plan)
            for k, call in enumerate(calls):
                opening = {
                    "index": k,
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": call["function"]["name"], "arguments": ""},
                }
                first = {"role": "assistant", "content": None, "tool_calls": [opening], "refusal": None}
                chunk(i, first if k == 0 else {"tool_calls": [opening]})
                raw = call["function"]["arguments"]
                for piece in _text.split_json(raw, len(raw)):
                    chunk(i, {"tool_calls": [{"index": k, "function": {"arguments": piece}}]})
        else:
            chunk(i, {"role": "assistant", "content": "", "refusal": None})
            for piece in _text.split_deltas(plan.text, _text.seed_of(plan.text, i)):
                chunk(i, {"content": piece})
        chunk(i, {}, finish)
    if include_usage:
        chunks.append({**head, "choices": [], "usage": result.usage})
    seed = _text.seed_of(result.model, body.get("messages"))
    for n, doc in enumerate(chunks):
        doc["obfuscation"] = _text.obfuscation(seed, n)
    changed = req.profile.apply_stream("openai.chat.completions", [(None, c) for c in chunks])
    events = [sse.Event(json.dumps(c, separators=(",", ":"), ensure_ascii=False)) for _, c in changed]
    cut = forced == "stream-cut" or body.get("model") == models.STREAM_CUT_MODEL
    return _sse(req, events + [sse.Event("[DONE]")], tokens, cut)


@handles_errors
def embeddings(req: Request) -> Reply:
    """POST /v1/embeddings."""
    _forced(req)
    doc = models.embeddings(_body(req))
    doc = req.profile.apply_response("openai.embeddings", doc)
    return _json(req, doc, doc["usage"]["total_tokens"], [("openai-model", str(doc.get("model", "")))])


@handles_errors
def list_models(req: Request) -> Reply:
    """GET /v1/models."""
    _forced(req)
    doc = {"object": "list", "data": [models.model_object(m) for m in models.catalogue()]}
    return _json(req, req.profile.apply_response("openai.models.list", doc))


@handles_errors
def retrieve_model(req: Request) -> Reply:
    """GET /v1/models/{model}."""
    _forced(req)
    name = unquote(req.params["model"])
    if not models.known_model(name):
        raise OpenAIError(
            404, f"The model '{name}' does not exist", "invalid_request_error", "model", "model_not_found"
        )
    return _json(req, req.profile.apply_response("openai.models.retrieve", models.model_object(name)))


@handles_errors
def responses(req: Request) -> Reply:
    """POST /v1/responses (JSON or typed SSE events)."""
    forced = _forced(req)
    body = _body(req)
    doc = responses_api.create(body)
    tokens = doc["usage"]["total_tokens"]
    if not body.get("stream"):
        return _json(req, req.profile.apply_response("openai.responses", doc), tokens)
    events = req.profile.apply_stream("openai.responses", list(responses_api.stream_events(doc)))
    events = responses_api.sequence(events)
    encoded = [sse.Event(json.dumps(p, separators=(",", ":"), ensure_ascii=False), event=n) for n, p in events]
    cut = forced == "stream-cut" or body.get("model") == models.STREAM_CUT_MODEL
    return _sse(req, encoded, tokens, cut)


def not_found(req: Request) -> Reply:
    """Unknown /v1 path: OpenAI's invalid URL error."""
    err = OpenAIError(404, f"Invalid URL ({req.method} {req.path})", "invalid_request_error", None, None)
    return error_reply(req, err)
