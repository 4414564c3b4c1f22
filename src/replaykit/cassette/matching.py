"""What makes two requests "the same" for replay, and how to explain the difference when none matches.

A request's key is (operation, method, canonical path, canonical query, body digest). The path is unquoted
(botocore sends ``%3A`` in model ids), SigV4/presigned query parameters are dropped, JSON bodies are compared
semantically with the provider's volatile fields removed, live bodies scrubbed as the recorder scrubbed them
(lazily: see ``live_keys``). The same keys drive the index (O(1) lookup) and the vcrpy matcher ``replaykit``
(``vcr_matcher``, pairwise), so both paths agree by construction.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import functools
import hashlib
import json
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from replaykit.cassette.bodies import cbor_body, wire_content
from replaykit.codecs import cbor
from replaykit.codecs.safe import load_json
from replaykit.exchange import Body, Exchange
from replaykit.providers import Identity, Selectors, identify, selectors
from replaykit.providers import openai as openai_provider
from replaykit.scrub import sanitize

_NO_SELECTORS = Selectors()
# rough ceiling for values echoed in a mismatch message
_PREVIEW = 80
# a miss compares bodies with at most this many same-route exchanges to find the closest (slow path only)
_CLOSEST_BODIES = 2000


@dataclass(frozen=True, slots=True)
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
    """Digest of a decoded body value (JSON semantically, anything else by its bytes).

    Text and binary bodies digest their bytes, so a UTF-8 body the recorder kept as base64 (non-printable
    characters) still matches the same bytes sent live, which ``parse_body`` reads as text.
    """
    if kind == "empty":
        return ""
    if kind == "json":
        data = canonical_json(value).encode("utf-8")
    elif kind == "bytes" and isinstance(value, str):
        try:
            data = bytes.fromhex(value)
        except ValueError:
            data = value.encode("utf-8")
    elif isinstance(value, str):
        data = value.encode("utf-8")
    elif isinstance(value, (bytes, bytearray)):
        data = bytes(value)
    else:
        data = repr(value).encode("utf-8")
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _header(headers: Any, name: str) -> str:
    if not headers:
        return ""
    for key, value in headers.items():
        if str(key).lower() == name:
            return ", ".join(value) if isinstance(value, (list, tuple)) else str(value)
    return ""


def parse_body(raw: bytes | str | None, headers: Any = None) -> tuple[str, Any]:
    """(kind, value) of a raw request body: JSON parsed when it is JSON, else text/bytes.

    With the request's ``headers``, its Content-Encoding layers and charset are undone first, as the recorder
    undid them for the body it stored.
    """
    if raw is None or raw == b"" or raw == "":
        return "empty", None
    if hasattr(raw, "read"):
        raw = raw.read()
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    raw = bytes(raw)
    if headers:
        raw = wire_content(raw, _header(headers, "content-type"), _header(headers, "content-encoding"))
    if raw[:1] in (b"{", b"[") or raw.lstrip()[:1] in (b"{", b"["):
        try:
            return "json", load_json(raw)
        except ValueError:
            pass
    elif cbor.looks_like_cbor(raw):  # rpc-v2-cbor: compared as the JSON document the cassette stores
        body = cbor_body(raw)
        if body is not None:
            return "json", body.value
    try:
        return "text", raw.decode("utf-8")
    except UnicodeDecodeError:
        return "bytes", raw.hex()


# ---- scrubbing for keys ------------------------------------------------------------------------------------------
# The recorder stores request bodies scrubbed (``sanitize.scrub_body``), so a live body must be compared scrubbed.
# But scrubbing runs every secret rule over every string and key of the body: most of replaykit's per-request
# cost, and nearly always for nothing (test prompts carry no secrets). So a live request is keyed twice, lazily:
# first as sent (``raw``), and only when that finds no recorded exchange, scrubbed (``scrubbed``). Both agree
# whenever the body holds nothing to scrub, i.e. almost always; when it does, its raw key cannot name a
# replaykit-written exchange (those were scrubbed, and scrubbing is idempotent), so the scrubbed key decides.


def scrub_for_key(value: Any, rules: Any = None) -> Any:
    """What the recorder stores for a live body value: ``scrub_string`` for text, ``scrub_value`` for JSON."""
    if isinstance(value, str):
        return sanitize.scrub_string(value, rules)
    return sanitize.scrub_value(value, rules)


def scrub_bytes_for_key(value: str, rules: Any = None) -> str:
    """What the recorder stores for a live binary body, in hex as ``parse_body`` gives it (a gzip file)."""
    cleaned = sanitize.scrub_bytes(bytes.fromhex(value), rules)
    return value if cleaned is None else cleaned.hex()


def _scrubber(kind: str, rules: Any) -> Callable[[Any], Any]:
    if kind == "bytes":
        return lambda v: scrub_bytes_for_key(v, rules)
    return lambda v: scrub_for_key(v, rules)


# ---- keys -----------------------------------------------------------------------------------------------------


def _normalised(
    method: str, uri: str, kind: str, value: Any, sel: Selectors, ignore_fields: tuple[str, ...], scrub: Any
) -> tuple[Identity, Any]:
    ident: Identity = identify(method.upper(), uri, *sel)
    if scrub is not None and kind in ("json", "text", "bytes"):
        # the stored side was scrubbed before it was written: compare like with like
        value = scrub(value)
    if kind == "json":
        value = _strip_volatile(value, ident.volatile_fields, ignore_fields)
        if ident.provider == "openai":
            # an SDK upgrade that starts sending a field with its default value does not invalidate recordings
            value = openai_provider.without_sdk_defaults(ident.operation, value)
    return ident, value


def key_for(
    method: str,
    uri: str,
    body_kind: str,
    body_value: Any,
    *,
    sel: Selectors = _NO_SELECTORS,
    ignore_fields: tuple[str, ...] = (),
    scrub: Any = None,
) -> RequestKey:
    """The match key of a request given its decoded body (``scrub``: applied to JSON and text bodies).

    ``sel``: the request's operation selectors (``providers.selectors``): the operation name is always part of
    the key, so two operations never match each other whatever their bodies.
    """
    ident, value = _normalised(method, uri, body_kind, body_value, sel, ignore_fields, scrub)
    return RequestKey(ident.operation, method.upper(), ident.path, ident.query, body_digest(value, body_kind))


def _recorded_body(body: Body) -> tuple[str, Any]:
    """(kind, value) of a decoded recorded body, in the terms ``parse_body`` gives a live one."""
    kind, value = body.kind, body.value
    if kind == "base64":
        try:
            return "bytes", base64.b64decode(value).hex()
        except (binascii.Error, ValueError, TypeError):
            return "text", str(value)
    if kind == "text" and value and value.lstrip()[:1] in ("{", "["):
        try:
            return "json", load_json(value)
        except ValueError:
            pass
    return kind, value


def key_of_body(method: str, uri: str, body: Body, **kw: Any) -> RequestKey:
    """Match key for a request whose body is already decoded (loaded from a cassette)."""
    kind, value = _recorded_body(body)
    return key_for(method, uri, kind, value, **kw)


def exchange_selectors(exchange: Exchange) -> Selectors:
    """The operation selectors of a stored exchange's request (its scrubbed Authorization keeps the scope)."""
    req = exchange.request
    return selectors(req.uri, req.headers, req.body)


