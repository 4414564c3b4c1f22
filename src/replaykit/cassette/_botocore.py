"""Replayed boto3 answers at botocore's HTTP session, one step above urllib3 (vcrpy answers below it).

vcrpy answers a boto3 request from a stubbed ``HTTPConnection`` under urllib3. Per request that builds a pool
connection, a stub connection (which re-patches and un-patches every HTTP library vcrpy knows, twice) and a fake
socket response for urllib3 to read: measured at 1.8-2.1× an in-memory mock for ConverseStream and S3 GETs. An
in-memory mock answers at botocore's ``before-send``; this answers one step later, in ``URLLib3Session.send``,
with the objects the real path hands botocore (an ``AWSResponse`` over a urllib3 ``HTTPResponse``), so botocore
parses, validates checksums and streams exactly as it does live.

Only requests the cassette can answer *now* take this path. Everything else goes on to the real ``send`` and
vcrpy, unchanged: a miss (the NoMatchError text, the network guard), a recording, a request whose body is a
stream (it could be read only once), and any request while a ``before_send`` subscriber may step in (a fault
plan's transport errors are raised inside vcrpy's stub, where botocore maps them as it maps real socket errors).
"""

from __future__ import annotations

import io
from typing import Any


def send_patch(cassette: Any) -> tuple[Any, str, Any] | None:
    """A patch triple answering the cassette's boto3 requests in ``URLLib3Session.send``.

    Installed with vcrpy's stubs, once per process, for ``cassette`` = the active cassette
    (``IndexedCassette.session_patches``).
    """
    try:
        from botocore.httpsession import URLLib3Session
    except ImportError:  # pragma: no cover - botocore is a dependency; vcrpy's own stubs still work without it
        return None
    # the unpatched send, even when another cassette's patch is active (nested cassettes answer innermost only)
    real_send = getattr(URLLib3Session.send, "_replaykit_real", URLLib3Session.send)

    def send(self: Any, request: Any) -> Any:
        response = answer(cassette, request)
        return real_send(self, request) if response is None else response

    send._replaykit_real = real_send  # type: ignore[attr-defined]
    return (URLLib3Session, "send", send)


def answer(cassette: Any, request: Any) -> Any:
    """The ``AWSResponse`` for a botocore request the cassette plays now, else None (nothing played or noted)."""
    body = request.body
    if body is not None and not isinstance(body, (bytes, bytearray, str)):
        return None
    from vcr.request import Request

    # what vcrpy's stub would build from the same request: the URL as sent, the headers, the body bytes
    headers = {k: (v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in _header_items(request.headers)}
    played = cassette.play_if_playable(Request(request.method, request.url, body, headers))
    if played is None:
        return None
    return _aws_response(request, played)


def _header_items(headers: Any) -> Any:
    """The (name, value) pairs of a botocore request's headers.

    botocore's ``HeadersDict`` wraps every name in a case-insensitive key object, so ``items()`` builds and hashes
    one per header; its names iterate in the order of its store, which the values are read from directly.
    """
    store = getattr(headers, "_dict", None)
    if isinstance(store, dict) and len(store) == len(headers):
        return zip(headers, store.values(), strict=True)
    return headers.items()


def _aws_response(request: Any, played: Any) -> Any:
    from botocore.awsrequest import AWSResponse
    from urllib3 import HTTPResponse
    from urllib3._collections import HTTPHeaderDict

    code, reason, pairs, joined, data = _wire(played)
    headers = HTTPHeaderDict()
    for name, value in pairs:
        headers.add(name, value)
    raw = HTTPResponse(
        body=io.BytesIO(data),
        headers=headers,
        status=code,
        reason=reason,
        preload_content=False,
        decode_content=False,
        enforce_content_length=False,
    )
    # what botocore reads iterating urllib3's headers (a repeated name's values joined), without the iteration
    response = AWSResponse(request.url, code, joined, raw)
    if not request.stream_output:
        response.content  # noqa: B018 - botocore reads non-streamed bodies at once, as URLLib3Session.send does
    return response


_Wire = tuple[int, Any, tuple[tuple[str, str], ...], dict[str, str], bytes]


def _wire(played: Any) -> _Wire:
    """(status code, reason, header pairs, the same joined by name as urllib3 joins them, body bytes) of a response.

    A recorded exchange's wire form (its body re-encoded: event-stream frames with their CRCs, JSON, the
    Content-Length and checksums that describe them) is built once per process and kept on its decoded response,
    which the in-process memo shares between every load of the same cassette bytes. It is rebuilt if the decoded
    response no longer holds the same body, headers and status, and never taken for a response the caller
    already materialised (or built by hand): those are read as they are.
    """
    exchange = getattr(played, "exchange", None)
    if exchange is None or dict.__contains__(played, "headers") or dict.__contains__(played, "body"):
        return _read(played)
    resp = exchange.response
    stamp = (resp.body, resp.headers, resp.status, resp.reason, exchange.request.method)
    cached = resp.__dict__.get("_replaykit_wire")
    if cached is not None and all(a is b for a, b in zip(cached[0], stamp, strict=True)):
        return cached[1]
    wire = _read(played)
    resp.__dict__["_replaykit_wire"] = (stamp, wire)
    return wire


def _read(played: dict[str, Any]) -> _Wire:
    status = played["status"]
    pairs: list[tuple[str, str]] = []
    # subscripts, not .get(): a replayed response builds its headers and body on first access (``__missing__``)
    for name, values in (played["headers"] or {}).items():
        for value in values if isinstance(values, list) else [values]:
            pairs.append((name, value))
    data = (played["body"] or {}).get("string") or b""
    if isinstance(data, str):
        data = data.encode("utf-8")
    by_name: dict[str, tuple[str, list[str]]] = {}  # case-insensitive, first spelling kept: HTTPHeaderDict's rules
    for name, value in pairs:
        by_name.setdefault(name.lower(), (name, []))[1].append(value)
    joined = {name: ", ".join(values) for name, values in by_name.values()}
    return int(status["code"]), status.get("message"), tuple(pairs), joined, bytes(data)
