"""Bedrock Runtime: hosts, operations, volatile request fields, and usage as Bedrock reports it."""

from __future__ import annotations

import re
from typing import Any

from replaykit.providers import aws

SERVICE = "bedrock-runtime"
HOST_RE = re.compile(r"^bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com$")

# fields that carry per-call metadata rather than what is being asked
VOLATILE_REQUEST_FIELDS: tuple[str, ...] = ("requestMetadata",)


def canonical_host(region: str) -> str:
    """The real endpoint host for a region."""
    return f"bedrock-runtime.{region}.amazonaws.com"


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
