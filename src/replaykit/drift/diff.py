"""Per-pair structural diff: shapes, headers that matter, request drift, response bodies and stream events.

Each function reports through ``emit(check, where, path, message, old, new, variant=...)``; severities are decided
later, once the whole tree has been seen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from replaykit.drift.rules import ERROR_TYPE_HEADER, PathSet, header_matters, parent, query_matters
from replaykit.drift.shape import BodyShape, Shape, body_shape, event_payload, event_type
from replaykit.drift.values import sample_at
from replaykit.exchange import Exchange

Emit = Callable[..., None]


def _types(t: set[str]) -> str:
    return "|".join(sorted(t))


def diff_shapes(old: Shape, new: Shape) -> list[tuple[str, str, set[str], set[str]]]:
    """``(kind, path, old types, new types)`` for each structural difference; kind is added/removed/type/null.

    Only the outermost added or removed path is reported, and nothing below a path whose type changed or that
    went from always-null to a value (or back).
    """
    removed = {p for p in old if p not in new}
    added = {p for p in new if p not in old}
    changed: set[str] = set()  # type changed or became (non-)null: what lies below is a consequence
    out: list[tuple[str, str, set[str], set[str]]] = []
    for p in sorted(old.keys() & new.keys()):
        to, tn = old[p], new[p]
        if to == tn:
            continue
        no, nn = to - {"null"}, tn - {"null"}
        if no and nn:
            if no != nn:
                changed.add(p)
                out.append(("type", p, to, tn))
        elif no or nn:
            # a field that is only ever null on one side: a nullable value, not a new type
            changed.add(p)
            out.append(("null", p, to, tn))
    for p in sorted(removed):
        if parent(p) not in removed and parent(p) not in changed:
            out.append(("removed", p, old[p], set()))
    for p in sorted(added):
        if parent(p) not in added and parent(p) not in changed:
            out.append(("added", p, set(), new[p]))
    return out


def compare_headers(old: Exchange, new: Exchange, emit: Emit) -> None:
    """Emit findings for response headers that changed meaningfully (content type, the provider's contract)."""
    ho = {k.lower(): v for k, v in old.response.headers.items()}
    hn = {k.lower(): v for k, v in new.response.headers.items()}
    if not ho or not hn:
        return  # a recorder that strips all headers says nothing about the API
    mo = {k for k in ho if header_matters(k)}
    mn = {k for k in hn if header_matters(k)}
    for name in sorted(mn - mo):
        emit("header-added", "response.headers", name, "header added", None, name)
    for name in sorted(mo - mn):
        emit("header-removed", "response.headers", name, "header gone", name, None)
    eo, en = ho.get(ERROR_TYPE_HEADER), hn.get(ERROR_TYPE_HEADER)
    if eo and en:
        a, b = eo[0].split(":", 1)[0], en[0].split(":", 1)[0]
        if a != b:
            emit("error-type-changed", "response.headers", ERROR_TYPE_HEADER, f"{a} → {b}", a, b)


def compare_request(old: Exchange, new: Exchange, emit: Emit) -> None:
    """Emit findings for the request body's shape (what the SDK sends for the same test)."""
    where = "request.body"
    # a re-recorded test usually sends the very same body: only walk requests that differ
    same = old.request.body == new.request.body
    so = sn = BodyShape(old.request.body.kind) if same else body_shape(old.request.body)
    if not same:
        sn = body_shape(new.request.body)
    if so.kind != sn.kind:
        emit("request-type-changed", where, "", f"body {so.kind} → {sn.kind}", so.kind, sn.kind)
    elif so.kind not in ("eventstream", "sse"):
        for kind, path, to, tn in diff_shapes(so.shape, sn.shape):
            if kind == "added":
                emit("request-field-added", where, path, f"now sent ({_types(tn)})", None, _types(tn))
            elif kind == "removed":
                emit("request-field-removed", where, path, f"no longer sent (was {_types(to)})", _types(to))
            elif kind == "type":
                emit("request-type-changed", where, path, f"{_types(to)} → {_types(tn)}", _types(to), _types(tn))
    qo = {k for k, _ in parse_qsl(urlsplit(old.request.uri).query, keep_blank_values=True) if query_matters(k)}
    qn = {k for k, _ in parse_qsl(urlsplit(new.request.uri).query, keep_blank_values=True) if query_matters(k)}
    for name in sorted(qn - qo):
        emit("request-field-added", "request.query", name, "query parameter now sent", None, name)
    for name in sorted(qo - qn):
        emit("request-field-removed", "request.query", name, "query parameter no longer sent", name, None)


def compare_response(
    new: Exchange,
    so: BodyShape,
    sn: BodyShape,
    volatile: Callable[[str], PathSet],
    emit: Emit,
    variant: tuple[Any, ...],
) -> None:
    """Emit findings for the response: status, body shape, stream events."""
    if so.kind != sn.kind:
        emit("response-type-changed", "response.body", "", f"body {so.kind} → {sn.kind}", so.kind, sn.kind)
        return
    if not so.is_stream:
        _emit_shape_diff(
            "response.body", so.shape, sn.shape, new.response.body.value, volatile("response.body"), emit, variant
        )
        return
    for etype in sorted(so.events.keys() - sn.events.keys()):
        emit("stream-event-removed", f"event:{etype}", "", "event type gone", etype, None, variant=variant)
    for etype in sorted(sn.events.keys() - so.events.keys()):
        emit("stream-event-added", f"event:{etype}", "", "new event type", None, etype, variant=variant)
    for etype in sorted(so.events.keys() & sn.events.keys()):
        _emit_shape_diff(
            f"event:{etype}",
            so.events[etype],
            sn.events[etype],
            _event_payloads(new, sn.kind, etype),
            volatile(f"event:{etype}"),
            emit,
            variant,
        )


def _event_payloads(ex: Exchange, kind: str, etype: str) -> list[Any]:
    return [
        event_payload(kind, ev)
        for ev in ex.response.body.value or []
        if isinstance(ev, dict) and event_type(kind, ev) == etype
    ]


def _emit_shape_diff(
    where: str, old: Shape, new: Shape, new_value: Any, volatile: PathSet, emit: Emit, variant: tuple[Any, ...]
) -> None:
    stream = where.startswith("event:")
    for kind, path, to, tn in diff_shapes(old, new):
        if kind == "added":
            sample = sample_at(new_value, path, many=stream)
            emit(
                "response-field-added", where, path, f"added ({_types(tn)}){sample}", None, _types(tn), variant=variant
            )
        elif kind == "removed":
            emit(
                "response-field-removed", where, path, f"removed (was {_types(to)})", _types(to), None, variant=variant
            )
        elif kind == "type":
            emit("response-type-changed", where, path, f"{_types(to)} → {_types(tn)}", _types(to), _types(tn))
        elif not volatile(path):
            emit("response-nullability-changed", where, path, f"{_types(to)} → {_types(tn)}", _types(to), _types(tn))
