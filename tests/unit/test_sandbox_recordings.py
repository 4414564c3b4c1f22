"""Cross-check: every JSON field real providers sent in the shared recordings, the sandbox sends too.

Each recorded Bedrock / OpenAI request is replayed against the sandbox (default profile, in-process, through the same
routing and wire code the server uses); the field paths of the recorded response must all appear in the sandbox's
answer, apart from the short, explained list in ``NOT_PRODUCED``.
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

import real_corpus
from replaykit.codecs import eventstream, sse
from replaykit.sandbox.server import handle

REAL = real_corpus.REAL_CASSETTES

SIGV4 = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/bedrock/aws4_request, "
         "SignedHeaders=content-type;host;x-amz-date, Signature=" + "0" * 64)

# Fields real services sent that the default profile deliberately does not produce. The sandbox must validate
# against botocore's output shapes and the openai SDK's types with no unknown fields (the fidelity tests), so fields
# those models do not declare stay out of the default profile.
NOT_PRODUCED: dict[str, str] = {
    # Bedrock usage members not in botocore 1.44's TokenUsage shape (botocore drops them); serverToolUsage is what
    # the next-2027 profile adds, modelling the real 2025 -> 2026 drift seen in the pydantic-ai drift pair.
    "usage.serverToolUsage": "not in botocore's TokenUsage shape",
    "usage.cacheReadInputTokenCount": "legacy duplicate of cacheReadInputTokens, not in botocore's TokenUsage",
    "usage.cacheWriteInputTokenCount": "legacy duplicate of cacheWriteInputTokens, not in botocore's TokenUsage",
    # botocore's ToolUseBlockStart.type enum only allows 'server_tool_use'; Claude streams send 'tool_use'
    "contentBlockStart:start.toolUse.type": "value 'tool_use' is outside botocore's enum for this member",
    # Responses API members the openai SDK's Response type does not declare (top level, and inside stream events)
    "frequency_penalty": "not a field of openai.types.responses.Response",
    "presence_penalty": "not a field of openai.types.responses.Response",
    "store": "not a field of openai.types.responses.Response",
    "response.frequency_penalty": "not a field of openai.types.responses.Response",
    "response.presence_penalty": "not a field of openai.types.responses.Response",
    "response.store": "not a field of openai.types.responses.Response",
    # background-mode only event (the sandbox runs every response in the foreground)
    "response.queued": "background mode is not emulated",
}


def _paths(value: Any, prefix: str = "") -> set[str]:
    out: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            out.add(path)
            out |= _paths(item, path)
    elif isinstance(value, list):
        for item in value:
            out |= _paths(item, prefix + "[]" if prefix else "[]")
    return out


def _event_paths(body: bytes, content_type: str, uri: str) -> set[str]:
    """Paths of a streamed body, each prefixed by its event type (``type:path``)."""
    out: set[str] = set()
    if body[:5] in (b"data:", b"event"):
        for event in sse.decode(body):
            if event.data == "[DONE]":
                continue
            doc = json.loads(event.data)
            name = event.event or "chunk"
            out.add(name)
            out |= {f"{name}:{p}" for p in _paths(doc)}
        return out
    for message in eventstream.decode(body):
        name = str(message.headers.get(":event-type") or message.headers.get(":exception-type"))
        doc = json.loads(message.payload)
        out.add(name)
        out |= {f"{name}:{p}" for p in _paths(doc) if p != "p"}
        if name == "chunk" and "bytes" in doc:
            out |= {f"chunk.bytes:{p}" for p in _paths(json.loads(base64.b64decode(doc["bytes"])))}
    return out


def _body_bytes(part: dict[str, Any]) -> bytes:
    if "parsed_body" in part:
        return json.dumps(part["parsed_body"]).encode()
    body = part.get("body")
    if isinstance(body, dict):
        body = body.get("string")
    if body is None:
        return b""
    return body if isinstance(body, bytes) else str(body).encode()


def _exchanges() -> list[tuple[str, int, dict[str, Any], dict[str, Any]]]:
    found = []
    for path in sorted(REAL.rglob("*.yaml*")):
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        doc = yaml.load(raw, Loader=yaml.Loader)  # noqa: S506 - vcrpy cassettes use python tags; trusted test data
        pairs = ([(i["request"], i["response"]) for i in doc["interactions"]] if "interactions" in doc
                 else list(zip(doc["requests"], doc["responses"], strict=True)))
        for n, (req, resp) in enumerate(pairs):
            host = urlsplit(req["uri"]).hostname or ""
            if host.startswith("bedrock-runtime") or host == "api.openai.com":
                found.append((str(path.relative_to(REAL)), n, req, resp))
    return found


def _replay(req: dict[str, Any]) -> tuple[int, str, bytes]:
    split = urlsplit(req["uri"])
    path = split.path + (f"?{split.query}" if split.query else "")
    auth = SIGV4 if split.hostname and split.hostname.startswith("bedrock") else "Bearer sk-sandbox"
    reply = handle(req["method"], path, _body_bytes(req), {"Authorization": auth, "Content-Type": "application/json"})
    body = reply.body if reply.chunks is None else b"".join(reply.chunks)
    content_type = next((v for k, v in reply.headers if k.lower() == "content-type"), "")
    return reply.status, content_type, body


def _recorded_paths(resp: dict[str, Any], uri: str) -> set[str]:
    body = _body_bytes(resp)
    if body[:1] in (b"{", b"["):
        return _paths(json.loads(body))
    return _event_paths(body, "", uri)


def _sandbox_paths(content_type: str, body: bytes, uri: str) -> set[str]:
    if body[:1] in (b"{", b"["):
        return _paths(json.loads(body))
    return _event_paths(body, content_type, uri)


def _allowed(path: str) -> bool:
    """Whether a missing ``path`` (or ``event:path``) is covered by NOT_PRODUCED."""
    head, _, tail = path.rpartition(":")
    for name in NOT_PRODUCED:
        for candidate in (path, tail):
            if candidate == name or candidate.startswith(name + "."):
                return True
        if head == name:
            return True
    return False


EXCHANGES = _exchanges() if real_corpus.PRESENT else []


@real_corpus.requires_real
def test_recordings_were_found() -> None:
    assert len(EXCHANGES) >= 20


@real_corpus.requires_real
@pytest.mark.parametrize(("name", "index", "req", "resp"), EXCHANGES,
                         ids=[f"{e[0].rsplit('/', 1)[-1]}#{e[1]}" for e in EXCHANGES])
def test_sandbox_produces_every_recorded_field(name: str, index: int, req: dict[str, Any],
                                               resp: dict[str, Any]) -> None:
    status, content_type, body = _replay(req)
    recorded_status = int(resp["status"]["code"])
    assert status == recorded_status, f"{name}#{index}: sandbox {status}, service {recorded_status}: {body!r}"
    recorded = _recorded_paths(resp, req["uri"])
    produced = _sandbox_paths(content_type, body, req["uri"])
    missing = sorted(p for p in recorded - produced if not _allowed(p))
    assert not missing, f"{name}#{index}: fields the real service sent but the sandbox did not: {missing}"
