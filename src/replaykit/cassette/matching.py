"""What makes two requests "the same" for replay, and how to explain the difference when none matches.

A request's key is (operation, method, canonical path, canonical query, body digest). The path is unquoted
(botocore sends ``%3A`` in model ids), SigV4/presigned query parameters are dropped, JSON bodies are compared
semantically with the provider's volatile fields removed. The same key drives the index (O(1) lookup) and the
vcrpy matcher ``replaykit`` (pairwise), so both paths agree by construction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from replaykit.cassette.model import Body
from replaykit.providers import Identity, identify

# rough ceiling for values echoed in a mismatch message
_PREVIEW = 80


@dataclass(frozen=True)
class RequestKey:
    """The identity of a request for matching purposes."""

    operation: str
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: str


def _strip_volatile(value: Any, volatile: tuple[str, ...], extra: tuple[str, ...]) -> Any:
    if isinstance(value, dict) and (volatile or extra):
        return {k: v for k, v in value.items() if k not in volatile and k not in extra}
    return value


def canonical_json(value: Any) -> str:
    """Key-order independent text of a JSON value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def body_digest(value: Any, kind: str) -> str:
    """Digest of a decoded body value (JSON semantically, anything else by bytes)."""
    if kind == "empty":
        return ""
    text = canonical_json(value) if kind == "json" else (value if isinstance(value, str) else repr(value))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def parse_body(raw: bytes | str | None) -> tuple[str, Any]:
    """(kind, value) of a raw request body: JSON parsed when it is JSON, else text/bytes."""
    if raw is None or raw == b"" or raw == "":
        return "empty", None
    if hasattr(raw, "read"):
        raw = raw.read()  # type: ignore[union-attr]
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    raw = bytes(raw)  # type: ignore[arg-type]
    if raw[:1] in (b"{", b"["):
        try:
            return "json", json.loads(raw)
        except ValueError:
            pass
    try:
        return "text", raw.decode("utf-8")
    except UnicodeDecodeError:
        return "bytes", raw.hex()


def key_for(
    method: str,
    uri: str,
    body_kind: str,
    body_value: Any,
    *,
    copy_source: bool = False,
    ignore_fields: tuple[str, ...] = (),
    scrub: Any = None,
) -> RequestKey:
    """The match key of a request given its decoded body."""
    ident: Identity = identify(method.upper(), uri, copy_source)
    if scrub is not None and body_kind in ("json", "text"):
        # the stored side was scrubbed before it was written: compare like with like
        body_value = scrub(body_value)
    if body_kind == "json":
        body_value = _strip_volatile(body_value, ident.volatile_fields, ignore_fields)
    return RequestKey(ident.operation, method.upper(), ident.path, ident.query, body_digest(body_value, body_kind))


def key_of_body(method: str, uri: str, body: Body, **kw: Any) -> RequestKey:
    """Match key for a request whose body is already decoded (loaded from a cassette)."""
    kind = body.kind
    value = body.value
    if kind in ("base64",):
        import base64

        value = base64.b64decode(value).hex()
        kind = "bytes"
    elif kind == "text" and value and value[:1] in ("{", "["):
        try:
            value, kind = json.loads(value), "json"
        except ValueError:
            pass
    return key_for(method, uri, kind, value, **kw)


def _flatten(value: Any, path: str = "$") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{path}.{k}"))
        return out or {path: {}}
    if isinstance(value, list):
        out = {}
        for i, v in enumerate(value):
            out.update(_flatten(v, f"{path}[{i}]"))
        return out or {path: []}
    return {path: value}


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= _PREVIEW else text[: _PREVIEW - 1] + "…"


def explain(wanted: tuple[RequestKey, Any], recorded: tuple[RequestKey, Any]) -> list[str]:
    """Human-readable differences between a request and a recorded one (the slow path, on a miss only)."""
    (wk, wbody), (rk, rbody) = wanted, recorded
    diffs: list[str] = []
    if wk.operation != rk.operation:
        diffs.append(f"operation: {rk.operation} recorded, {wk.operation} sent")
    if wk.method != rk.method:
        diffs.append(f"method: {rk.method} recorded, {wk.method} sent")
    if wk.path != rk.path:
        diffs.append(f"path: {rk.path!r} recorded, {wk.path!r} sent")
    if wk.query != rk.query:
        diffs.append(f"query: {dict(rk.query)} recorded, {dict(wk.query)} sent")
    if wk.body != rk.body:
        if isinstance(wbody, (dict, list)) and isinstance(rbody, (dict, list)):
            a, b = _flatten(rbody), _flatten(wbody)
            for p in sorted(set(a) | set(b)):
                if p not in a:
                    diffs.append(f"body {p}: not recorded, sent {_short(b[p])}")
                elif p not in b:
                    diffs.append(f"body {p}: recorded {_short(a[p])}, not sent")
                elif a[p] != b[p]:
                    diffs.append(f"body {p}: recorded {_short(a[p])}, sent {_short(b[p])}")
                if len(diffs) >= 6:
                    diffs.append("…")
                    break
        else:
            diffs.append("body differs")
    return diffs


def score(wanted: RequestKey, recorded: RequestKey) -> int:
    """How close a recorded request is to the wanted one (higher is closer)."""
    return (
        (wanted.operation == recorded.operation) * 8
        + (wanted.path == recorded.path) * 4
        + (wanted.method == recorded.method) * 2
        + (wanted.query == recorded.query)
    )