def _exchange_of(request: Any) -> Exchange | None:
    exchange = getattr(request, "exchange", None)
    return exchange if isinstance(exchange, Exchange) else None


def request_body(request: Any, rules: Any = None, ignore_fields: tuple[str, ...] = ()) -> tuple[str, Any]:
    """(kind, value) of a request's body as matching compares it: scrubbed, volatile fields removed."""
    exchange = _exchange_of(request)
    if exchange is not None:
        kind, value = _recorded_body(exchange.request.body)
        scrubber = None  # written scrubbed
        sel = exchange_selectors(exchange)
    else:
        kind, value = parse_body(request.body, request.headers)
        scrubber = _scrubber(kind, rules)
        sel = selectors(request.uri, request.headers, request.body)
    _, value = _normalised(request.method, request.uri, kind, value, sel, ignore_fields, scrubber)
    return kind, value


def request_key(
    request: Any, rules: Any = None, ignore_fields: tuple[str, ...] = (), *, scrub: bool = True
) -> RequestKey:
    """The match key of a vcrpy request: one loaded from a cassette (decoded body) or a live, filtered one.

    A live body is scrubbed first, as the recorder scrubs what it writes; ``scrub=False`` keys it as sent.
    """
    exchange = _exchange_of(request)
    if exchange is not None:
        # no scrubbing: the cassette was written scrubbed
        return key_of_body(
            exchange.request.method,
            exchange.request.uri,
            exchange.request.body,
            sel=exchange_selectors(exchange),
            ignore_fields=ignore_fields,
        )
    kind, value = parse_body(request.body, request.headers)
    return key_for(
        request.method,
        request.uri,
        kind,
        value,
        sel=selectors(request.uri, request.headers, request.body),
        ignore_fields=ignore_fields,
        scrub=_scrubber(kind, rules) if scrub else None,
    )


