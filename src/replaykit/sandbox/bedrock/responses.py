"""Bedrock Runtime wire format: restJson1 bodies and errors, SigV4 header checks, event stream framing."""

from __future__ import annotations

import base64
import functools
import json
import random
import re
import uuid
from collections.abc import Callable
from typing import Any

from replaykit.codecs import eventstream
from replaykit.providers import bedrock as bedrock_provider
from replaykit.sandbox import _text
from replaykit.sandbox._http import ERROR_HEADER, VALIDATION_HEADER, Reply, Request, http_date
from replaykit.sandbox.bedrock import models, native
from replaykit.sandbox.bedrock.models import BedrockError, Model

_SIGV4_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<akid>[A-Za-z0-9]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/bedrock/aws4_request,"
    r"\s*SignedHeaders=(?P<signed>[a-z0-9;-]+),\s*Signature=(?P<sig>[0-9a-f]{64})$"
)
_BEARER_RE = re.compile(r"^Bearer \S+$")


def _base_headers(content_type: str = "application/json") -> list[tuple[str, str]]:
    return [("Date", http_date()), ("Content-Type", content_type), ("x-amzn-RequestId", str(uuid.uuid4()))]


def error_reply(err: BedrockError) -> Reply:
    """An error exactly as Bedrock sends it: status, ``x-amzn-ErrorType`` and a ``{"message"}`` body."""
    headers = [h for h in _base_headers() if h[0] != "Content-Type"]
    headers += list(bedrock_provider.error_headers(err.code).items())
    if err.input_field:
        headers.append((VALIDATION_HEADER, err.input_field))
    return Reply(err.status, headers, bedrock_provider.error_body(err.code, err.message, **err.extra))


def _json_reply(body: Any, extra: list[tuple[str, str]] | None = None) -> Reply:
    # Bedrock's JSON serializer writes members in sorted order
    data = json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")
    return Reply(200, _base_headers() + (extra or []), data)


def _check_auth(req: Request) -> str:
    """The signing region; raises AccessDeniedException for a missing or malformed Authorization header."""
    auth = req.header("authorization")
    if not auth:
        raise BedrockError("AccessDeniedException", "Missing Authentication Token")
    if _BEARER_RE.match(auth):
        return "us-east-1"
    match = _SIGV4_RE.match(auth)
    if not match:
        raise BedrockError(
            "AccessDeniedException",
            "Invalid Authorization header: expected 'AWS4-HMAC-SHA256 "
            "Credential=<access key>/<yyyymmdd>/<region>/bedrock/aws4_request, SignedHeaders=<names>, "
            "Signature=<64 hex digits>'.",
        )
    return match.group("region")


def _triggered(model: Model, req: Request, streaming: bool) -> tuple[str | None, str | None]:
    """(HTTP error name, mid-stream exception type) requested by the model id or the trigger header."""
    http_error, stream_error = model.error, model.stream_error
    forced = req.header(ERROR_HEADER)
    if forced:
        if forced[:1].islower() and streaming:
            stream_error = forced
        else:
            http_error = forced[:1].upper() + forced[1:]
    if http_error and http_error not in models.error_statuses():
        raise models.validation(
            f"Unknown sandbox error trigger {http_error!r}; use one of: {', '.join(models.error_statuses())}."
        )
    if stream_error and stream_error not in models.stream_exception_types():
        raise models.validation(
            f"Unknown sandbox stream error trigger {stream_error!r}; use one of: "
            f"{', '.join(models.stream_exception_types())}."
        )
    return http_error, stream_error


def _prepare(req: Request, streaming: bool) -> tuple[Model, str, str | None]:
    region = _check_auth(req)
    model = models.resolve_model(req.params["model_id"])
    http_error, stream_error = _triggered(model, req, streaming)
    if http_error:
        raise BedrockError(http_error)
    return model, region, stream_error


def _body(req: Request) -> Any:
    try:
        return req.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise models.validation("Malformed request body: the body is not valid JSON.") from exc


