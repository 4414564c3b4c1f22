"""Bedrock Runtime: hosts, operations, volatile request fields, usage, and errors as Bedrock sends them.

The sandbox (``replaykit.sandbox.bedrock``) and fault injection (``replaykit.faults``) both answer with the error
messages, statuses and wire shapes defined here.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from replaykit.providers import aws
from replaykit.providers.deltas import StreamDelta

SERVICE = "bedrock-runtime"
HOST_RE = re.compile(r"^bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com$")

# fields that carry per-call metadata rather than what is being asked
VOLATILE_REQUEST_FIELDS: tuple[str, ...] = ("requestMetadata",)


# the message Bedrock sends with each modeled exception (when a caller names only the exception)
ERROR_MESSAGES = {
    "AccessDeniedException": "You don't have access to the model with the specified model ID.",
    "ConflictException": "The request could not be completed due to a conflict.",
    "InternalServerException": "The system encountered an unexpected error during processing. Try your request again.",
    "ModelErrorException": "The model returned an error while processing the request.",
    "ModelNotReadyException": "Model is not ready to serve inference requests. The AWS SDK will automatically retry "
    "the operation up to 5 times.",
    "ModelStreamErrorException": "The model stream returned an error.",
    "ModelTimeoutException": "Model has timed out in processing the request. Try your request again.",
    "ResourceNotFoundException": "Could not resolve the foundation model from the provided model identifier.",
    "ServiceQuotaExceededException": "Your request exceeds the service quota for your account. You can view your "
    "quotas at Viewing service quotas. You can resubmit your request later.",
    "ServiceUnavailableException": "Bedrock is unable to process your request.",
    "ThrottlingException": "Too many requests, please wait before trying again.",
    "ValidationException": "The provided request is not valid.",
}
# the message of each exception event inside a ConverseStream / InvokeModelWithResponseStream stream
STREAM_EXCEPTION_MESSAGES = {
    "internalServerException": "The system encountered an unexpected error during processing.",
    "modelStreamErrorException": "The model stream was interrupted by an internal error.",
    "modelTimeoutException": "Model has timed out in processing the request.",
    "serviceUnavailableException": "Bedrock is unable to process your request.",
    "throttlingException": "Too many tokens, please wait before trying again.",
    "validationException": "The stream failed validation.",
}
# status -> the exception Bedrock sends with it (the default when only a status is named)
ERROR_BY_STATUS = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
_ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"

_CONVERSE_DELTA = (("event", "contentBlockDelta"),)
_CHUNK = (("event", "chunk"),)
_ANTHROPIC_CHUNK_DELTA = (*_CHUNK, ("json.bytes_json.type", "content_block_delta"))
# the stream events whose fragments join into one text: ConverseStream's contentBlockDelta (one text per
# contentBlockIndex) and InvokeModelWithResponseStream chunks carrying Anthropic Messages content_block_delta
# events (one text per content block index). Signatures and redacted reasoning are opaque, sent whole; citations
# and images arrive whole too (tests/unit/test_stream_view.py checks this against botocore's ContentBlockDelta).
STREAM_DELTAS: tuple[StreamDelta, ...] = (
    StreamDelta("eventstream", "json.delta.text", _CONVERSE_DELTA, ("json.contentBlockIndex",)),
    StreamDelta("eventstream", "json.delta.toolUse.input", _CONVERSE_DELTA, ("json.contentBlockIndex",)),
    StreamDelta("eventstream", "json.delta.reasoningContent.text", _CONVERSE_DELTA, ("json.contentBlockIndex",)),
    StreamDelta("eventstream", "json.delta.toolResult[index].text", _CONVERSE_DELTA, ("json.contentBlockIndex",)),
    StreamDelta("eventstream", "json.bytes_json.delta.text", _ANTHROPIC_CHUNK_DELTA, ("json.bytes_json.index",)),
    StreamDelta(
        "eventstream", "json.bytes_json.delta.partial_json", _ANTHROPIC_CHUNK_DELTA, ("json.bytes_json.index",)
    ),
    StreamDelta("eventstream", "json.bytes_json.delta.thinking", _ANTHROPIC_CHUNK_DELTA, ("json.bytes_json.index",)),
    # the other families' InvokeModelWithResponseStream chunks (the sandbox's native streams have the same shapes):
    # Nova gives every text delta a content block of its own, so its text deltas form one text whatever the index
    StreamDelta("eventstream", "json.bytes_json.contentBlockDelta.delta.text", _CHUNK),
    StreamDelta(
        "eventstream",
        "json.bytes_json.contentBlockDelta.delta.toolUse.input",
        _CHUNK,
        ("json.bytes_json.contentBlockDelta.contentBlockIndex",),
    ),
    StreamDelta("eventstream", "json.bytes_json.outputText", _CHUNK),  # Titan Text
    StreamDelta("eventstream", "json.bytes_json.generation", _CHUNK),  # Llama
    StreamDelta("eventstream", "json.bytes_json.outputs[index].text", _CHUNK),  # Mistral
    StreamDelta("eventstream", "json.bytes_json.choices[index].text", _CHUNK),  # DeepSeek
)


@functools.cache
def error_statuses() -> dict[str, int]:
    """Modeled exception name -> HTTP status, from botocore's service model."""
    model = aws.service_model(SERVICE)
    names = {e.name for op in model.operation_names for e in model.operation_model(op).error_shapes}
    return {n: int(model.shape_for(n).metadata.get("error", {}).get("httpStatusCode", 400)) for n in sorted(names)}


