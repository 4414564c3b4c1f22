"""OpenAI: host, operations named after the endpoint, volatile request fields, usage incl. cached/reasoning."""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from replaykit.providers.deltas import StreamDelta

HOST = "api.openai.com"
VOLATILE_REQUEST_FIELDS: tuple[str, ...] = ("user", "metadata", "safety_identifier", "prompt_cache_key")

# Responses API stream events whose ``delta`` is a fragment of one text, and the fields that name that text
# (tests/unit/test_stream_view.py checks this against the installed SDK's event models; ``response.audio.delta``
# is base64 audio, not text)
_RESPONSES_DELTAS: dict[str, tuple[str, ...]] = {
    "response.output_text.delta": ("item_id", "output_index", "content_index"),
    "response.refusal.delta": ("item_id", "output_index", "content_index"),
    "response.reasoning_text.delta": ("item_id", "output_index", "content_index"),
    "response.reasoning_summary_text.delta": ("item_id", "output_index", "summary_index"),
    "response.function_call_arguments.delta": ("item_id", "output_index"),
    "response.custom_tool_call_input.delta": ("item_id", "output_index"),
    "response.code_interpreter_call_code.delta": ("item_id", "output_index"),
    "response.mcp_call_arguments.delta": ("item_id", "output_index"),
    "response.shell_call_command.delta": ("output_index", "command_index"),
    "response.audio.transcript.delta": (),
}
# the SSE events whose fragments join into one text: chat completion chunks (per choice, per tool call; the
# ``reasoning_content`` of OpenAI-compatible servers too), legacy completions, and the Responses deltas above
STREAM_DELTAS: tuple[StreamDelta, ...] = (
    StreamDelta("sse", "data.choices[index].delta.content"),
    StreamDelta("sse", "data.choices[index].delta.refusal"),
    StreamDelta("sse", "data.choices[index].delta.reasoning_content"),
    StreamDelta("sse", "data.choices[index].delta.tool_calls[index].function.arguments"),
    StreamDelta("sse", "data.choices[index].text", (("data.object", "text_completion"),)),
    *(
        StreamDelta("sse", "data.delta", (("data.type", kind),), tuple(f"data.{g}" for g in group))
        for kind, group in _RESPONSES_DELTAS.items()
    ),
)

_ID_SEGMENT = re.compile(r"^(?:[a-z]+[-_][A-Za-z0-9_-]{6,}|[A-Za-z0-9_-]{20,})$")
_RETRIEVE = {"models": "models.retrieve", "files": "files.retrieve", "batches": "batches.retrieve"}

# status -> (message, type, code) of the errors OpenAI sends; ``{model}`` is filled in. The sandbox and fault
# injection both answer with these.
ERRORS_BY_STATUS: dict[int, tuple[str, str, str | None]] = {
    400: ("Invalid request (sandbox trigger).", "invalid_request_error", None),
    401: (
        "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
        "invalid_request_error",
        "invalid_api_key",
    ),
    403: ("Country, region, or territory not supported", "request_forbidden", "unsupported_country_region_territory"),
    404: (
        "The model `{model}` does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    ),
    409: ("The request conflicted with another request.", "invalid_request_error", None),
    422: ("The request could not be processed.", "invalid_request_error", None),
    429: (
        "Rate limit reached for {model} in organization org-sandbox on requests per min (RPM): Limit 500, Used 500, "
        "Requested 1. Please try again in 120ms. Visit https://platform.openai.com/account/rate-limits to learn "
        "more.",
        "requests",
        "rate_limit_exceeded",
    ),
    500: ("The server had an error while processing your request. Sorry about that!", "server_error", None),
    502: ("Bad gateway.", "server_error", None),
    503: ("The server is overloaded or not ready yet.", "server_error", None),
}


# the smallest call of each operation a user can make: whatever else the SDK puts in the body is its own default
_MINIMAL_CALLS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("openai.embeddings", "embeddings", {"model": "m", "input": "x"}),
    ("openai.chat.completions", "chat.completions", {"model": "m", "messages": [{"role": "user", "content": "x"}]}),
    ("openai.responses", "responses", {"model": "m", "input": "x"}),
)


def sdk_defaults() -> dict[str, dict[str, Any]]:
    """Body fields the installed openai SDK adds to each operation's request beyond what the user passed.

    Learned from the SDK's own request construction (a minimal call through a transport that captures the request
    and never sends it), not from a hand list: e.g. openai >= 1.3x adds ``encoding_format: "base64"`` to
    embeddings, which an older SDK's recording lacks. Matching ignores these fields when they hold that default.
    """
    out = {}
    for op, _, _ in _MINIMAL_CALLS:
        added = sdk_defaults_of(op)
        if added:
            out[op] = added
    return out


_MINIMAL_BY_OPERATION = {op: (resource, user) for op, resource, user in _MINIMAL_CALLS}


@functools.cache
def sdk_defaults_of(operation: str) -> dict[str, Any]:
    """``sdk_defaults()`` of one operation, learned on first use.

    A replay of chat completions never imports (or builds requests through) the SDK's embeddings and responses
    resources: ~45 ms of a replay session's first call.
    """
    minimal = _MINIMAL_BY_OPERATION.get(operation)
    if minimal is None:
        return {}
    try:
        import httpx
        import openai
    except ImportError:  # pragma: no cover - openai is a dependency; a broken install just learns nothing
        return {}
    resource, user = minimal
    captured: list[httpx.Request] = []

    class Capture(httpx.BaseTransport):
        # a transport of our own, not httpx.MockTransport: vcrpy patches that one, and learning may first happen
        # while a cassette is active (inside matching); this request must never reach a cassette
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            captured.append(request)
            raise _Captured

    # openai accepts an httpx client of either generation; its annotation names only the one it ships with
    http_client: Any = httpx.Client(transport=Capture())
    client = openai.OpenAI(
        api_key="sk-learn", base_url="http://sdk-defaults.invalid/v1", max_retries=0, http_client=http_client
    )
    try:
        target: Any = client
        for name in resource.split("."):
            target = getattr(target, name, None)
        if target is None:
            return {}
        try:
            target.create(**user)
        except Exception:  # noqa: BLE001, S110 - the capture aborts every call; only the request matters
            pass
        if not captured:
            return {}
        try:
            body = json.loads(captured[-1].content or b"{}")
        except ValueError:
            return {}
        return {k: v for k, v in body.items() if k not in user} if isinstance(body, dict) else {}
    finally:
        client.close()


class _Captured(Exception):
    """Stops a learning call once its request is built."""


def without_sdk_defaults(operation: str, body: Any) -> Any:
    """A JSON request body without the fields that hold the installed SDK's default for this operation."""
    defaults = sdk_defaults_of(operation) if isinstance(body, dict) else None
    if not defaults:
        return body
    return {k: v for k, v in body.items() if not (k in defaults and v == defaults[k])}


def missing_sdk_defaults(operation: str, body: Any) -> dict[str, Any]:
    """Default fields the installed SDK sends that a recorded body lacks (it was recorded by an older SDK)."""
    defaults = sdk_defaults_of(operation) if isinstance(body, dict) else None
    return {k: v for k, v in (defaults or {}).items() if k not in body}


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