def handles_errors(fn: Callable[[Request], Reply]) -> Callable[[Request], Reply]:
    """Turn BedrockError raised by a handler into Bedrock's error response."""

    @functools.wraps(fn)
    def wrapper(req: Request) -> Reply:
        try:
            return fn(req)
        except BedrockError as err:
            return error_reply(err)

    return wrapper


def _latency(tokens: int) -> int:
    return 180 + tokens * 6 + random.randint(0, 120)


@handles_errors
def converse(req: Request) -> Reply:
    """POST /model/{modelId}/converse."""
    model, region, _ = _prepare(req, streaming=False)
    body = _body(req)
    models.validate_converse(model, body)
    out = models.converse(model, body, region)
    doc: dict[str, Any] = {
        "output": {"message": {"role": "assistant", "content": out.content}},
        "stopReason": out.stop_reason,
        "usage": out.usage,
        "metrics": {"latencyMs": _latency(out.usage["outputTokens"])},
    }
    if out.trace:
        doc["trace"] = out.trace
    doc.update(out.extras)
    return _json_reply(req.profile.apply_response("bedrock-runtime.Converse", doc))


def _event(name: str, payload: dict[str, Any], seed: int, index: int) -> eventstream.Message:
    payload = {**payload, "p": _text.padding(seed, index)}
    data = json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")
    headers = {":event-type": name, ":content-type": "application/json", ":message-type": "event"}
    return eventstream.Message(headers, data)


def _exception(name: str) -> eventstream.Message:
    headers, payload = bedrock_provider.stream_exception(name)
    return eventstream.Message(headers, json.dumps(payload, separators=(",", ":")).encode())


def _stream_reply(messages: list[eventstream.Message], extra: list[tuple[str, str]] | None = None) -> Reply:
    chunks = [eventstream.encode_message(m) for m in messages]
    return Reply(200, _base_headers(eventstream.CONTENT_TYPE) + (extra or []), chunks=chunks)


def _cut_for_error(events: list[Any], stream_error: str | None) -> tuple[list[Any], str | None]:
    # a mid-stream failure: the first few events go out, then the exception frame, nothing after it
    return (events[: min(3, len(events))], stream_error) if stream_error else (events, None)


@handles_errors
def converse_stream(req: Request) -> Reply:
    """POST /model/{modelId}/converse-stream."""
    model, region, stream_error = _prepare(req, streaming=True)
    body = _body(req)
    models.validate_converse(model, body)
    out = models.converse(model, body, region)
    events: list[tuple[str | None, Any]] = [("messageStart", {"role": "assistant"})]
    for index, block in enumerate(out.content):
        events += _block_events(index, block, out.seed)
    stop: dict[str, Any] = {"stopReason": out.stop_reason}
    events.append(("messageStop", stop))
    usage = dict(out.usage)
    if not usage.get("cacheReadInputTokens") and not usage.get("cacheWriteInputTokens"):
        # Claude streams report cache counters only when the prompt uses cache points (non-streaming always does)
        usage.pop("cacheReadInputTokens", None)
        usage.pop("cacheWriteInputTokens", None)
    metadata: dict[str, Any] = {"usage": usage, "metrics": {"latencyMs": _latency(out.usage["outputTokens"])}}
    if out.trace:
        metadata["trace"] = out.trace
    metadata.update(out.extras)
    events.append(("metadata", metadata))
    events = req.profile.apply_stream("bedrock-runtime.ConverseStream", events)
    events, failure = _cut_for_error(events, stream_error)
    messages = [_event(str(name), payload, out.seed, i) for i, (name, payload) in enumerate(events)]
    if failure:
        messages.append(_exception(failure))
    return _stream_reply(messages)


