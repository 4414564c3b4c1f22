"""Generic AWS knowledge driven by botocore's service models: operation names from method + request URI."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

import botocore.session

# presigned URL and SigV2 query auth parameters
VOLATILE_QUERY = frozenset(
    q.lower()
    for q in (
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
        "X-Amz-Security-Token",
        "AWSAccessKeyId",
        "Signature",
        "Expires",
        "x-id",
    )
)


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    pattern: re.Pattern[str]
    query_keys: frozenset[str]
    query_literals: tuple[tuple[str, str], ...]
    literal_len: int
    headers: frozenset[str] = frozenset()


def _compile(operation: str, method: str, request_uri: str, headers: frozenset[str] = frozenset()) -> _Route:
    path, _, query = request_uri.partition("?")
    regex = ""
    literal_len = 0
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{"):
            regex += "(.+)" if part.endswith("+}") else "([^/]+)"
        else:
            regex += re.escape(part)
            literal_len += len(part)
    keys: set[str] = set()
    literals: list[tuple[str, str]] = []
    for item in query.split("&") if query else []:
        key, eq, value = item.partition("=")
        if key == "x-id":
            continue  # botocore drops x-id when it sends the request
        keys.add(key)
        if eq:
            literals.append((key, value))
    return _Route(operation, method, re.compile(f"^{regex}/?$"), frozenset(keys), tuple(literals), literal_len, headers)


def _required(op: Any, location: str) -> frozenset[str]:
    """Wire names of the required input members bound to a location (header, querystring)."""
    shape = op.input_shape
    if shape is None:
        return frozenset()
    required = set(shape.required_members)
    return frozenset(
        m.serialization.get("name", name).lower() if location == "header" else m.serialization.get("name", name)
        for name, m in shape.members.items()
        if name in required and m.serialization.get("location") == location
    )


@cache
def service_model(service: str) -> Any:
    """botocore's service model (loaded once per process)."""
    return botocore.session.get_session().get_service_model(service)


@cache
def _routes(service: str) -> tuple[_Route, ...]:
    model = service_model(service)
    routes = []
    for name in model.operation_names:
        op = model.operation_model(name)
        http = op.http
        route = _compile(name, http.get("method", "POST"), http.get("requestUri", "/"), _required(op, "header"))
        extra = _required(op, "querystring") - route.query_keys
        if extra:
            route = _Route(
                route.operation,
                route.method,
                route.pattern,
                route.query_keys | extra,
                route.query_literals,
                route.literal_len,
                route.headers,
            )
        routes.append(route)
    # most specific first: more required query keys and headers, then longer literal path
    routes.sort(key=lambda r: (len(r.query_keys) + len(r.headers), r.literal_len), reverse=True)
    return tuple(routes)


@cache
def operation_name(
    service: str, method: str, path: str, query: str, headers: frozenset[str] = frozenset()
) -> str | None:
    """The botocore operation a request addresses, or None when no route of the service fits.

    ``headers`` are the lower-cased names of request headers that select an operation (S3's copy source).
    """
    params = dict(parse_qsl(query, keep_blank_values=True))
    for route in _routes(service):
        if route.method != method or not route.pattern.match(path):
            continue
        if not route.query_keys <= params.keys() or not route.headers <= headers:
            continue
        if any(params.get(k) != v for k, v in route.query_literals):
            continue
        return route.operation
    return None


@cache
def is_event_stream_output(service: str, operation: str) -> bool:
    """Whether botocore expects an event stream as the operation's response body."""
    model = botocore.session.get_session().get_service_model(service)
    try:
        output = model.operation_model(operation).output_shape
    except Exception:  # unknown operation name: not a stream as far as we know
        return False
    if output is None:
        return False
    return any(getattr(m, "serialization", {}).get("eventstream") for m in output.members.values())


@cache
def has_blob_payload(service: str, operation: str) -> bool:
    """Whether the request body is a streaming blob (S3 object data): opaque bytes, nothing to infer a shape from.

    A non-streaming blob payload (InvokeModel's, InvokeEndpoint's) is the model's JSON and keeps its contract.
    """
    try:
        shape = botocore.session.get_session().get_service_model(service).operation_model(operation).input_shape
    except Exception:  # not an AWS service or operation botocore knows
        return False
    payload = shape.serialization.get("payload") if shape is not None else None
    member = shape.members[payload] if payload else None
    return member is not None and member.type_name == "blob" and bool(member.serialization.get("streaming"))
