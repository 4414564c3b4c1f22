"""OpenAI: host, operations named after the endpoint, volatile request fields, usage incl. cached/reasoning."""

from __future__ import annotations

import re
from typing import Any

HOST = "api.openai.com"
VOLATILE_REQUEST_FIELDS: tuple[str, ...] = ("user", "metadata", "safety_identifier", "prompt_cache_key")

_ID_SEGMENT = re.compile(r"^(?:[a-z]+[-_][A-Za-z0-9_-]{6,}|[A-Za-z0-9_-]{20,})$")
_RETRIEVE = {"models": "models.retrieve", "files": "files.retrieve", "batches": "batches.retrieve"}


def operation(method: str, path: str) -> str:
    """``openai.<name>``: the path after /v1 with ``/`` → ``.`` (ids dropped); GET /v1/models is ``models.list``."""
    parts = [p for p in path.split("/") if p]
    if parts and parts[0] == "v1":
        parts = parts[1:]
    if not parts:
        return f"http.{method}"
    if method == "GET" and len(parts) == 1:
        return f"openai.{parts[0]}.list"
    if method == "GET" and len(parts) == 2 and parts[0] in _RETRIEVE:
        return f"openai.{_RETRIEVE[parts[0]]}"
    named = [p for p in parts if not _ID_SEGMENT.match(p) and ":" not in p]
    return "openai." + ".".join(named or parts[:1])


def usage(response: Any, events: list[dict[str, Any]] | None) -> dict[str, int]:
    """Token usage from a JSON body or the usage carried by the last stream event that has one."""
    candidates: list[Any] = []
    if isinstance(response, dict):
        candidates.append(response.get("usage"))
    for ev in events or []:
        data = ev.get("data")
        if isinstance(data, dict):
            candidates.append(data.get("usage"))
            inner = data.get("response")
            if isinstance(inner, dict):
                candidates.append(inner.get("usage"))
    found: dict[str, int] = {}
    for u in candidates:
        if isinstance(u, dict):
            found = _read(u) or found
    return found


def _read(u: dict[str, Any]) -> dict[str, int]:
    inp = u.get("prompt_tokens", u.get("input_tokens"))
    out = u.get("completion_tokens", u.get("output_tokens", 0))
    if inp is None:
        return {}
    result = {"input_tokens": int(inp), "output_tokens": int(out or 0)}
    details_in = u.get("prompt_tokens_details") or u.get("input_tokens_details") or {}
    details_out = u.get("completion_tokens_details") or u.get("output_tokens_details") or {}
    if isinstance(details_in, dict) and details_in.get("cached_tokens"):
        result["cache_read_tokens"] = int(details_in["cached_tokens"])
    if isinstance(details_out, dict) and details_out.get("reasoning_tokens"):
        result["reasoning_tokens"] = int(details_out["reasoning_tokens"])
    return result