def _block_events(index: int, block: dict[str, Any], seed: int) -> list[tuple[str | None, Any]]:
    events: list[tuple[str | None, Any]] = []
    if "toolUse" in block:
        use = block["toolUse"]
        start = {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}}
        events.append(("contentBlockStart", {"contentBlockIndex": index, "start": start}))
        raw = json.dumps(use["input"])
        pieces = [""] + _text.split_json(raw, _text.seed_of(seed, index))
        events += [
            ("contentBlockDelta", {"contentBlockIndex": index, "delta": {"toolUse": {"input": p}}}) for p in pieces
        ]
    elif "reasoningContent" in block:
        reasoning = block["reasoningContent"]["reasoningText"]
        for piece in _text.split_deltas(reasoning["text"], _text.seed_of(seed, index)):
            events.append(
                ("contentBlockDelta", {"contentBlockIndex": index, "delta": {"reasoningContent": {"text": piece}}})
            )
        if "signature" in reasoning:
            events.append(
                (
                    "contentBlockDelta",
                    {"contentBlockIndex": index, "delta": {"reasoningContent": {"signature": reasoning["signature"]}}},
                )
            )
    else:
        for piece in _text.split_deltas(block.get("text", ""), _text.seed_of(seed, index)):
            events.append(("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": piece}}))
    events.append(("contentBlockStop", {"contentBlockIndex": index}))
    return events


def _native_request(req: Request, model: Model) -> native.NativeRequest:
    try:
        body = json.loads(req.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise models.validation(
            "Malformed input request: Expected a JSON object, please reformat your input and try again."
        ) from exc
    return native.parse(model, body)


def _echo_headers(req: Request) -> list[tuple[str, str]]:
    out = []
    for name in ("X-Amzn-Bedrock-Service-Tier", "X-Amzn-Bedrock-PerformanceConfig-Latency"):
        value = req.header(name)
        if value:
            out.append((name, value))
    return out


@handles_errors
def invoke(req: Request) -> Reply:
    """POST /model/{modelId}/invoke."""
    model, _, _ = _prepare(req, streaming=False)
    parsed = _native_request(req, model)
    body, input_tokens, output_tokens = native.response(model, parsed)
    body = req.profile.apply_response("bedrock-runtime.InvokeModel", body)
    headers = [
        ("X-Amzn-Bedrock-Invocation-Latency", str(_latency(output_tokens or 0))),
        ("X-Amzn-Bedrock-Input-Token-Count", str(input_tokens)),
    ]
    if output_tokens is not None:
        headers.append(("X-Amzn-Bedrock-Output-Token-Count", str(output_tokens)))
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return Reply(200, _base_headers() + headers + _echo_headers(req), data)


@handles_errors
def invoke_stream(req: Request) -> Reply:
    """POST /model/{modelId}/invoke-with-response-stream."""
    model, _, stream_error = _prepare(req, streaming=True)
    parsed = _native_request(req, model)
    chunks, input_tokens, output_tokens = native.stream_chunks(model, parsed)
    latency = _latency(output_tokens)
    metrics: dict[str, Any] = {
        "inputTokenCount": input_tokens,
        "outputTokenCount": output_tokens,
        "invocationLatency": latency,
        "firstByteLatency": latency // 2,
    }
    if parsed.family == "nova":
        metrics.update({"cacheReadInputTokenCount": 0, "cacheWriteInputTokenCount": 0})
    chunks[-1]["amazon-bedrock-invocationMetrics"] = metrics
    events = req.profile.apply_stream("bedrock-runtime.InvokeModelWithResponseStream", [("chunk", c) for c in chunks])
    events, failure = _cut_for_error(events, stream_error)
    seed = _text.seed_of(req.params["model_id"], req.body.decode("utf-8", "replace"))
    messages = []
    for i, (_, inner) in enumerate(events):
        raw = json.dumps(inner, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        messages.append(_event("chunk", {"bytes": base64.b64encode(raw).decode()}, seed, i))
    if failure:
        messages.append(_exception(failure))
    extra = [("X-Amzn-Bedrock-Content-Type", "application/json")] + _echo_headers(req)
    return _stream_reply(messages, extra)


@handles_errors
def count_tokens(req: Request) -> Reply:
    """POST /model/{modelId}/count-tokens."""
    model, _, _ = _prepare(req, streaming=False)
    return _json_reply({"inputTokens": native.count_tokens(model, _body(req))})


def not_found(req: Request) -> Reply:
    """Any other path: AWS's unknown-operation error."""
    return error_reply(BedrockError("ResourceNotFoundException", f"Unknown operation {req.method} {req.path}"))
