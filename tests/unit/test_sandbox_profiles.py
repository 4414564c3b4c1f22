"""Each profile's ``changes`` list is exactly what differs from ``default`` on the wire, operation by operation.

Representative requests go through the sandbox's real routing and wire code (in-process); the default-profile and
profile answers are diffed structurally (paths, JSON types, enum-like string values, stream event types) and the
diff must equal the profile's declared changes — no more, no less.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from replaykit.codecs import eventstream, sse
from replaykit.sandbox import PROFILES
from replaykit.sandbox.profiles import KINDS, Profile, ProfileChange
from replaykit.sandbox.server import handle

SIGV4 = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/bedrock/aws4_request, "
         "SignedHeaders=host, Signature=" + "0" * 64)
USER = [{"role": "user", "content": [{"text": "What is the weather in Paris?"}]}]
TOOLS = {"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {
    "type": "object", "properties": {"location": {"type": "string"}}}}}}]}
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
OAI_TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"location": {"type": "string"}}}}}

# (operation, where, method, path, body): requests that exercise every shape each operation has
REQUESTS: list[tuple[str, str, str, str, Any]] = [
    ("openai.chat.completions", "response", "POST", "/v1/chat/completions", CHAT),
    ("openai.chat.completions", "response", "POST", "/v1/chat/completions",
     dict(CHAT, messages=[{"role": "user", "content": "weather?"}], tools=[OAI_TOOL], n=2)),
    ("openai.chat.completions", "stream", "POST", "/v1/chat/completions",
     dict(CHAT, stream=True, stream_options={"include_usage": True})),
    ("openai.chat.completions", "stream", "POST", "/v1/chat/completions", dict(CHAT, stream=True)),
    ("openai.embeddings", "response", "POST", "/v1/embeddings",
     {"model": "text-embedding-3-small", "input": "x", "encoding_format": "float", "dimensions": 4}),
    ("openai.models.list", "response", "GET", "/v1/models", None),
    ("openai.models.retrieve", "response", "GET", "/v1/models/gpt-4o", None),
    ("openai.responses", "response", "POST", "/v1/responses", {"model": "gpt-4o", "input": "hi"}),
    ("openai.responses", "stream", "POST", "/v1/responses", {"model": "gpt-4o", "input": "hi", "stream": True}),
    ("bedrock-runtime.Converse", "response", "POST", "/model/amazon.nova-micro-v1%3A0/converse", {"messages": USER}),
    ("bedrock-runtime.Converse", "response", "POST", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
     {"messages": USER, "toolConfig": TOOLS}),
    ("bedrock-runtime.ConverseStream", "stream", "POST", "/model/amazon.nova-micro-v1%3A0/converse-stream",
     {"messages": USER}),
    ("bedrock-runtime.ConverseStream", "stream", "POST",
     "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream", {"messages": USER, "toolConfig": TOOLS}),
    ("bedrock-runtime.InvokeModel", "response", "POST", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke",
     {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 20, "messages": [{"role": "user", "content": "x"}]}),
    ("bedrock-runtime.InvokeModelWithResponseStream", "stream", "POST",
     "/model/amazon.nova-micro-v1%3A0/invoke-with-response-stream", {"messages": USER}),
    ("bedrock-runtime.CountTokens", "response", "POST", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/count-tokens",
     {"input": {"converse": {"messages": USER}}}),
    ("bedrock.ListFoundationModels", "response", "GET", "/foundation-models", None),
]
# values that differ between any two calls (ids, clocks, latencies), never an enum change
VOLATILE = {"id", "created", "created_at", "completed_at", "latencyMs", "toolUseId", "call_id", "item_id",
            "invocationLatency", "firstByteLatency", "signature"}


def _call(method: str, path: str, body: Any, profile: str) -> list[tuple[str | None, Any]]:
    auth = "Bearer sk-test" if path.startswith("/v1") else SIGV4
    data = b"" if body is None else json.dumps(body).encode()
    reply = handle(method, path, data, {"Authorization": auth}, profile=profile)
    assert reply.status == 200, reply.body
    raw = reply.body if reply.chunks is None else b"".join(reply.chunks)
    if raw[:1] == b"{":
        return [(None, json.loads(raw))]
    if raw[:5] in (b"data:", b"event"):
        return [(e.event, json.loads(e.data)) for e in sse.decode(raw) if e.data != "[DONE]"]
    out: list[tuple[str | None, Any]] = []
    for m in eventstream.decode(raw):
        doc = {k: v for k, v in json.loads(m.payload).items() if k != "p"}
        if "bytes" in doc:
            doc = json.loads(base64.b64decode(doc["bytes"]))
        out.append((str(m.headers[":event-type"]), doc))
    return out


def _leaves(value: Any, prefix: str, out: dict[str, set[tuple[str, str]]]) -> None:
    kind = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number",
            type(None): "null"}[type(value)]
    if prefix:
        shown = value if kind == "string" and prefix.rsplit(".", 1)[-1].rstrip("[]") not in VOLATILE else ""
        out.setdefault(prefix, set()).add((kind, shown if len(str(shown)) < 40 else ""))
    if isinstance(value, dict):
        for key, item in value.items():
            _leaves(item, f"{prefix}.{key}" if prefix else key, out)
    elif isinstance(value, list):
        for item in value:
            _leaves(item, prefix + "[]", out)


def _shape(events: list[tuple[str | None, Any]]) -> dict[str | None, dict[str, set[tuple[str, str]]]]:
    shape: dict[str | None, dict[str, set[tuple[str, str]]]] = {}
    for name, doc in events:
        _leaves(doc, "", shape.setdefault(name, {}))
    return shape


def _parent(path: str) -> str | None:
    return path.rsplit(".", 1)[0] if "." in path else None


def _diff(old: dict[str | None, Any], new: dict[str | None, Any], stream: bool) -> set[tuple[Any, ...]]:
    found: set[tuple[Any, ...]] = set()
    for name in new.keys() - old.keys():
        found.add((name, "event_added"))
    for name in old.keys() & new.keys():
        a, b = old[name], new[name]
        event = name if stream else None
        # report only the top-most added/removed path, not every descendant of it
        for path in b.keys() - a.keys():
            if _parent(path) not in b.keys() - a.keys():
                found.add((event, path, "field_added"))
        for path in a.keys() - b.keys():
            if _parent(path) not in a.keys() - b.keys():
                found.add((event, path, "field_removed"))
        for path in a.keys() & b.keys():
            if {k for k, _ in a[path]} != {k for k, _ in b[path]}:
                found.add((event, path, "type_changed"))
            elif {v for _, v in b[path]} - {v for _, v in a[path]} and {k for k, _ in b[path]} == {"string"}:
                found.add((event, path, "enum_value_added"))
    return found


def _declared(profile: Profile, operation: str, where: str) -> set[tuple[Any, ...]]:
    out: set[tuple[Any, ...]] = set()
    for c in profile.changes:
        if c.operation == operation and c.where == where:
            out.add((c.path, c.kind) if c.kind == "event_added" else (c.event, c.path, c.kind))
    return out


@pytest.mark.parametrize("profile", [p for p in PROFILES if p != "default"])
def test_declared_changes_are_exactly_the_wire_differences(profile: str) -> None:
    seen: dict[tuple[str, str], set[tuple[Any, ...]]] = {}
    for operation, where, method, path, body in REQUESTS:
        base = _shape(_call(method, path, body, "default"))
        other = _shape(_call(method, path, body, profile))
        seen.setdefault((operation, where), set()).update(_diff(base, other, where == "stream"))
    for (operation, where), found in seen.items():
        declared = _declared(PROFILES[profile], operation, where)
        assert found == declared, f"{profile} {operation} {where}: wire diff {found} != declared {declared}"
    covered = {(c.operation, c.where) for c in PROFILES[profile].changes}
    assert covered <= seen.keys(), "every changed operation is exercised by REQUESTS"


def test_profile_metadata_is_well_formed() -> None:
    assert set(PROFILES) >= {"default", "legacy-2024", "next-2027"} and PROFILES["default"].changes == ()
    for name, profile in PROFILES.items():
        assert profile.name == name and profile.description
        kinds = set()
        for change in profile.changes:
            assert isinstance(change, ProfileChange) and change.kind in KINDS and change.where in ("response", "stream")
            assert change.detail and change.operation.startswith(("openai.", "bedrock-runtime.", "bedrock."))
            kinds.add(change.kind)
        if name == "next-2027":
            assert kinds == set(KINDS)


def test_apply_is_pure_and_list_aware() -> None:
    profile = PROFILES["legacy-2024"]
    body = {"choices": [{"message": {"annotations": [], "content": "x"}}, {"message": {"annotations": []}}],
            "service_tier": "default"}
    out = profile.apply_response("openai.chat.completions", body)
    assert out == {"choices": [{"message": {"content": "x"}}, {"message": {}}]}
    assert body["service_tier"] == "default" and body["choices"][0]["message"]["annotations"] == []
    assert profile.apply_response("openai.embeddings", body) is body