@functools.cache
def stream_exception_types() -> tuple[str, ...]:
    """``:exception-type`` names botocore models inside the Converse and InvokeModel event streams."""
    model = aws.service_model(SERVICE)
    names: set[str] = set()
    for shape in ("ConverseStreamOutput", "ResponseStream"):
        names |= {k for k, v in model.shape_for(shape).members.items() if v.metadata.get("exception")}
    return tuple(sorted(names))


def error_headers(error_type: str) -> dict[str, str]:
    """The headers that make an error response Bedrock's (botocore reads the type from ``x-amzn-ErrorType``)."""
    return {"Content-Type": "application/json", "x-amzn-ErrorType": f"{error_type}:{_ERROR_NAMESPACE}"}


def error_body(error_type: str, message: str | None = None, **extra: Any) -> bytes:
    """The ``{"message": ...}`` body of a Bedrock error."""
    body = {"message": message or ERROR_MESSAGES.get(error_type, error_type), **extra}
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def stream_exception(name: str, message: str | None = None, **extra: Any) -> tuple[dict[str, str], dict[str, Any]]:
    """(event-stream headers, JSON payload) of an exception event inside a Bedrock stream."""
    headers = {":exception-type": name, ":content-type": "application/json", ":message-type": "exception"}
    return headers, {"message": message or STREAM_EXCEPTION_MESSAGES.get(name, name), **extra}


def canonical_host(region: str) -> str:
    """The real endpoint host for a region."""
    return f"bedrock-runtime.{region}.amazonaws.com"


def model_id(uri: str) -> str | None:
    """The model id (or ARN) a Bedrock Runtime request addresses: the ``/model/<id>/...`` path segment."""
    # split the quoted path: an ARN model id carries '/' as %2F
    parts = urlsplit(uri).path.split("/")
    if len(parts) >= 3 and parts[1] == "model":
        return unquote(parts[2])
    return None


def operation(method: str, path: str, query: str) -> str:
    """``bedrock-runtime.<Operation>`` from botocore's routes; unknown paths fall back to ``http.<METHOD>``."""
    name = aws.operation_name(SERVICE, method, path, query)
    return f"{SERVICE}.{name}" if name else f"http.{method}"


def usage(operation: str, request: Any, response: Any, events: list[dict[str, Any]] | None) -> dict[str, int]:
    """Token usage of one exchange: Converse usage, stream metadata, or the model family's native body."""
    found: dict[str, int] = {}
    # Converse names its counters inputTokens/outputTokens; Anthropic's native body also has a `usage` dict
    if isinstance(response, dict) and isinstance(response.get("usage"), dict) and "inputTokens" in response["usage"]:
        found.update(_converse_usage(response["usage"]))
    for ev in events or []:
        payload = ev.get("json") or {}
        if ev.get("event") == "metadata" and isinstance(payload.get("usage"), dict):
            found.update(_converse_usage(payload["usage"]))
        inner = payload.get("bytes_json") if isinstance(payload, dict) else None
        if isinstance(inner, dict):
            metrics = inner.get("amazon-bedrock-invocationMetrics")
            if isinstance(metrics, dict):
                found["input_tokens"] = int(metrics.get("inputTokenCount", 0))
                found["output_tokens"] = int(metrics.get("outputTokenCount", 0))
    if not found and isinstance(response, dict):
        found.update(_native_usage(response))
    return found


def _converse_usage(u: dict[str, Any]) -> dict[str, int]:
    out = {"input_tokens": int(u.get("inputTokens", 0)), "output_tokens": int(u.get("outputTokens", 0))}
    if u.get("cacheReadInputTokens"):
        out["cache_read_tokens"] = int(u["cacheReadInputTokens"])
    if u.get("cacheWriteInputTokens"):
        out["cache_write_tokens"] = int(u["cacheWriteInputTokens"])
    return out


def _native_usage(body: dict[str, Any]) -> dict[str, int]:
    u = body.get("usage")
    if isinstance(u, dict) and "input_tokens" in u:  # Anthropic Messages
        out = {"input_tokens": int(u.get("input_tokens", 0)), "output_tokens": int(u.get("output_tokens", 0))}
        if u.get("cache_read_input_tokens"):
            out["cache_read_tokens"] = int(u["cache_read_input_tokens"])
        if u.get("cache_creation_input_tokens"):
            out["cache_write_tokens"] = int(u["cache_creation_input_tokens"])
        return out
    if "prompt_token_count" in body:  # Meta Llama
        return {
            "input_tokens": int(body["prompt_token_count"]),
            "output_tokens": int(body.get("generation_token_count", 0)),
        }
    if "inputTextTokenCount" in body:  # Titan text / embeddings
        results = body.get("results") or []
        out_tokens = sum(int(r.get("tokenCount", 0)) for r in results if isinstance(r, dict))
        return {"input_tokens": int(body["inputTextTokenCount"]), "output_tokens": out_tokens}
    return {}
