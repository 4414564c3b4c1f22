"""Contracts per operation from recorded exchanges: infer a document, merge it into the file, write on change.

Merging is a widening union with the existing contract (see ``replaykit.contracts.infer``), so ``update`` run on the
same cassettes twice changes nothing, and a contract keeps what older recordings showed until edited by hand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from replaykit.contracts.bodies import body_value, is_media_type, is_stream, is_xml, iter_events
from replaykit.contracts.document import FORMAT, SCHEMA_URI
from replaykit.contracts.infer import infer_schema, merge_schema
from replaykit.exchange import Exchange, content_type_of

DEFAULT_MIN_SAMPLES = 3


def _blob_request(operation: str) -> bool:
    from replaykit.providers import aws

    service, _, name = operation.partition(".")
    return service not in ("openai", "http") and bool(name) and aws.has_blob_payload(service, name)


def infer_contract(
    operation: str, exchanges: Iterable[Exchange], *, official: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A fresh contract for one operation from its exchanges (``official`` contract seeds unions)."""
    requests: list[Any] = []
    success: list[Any] = []
    errors: list[Any] = []
    events: dict[str, list[Any]] = defaultdict(list)
    kinds: dict[str, set[str]] = defaultdict(set)
    ctypes: set[str] = set()
    padded = False
    count = 0
    for ex in exchanges:
        count += 1
        req_ct = content_type_of(ex.request.headers)
        requests.append(body_value(ex.request.body, req_ct))
        kinds["request"].add(_kind(ex.request.body.kind, ex.request.body.value, req_ct))
        resp = ex.response
        if is_media_type(resp.content_type):
            ctypes.add(resp.content_type)
        if is_stream(resp.body):
            padded = padded or resp.body.kind == "eventstream"
            for ev in iter_events(resp.body):
                events[ev.type].append(ev.payload)
            continue
        part = "success" if resp.status < 400 else "error"
        (success if part == "success" else errors).append(body_value(resp.body, resp.content_type))
        kinds[part].add(_kind(resp.body.kind, resp.body.value, resp.content_type))
    off_resp = (official or {}).get("response") or {}

    def infer(samples: list[Any], node: Any, padding: bool = False) -> dict[str, Any]:
        hint = node if official and isinstance(node, dict) else None
        return infer_schema(samples, hint=hint, root=official, padding=padding)

    doc: dict[str, Any] = {
        "$schema": SCHEMA_URI,
        "x-replaykit": {"format": FORMAT, "operation": operation, "samples": count, "streaming": bool(events)},
        "request": _annotate(infer(requests, (official or {}).get("request")), kinds["request"]),
    }
    if _blob_request(operation):
        doc["request"] = {"description": "opaque object data (a blob payload): any bytes, not constrained"}
    response: dict[str, Any] = {"content_types": sorted(ctypes)}
    if success:
        response["success"] = _annotate(infer(success, off_resp.get("success")), kinds["success"])
    if errors:
        response["error"] = _annotate(infer(errors, off_resp.get("error")), kinds["error"])
    if events:
        off_events = off_resp.get("events") or {}
        response["events"] = {t: infer(v, off_events.get(t), padded) for t, v in sorted(events.items())}
        response["event_types"] = sorted(events)
    doc["response"] = response
    return doc


def _kind(kind: str, value: Any, content_type: str) -> str:
    if kind == "text" and is_xml(content_type, str(value)):
        return "xml"
    return f"text:{content_type}" if kind == "text" else kind


def _annotate(schema: dict[str, Any], kinds: set[str]) -> dict[str, Any]:
    """Say how a string body is stored when every sample was text or base64."""
    if len(kinds) == 1:
        (kind,) = kinds
        if kind.startswith("text:") and kind != "text:":
            schema.setdefault("contentMediaType", kind[5:])
        elif kind == "base64":
            schema.setdefault("contentEncoding", "base64")
    return schema


def merge_contract(existing: dict[str, Any], inferred: dict[str, Any]) -> dict[str, Any]:
    """An existing contract widened by a freshly inferred one; unknown keys and manual edits are kept."""
    out = dict(existing)
    out.setdefault("$schema", inferred["$schema"])
    meta = dict(existing.get("x-replaykit") or {})
    new_meta = inferred["x-replaykit"]
    meta.update(
        format=FORMAT,
        operation=new_meta["operation"],
        samples=new_meta["samples"],
        streaming=bool(meta.get("streaming")) or new_meta["streaming"],
    )
    out["x-replaykit"] = meta
    out["request"] = (
        merge_schema(existing["request"], inferred["request"]) if "request" in existing else inferred["request"]
    )
    resp = dict(existing.get("response") or {})
    new = inferred["response"]
    resp["content_types"] = sorted(set(resp.get("content_types") or []) | set(new["content_types"]))
    for key in ("success", "error"):
        if key in new:
            resp[key] = merge_schema(resp[key], new[key]) if key in resp else new[key]
    if "events" in new:
        events = dict(resp.get("events") or {})
        for name, schema in new["events"].items():
            events[name] = merge_schema(events[name], schema) if name in events else schema
        resp["events"] = events
        resp["event_types"] = sorted(set(resp.get("event_types") or []) | set(new["event_types"]))
    out["response"] = resp
    return out
