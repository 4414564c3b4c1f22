"""Transport-level faults (the exceptions the real HTTP stack raises) and broken streams, for ``faults``.

vcrpy answers a request from inside the HTTP library's transport: ``VCRConnection.getresponse`` for urllib3
(botocore) and ``HTTPTransport.handle_request`` for httpx / httpx2 (openai). An exception raised there travels the
same path a real socket error would, so the SDK maps it to its own error class and retries it as usual.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any

from replaykit.cassette import bodies
from replaykit.exchange import Body, Exchange, content_type_of, header_value
from replaykit.providers import bedrock as bedrock_provider

TRANSPORT_KINDS = ("connect", "disconnect", "read_timeout")


def client_stack(request: Any, provider: str) -> str:
    """The HTTP stack the calling SDK uses, from the request it sent: urllib3, aiohttp, or an httpx-based SDK.

    The SDK names itself in ``User-Agent`` (botocore and aiobotocore, ``OpenAI/Python``, ``Anthropic/Python``);
    without one, the provider's own SDK is assumed.
    """
    agent = str(header_value(dict(request.headers), "user-agent") or "").lower()
    if "aiobotocore" in agent:
        return "aiohttp"
    if "botocore" in agent or "boto3" in agent:
        return "urllib3"
    if "anthropic" in agent:
        return "anthropic"
    if "openai" in agent:
        return "openai"
    return "openai" if provider == "openai" else "urllib3"


def httpx_module(sdk: str) -> ModuleType:
    """The httpx module (``httpx`` or its fork ``httpx2``) that an httpx-based SDK sends through."""
    try:
        client = importlib.import_module(sdk).DefaultHttpxClient
        for base in client.__mro__:
            top = base.__module__.split(".", 1)[0]
            if top in ("httpx", "httpx2"):
                return sys.modules[top]
    except (ImportError, AttributeError):
        pass
    return importlib.import_module("httpx")


def transport_error(kind: str, request: Any, provider: str) -> BaseException:
    """The exception the calling SDK's transport raises for a refused connection, a drop or a read timeout."""
    stack = client_stack(request, provider)
    if stack == "urllib3":
        return _urllib3_error(kind, request.uri)
    if stack == "aiohttp":
        return _aiohttp_error(kind, request.uri)
    return _httpx_error(httpx_module(stack), kind)


def _httpx_error(httpx: Any, kind: str) -> BaseException:
    # the messages httpx maps from httpcore for these socket conditions
    if kind == "connect":
        cls, text = httpx.ConnectError, "[Errno 111] Connection refused"
    elif kind == "read_timeout":
        cls, text = httpx.ReadTimeout, "The read operation timed out"
    else:
        cls, text = httpx.RemoteProtocolError, "Server disconnected without sending a response."
    error: BaseException = cls(text)
    return error


def _urllib3_error(kind: str, uri: str) -> BaseException:
    import http.client

    from urllib3.exceptions import NewConnectionError

    if kind == "connect":
        # urllib3 raises this from connect(); botocore maps it to EndpointConnectionError
        text = f"Failed to establish a new connection to {uri}: [Errno 111] Connection refused"
        return NewConnectionError(None, text)  # type: ignore[arg-type]  # botocore reads only the message
    if kind == "read_timeout":
        # what a socket read raises; urllib3 turns it into ReadTimeoutError (botocore: ReadTimeoutError)
        return TimeoutError("The read operation timed out")
    # what http.client raises when the peer closes: urllib3 wraps it in ProtocolError (ConnectionClosedError)
    return http.client.RemoteDisconnected("Remote end closed connection without response")


def _aiohttp_error(kind: str, uri: str) -> BaseException:
    # what aiohttp raises for these socket conditions; aiobotocore maps them as botocore maps urllib3's
    import aiohttp
    from yarl import URL

    if kind == "connect":
        url = URL(uri)
        key = aiohttp.client_reqrep.ConnectionKey(
            url.host or "", url.port, url.scheme == "https", True, None, None, None
        )
        return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))
    if kind == "read_timeout":
        return aiohttp.ServerTimeoutError("Timeout on reading data from socket")
    return aiohttp.ServerDisconnectedError()


def broken_stream(ex: Exchange, after: int, error_type: str | None, message: str | None) -> dict[str, Any] | None:
    """The recorded stream cut after ``after`` events; None when the response is not a stream.

    AWS event streams get an exception message (``:message-type exception``) framed with valid CRCs, as Bedrock
    sends mid-stream; SSE streams just end, without ``[DONE]``, as when the connection drops.
    """
    body = ex.response.body
    if body.kind == "eventstream":
        kept = [ev for ev in body.value[:after]]
        name = error_type or "modelStreamErrorException"
        extra: dict[str, Any] = {}
        if name == "modelStreamErrorException":
            extra = {"originalStatusCode": 500, "originalMessage": "Internal server error"}
        event_headers, payload = bedrock_provider.stream_exception(name, message, **extra)
        kept.append(
            {
                "event": name,
                "event_header": ":exception-type",
                "type": "exception",
                "headers": {":content-type": event_headers[":content-type"]},
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
    headers: dict[str, list[str]] = {
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