def live_keys(
    request: Any, rules: Any = None, ignore_fields: tuple[str, ...] = ()
) -> tuple[RequestKey, Callable[[], RequestKey]]:
    """(key as sent, thunk of the scrubbed key) of a live request: the second costs only if it is asked for."""
    exchange = _exchange_of(request)
    if exchange is not None:
        key = request_key(request, rules, ignore_fields)
        return key, lambda: key
    kind, value = parse_body(request.body, request.headers)
    sel = selectors(request.uri, request.headers, request.body)
    raw = key_for(request.method, request.uri, kind, value, sel=sel, ignore_fields=ignore_fields)
    if kind not in ("json", "text", "bytes"):
        return raw, lambda: raw  # only JSON, text and binary bodies are scrubbed

    def scrubbed() -> RequestKey:
        return key_for(
            request.method,
            request.uri,
            kind,
            value,
            sel=sel,
            ignore_fields=ignore_fields,
            scrub=_scrubber(kind, rules),
        )

    return raw, scrubbed


def vcr_matcher(rules: Any = None, ignore_fields: tuple[str, ...] = ()) -> Callable[[Any, Any], None]:
    """Replaykit's matching as a pairwise vcrpy matcher (register it under the name ``replaykit``).

    Same keys as ``IndexedCassette`` (the request as sent, else scrubbed, against the stored one scrubbed), so
    plain vcrpy cassettes matched with it agree with the index; only the cost differs (vcrpy calls a matcher
    once per stored request for every request it looks up).
    """
    keys: weakref.WeakKeyDictionary[Any, tuple[RequestKey, Any]] = weakref.WeakKeyDictionary()

    def key(request: Any, *, scrub: bool) -> RequestKey:
        try:
            raw, scrubbed = keys[request]
        except (KeyError, TypeError):
            raw, scrubbed = live_keys(request, rules, ignore_fields)
            scrubbed = functools.cache(scrubbed)
            try:
                keys[request] = (raw, scrubbed)
            except TypeError:  # not weak-referenceable: just not cached
                pass
        return scrubbed() if scrub else raw

    def replaykit(r1: Any, r2: Any) -> None:
        stored = key(r2, scrub=True)
        if key(r1, scrub=False) == stored:
            return
        sent = key(r1, scrub=True)
        if sent != stored:
            sent_body = request_body(r1, rules, ignore_fields)[1]
            diffs = explain((sent, sent_body), (stored, request_body(r2, rules, ignore_fields)[1]))
            raise AssertionError("; ".join(diffs) or "keys differ")

    return replaykit


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
            before = len(diffs)
            a, b = _flatten(rbody), _flatten(wbody)
            for p in sorted(set(a) | set(b)):
                if p not in a:
                    diffs.append(f"body {p}: not recorded, sent {_short(b[p])}")
                elif p not in b:
                    diffs.append(f"body {p}: recorded {_short(a[p])}, not sent")
                elif a[p] != b[p] or type(a[p]) is not type(b[p]):
                    diffs.append(f"body {p}: recorded {_short(a[p])}, sent {_short(b[p])}")
                if len(diffs) >= 6:
                    diffs.append("…")
                    break
            if len(diffs) == before:  # equal leaves, different types (1 vs 1.0): still say where to look
                diffs.append("body differs")
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


def body_distance(wanted: Any, recorded: Any) -> float:
    """How far apart two bodies are (0: the same); ranks recorded exchanges on a miss (slow path only).

    One per differing leaf, except two strings, which count ½ to 1 by how unlike they are: the recorded prompt
    a test edited slightly ranks above an unrelated one.
    """
    if isinstance(wanted, (dict, list)) and isinstance(recorded, (dict, list)):
        a, b = _flatten(recorded), _flatten(wanted)
        return sum(_leaf_distance(a.get(p, _MISSING), b.get(p, _MISSING)) for p in a.keys() | b.keys())
    return _leaf_distance(recorded, wanted)


_MISSING = object()


def _leaf_distance(a: Any, b: Any) -> float:
    if a is _MISSING or b is _MISSING:
        return 1.0
    if a == b and type(a) is type(b):
        return 0.0
    if isinstance(a, str) and isinstance(b, str):
        # quick_ratio is linear (a character multiset bound): fine on long prompts, enough to rank
        return 1.0 - difflib.SequenceMatcher(None, a, b, autojunk=False).quick_ratio() * 0.5
    return 1.0
