"""Transport-level faults (the exceptions the real HTTP stack raises) and broken streams, for ``faults``.

vcrpy answers a request from inside the HTTP library's transport: ``VCRConnection.getresponse`` for urllib3
(botocore) and ``HTTPTransport.handle_request`` for httpx / httpx2 (openai). An exception raised there travels the
same path a real socket error would, so the SDK maps it to its own error class and retries it as usual.
"""

from __future__ import annotations

import sys
from types import FrameType, ModuleType
from typing import Any

from replaykit.cassette import bodies
from replaykit.exchange import Body, content_type_of

TRANSPORT_KINDS = ("connect", "disconnect", "read_timeout")


def _frames(limit: int = 30) -> list[FrameType]:
    out = []
    frame: FrameType | None = sys._getframe(2)
    while frame is not None and len(out) < limit:
        out.append(frame)
        frame = frame.f_back
    return out


def calling_transport() -> tuple[str, Any, Any]:
    """("httpx", module, request) when an httpx/httpx2 stub is asking, else ("urllib3", connection, None)."""
    for frame in _frames():
        name = frame.f_code.co_name
        filename = frame.f_code.co_filename
        if "httpx_stubs" in filename and name in ("_play_responses", "_vcr_request"):
            module = frame.f_locals.get("httpx")
            if isinstance(module, ModuleType):
                return "httpx", module, _real_request(frame)
        if name == "getresponse" and "vcr" in filename:
            return "urllib3", frame.f_locals.get("self"), None
    # not called from a vcrpy stub (a unit test calling the plan directly): guess from what is imported
    if "httpx2" in sys.modules:
        return "httpx", sys.modules["httpx2"], None
    return "urllib3", None, None


def _real_request(frame: FrameType) -> Any:
    current: FrameType | None = frame
    while current is not None:
        if "real_request" in current.f_locals:
            return current.f_locals["real_request"]
        current = current.f_back
    return None


def transport_error(kind: str, uri: str) -> BaseException:
    """The exception the real transport in use raises for a refused connection, a drop or a read timeout."""
    stack, handle, request = calling_transport()
    if stack == "httpx":
        return _httpx_error(handle, kind, request)
    return _urllib3_error(kind, handle, uri)


def _httpx_error(httpx: Any, kind: str, request: Any) -> BaseException:
    # the messages httpx maps from httpcore for these socket conditions
    if kind == "connect":
        cls, text = httpx.ConnectError, "[Errno 111] Connection refused"
    elif kind == "read_timeout":
        cls, text = httpx.ReadTimeout, "The read operation timed out"
    else:
        cls, text = httpx.RemoteProtocolError, "Server disconnected without sending a response."
    return cls(text, request=request) if request is not None else cls(text)


def _urllib3_error(kind: str, connection: Any, uri: str) -> BaseException:
    import http.client

    from urllib3.exceptions import NewConnectionError

    if kind == "connect":
        # urllib3 raises this from connect(); botocore maps it to EndpointConnectionError
        conn = getattr(connection, "real_connection", connection)
        return NewConnectionError(
            conn, f"Failed to establish a new connection to {uri}: [Errno 111] Connection refused"
        )
    if kind == "read_timeout":
        # what a socket read raises; urllib3 turns it into ReadTimeoutError (botocore: ReadTimeoutError)
        return TimeoutError("The read operation timed out")
    # what http.client raises when the peer closes: urllib3 wraps it in ProtocolError (ConnectionClosedError)
    return http.client.RemoteDisconnected("Remote end closed connection without response")


def _exchange_of(cassette: Any, index: int, response: Any) -> Any:
    from replaykit.cassette.persister import exchange_from_vcr

    exchange = getattr(response, "exchange", None)
    if exchange is not None:
        return exchange
    return exchange_from_vcr(index, cassette.data[index][0], response)[0]


def broken_stream(
    cassette: Any, index: int, response: Any, after: int, error_type: str | None, message: str | None
) -> dict[str, Any] | None:
    """The recorded stream cut after ``after`` events; None when the response is not a stream.

    AWS event streams get an exception message (``:message-type exception``) framed with valid CRCs, as Bedrock
    sends mid-stream; SSE streams just end, without ``[DONE]``, as when the connection drops.
    """
    ex = _exchange_of(cassette, index, response)
    body = ex.response.body
    if body.kind == "eventstream":
        kept = [ev for ev in body.value[:after]]
        name = error_type or "modelStreamErrorException"
        from replaykit.faults._shapes import BEDROCK_STREAM_MESSAGES

        payload: dict[str, Any] = {"message": message or BEDROCK_STREAM_MESSAGES.get(name, name)}
        if name == "modelStreamErrorException":
            payload.update(originalStatusCode=500, originalMessage="Internal server error")
        kept.append(
            {
                "event": name,
                "event_header": ":exception-type",
                "type": "exception",
                "headers": {":content-type": "application/json"},
                "json": payload,
            }
        )
        new_body = Body("eventstream", kept)
    elif body.kind == "sse":
        events = [ev for ev in body.value if ev.get("data") != "[DONE]"]
        new_body = Body("sse", events[:after])
    else:
        return None
    raw = bodies.encode(new_body)
    headers = {
        k: list(v)
        for k, v in ex.response.headers.items()
        if k.lower() not in ("content-length", "transfer-encoding", "content-encoding")
        and not k.lower().startswith("x-amz-checksum-")
    }
    if not content_type_of(headers):
        headers["Content-Type"] = [
            "application/vnd.amazon.eventstream" if body.kind == "eventstream" else "text/event-stream"
        ]
    headers["Content-Length"] = [str(len(raw))]
    return {
        "status": {"code": ex.response.status, "message": ex.response.reason},
        "headers": headers,
        "body": {"string": raw},
    }
