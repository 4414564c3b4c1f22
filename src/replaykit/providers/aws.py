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
def botocore_session() -> Any:
    """One botocore session per process for SDK clients and endpoint resolution (its loader parses each model once)."""
    return botocore.session.get_session()


@cache
def model_session() -> Any:
    """A botocore session only for *reading* service models, on which no client is ever built.

    Building a client emits ``service-data-loaded``, whose handlers edit the loader's cached model in place (S3's
    drop ``{Bucket}`` from every request URI): routes read from a model a client has touched identify nothing.
    """
    return botocore.session.get_session()


def data_loader() -> Any:
    """The process's botocore data loader: SDK clients built by replaykit share it (and its parsed models)."""
    return botocore_session().get_component("data_loader")


@cache
def service_model(service: str) -> Any:
    """Botocore's service model (loaded once per process)."""
    return model_session().get_service_model(service)


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
    keys = params.keys()
    for route in _routes_for(service, method):
        # the set tests first: most routes of a method need a query key this request lacks (S3's ?acl, ?tagging…)
        if not route.query_keys <= keys or not route.headers <= headers or not route.pattern.match(path):
            continue
        if any(params.get(k) != v for k, v in route.query_literals):
            continue
        return route.operation
    return None


@cache
def _routes_for(service: str, method: str) -> tuple[_Route, ...]:
    """The service's routes for one HTTP method, in ``_routes`` order (most specific first)."""
    return tuple(route for route in _routes(service) if route.method == method)


@cache
def is_event_stream_output(service: str, operation: str) -> bool:
    """Whether botocore expects an event stream as the operation's response body."""
    model = model_session().get_service_model(service)
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
        shape = model_session().get_service_model(service).operation_model(operation).input_shape
    except Exception:  # not an AWS service or operation botocore knows
        return False
    payload = shape.serialization.get("payload") if shape is not None else None
    member = shape.members[payload] if payload else None
    return member is not None and member.type_name == "blob" and bool(member.serialization.get("streaming"))


# ---- which service: signing names and endpoint prefixes -> botocore service names ------------------------------


@cache
def available_services() -> frozenset[str]:
    """Every service name this botocore knows."""
    return frozenset(model_session().get_available_services())


@cache
def metadata(service: str) -> dict[str, Any]:
    """The ``metadata`` block of a service model (protocol, endpointPrefix, signingName, targetPrefix)."""
    return dict(model_session().get_component("data_loader").load_service_model(service, "service-2")["metadata"])


def _names(service: str) -> tuple[str, str]:
    meta = metadata(service)
    prefix = meta.get("endpointPrefix", service)
    return prefix, meta.get("signingName", prefix)


@cache
def _full_index() -> dict[str, tuple[str, ...]]:
    """Signing name and endpoint prefix -> services, over every model (~3 s: the last resort, once per process)."""
    index: dict[str, list[str]] = {}
    for service in sorted(available_services()):
        for name in set(_names(service)):
            index.setdefault(name, []).append(service)
    return {k: tuple(v) for k, v in index.items()}


@cache
def services_for(name: str) -> tuple[str, ...]:
    """Services whose endpoint prefix or signing name is ``name``, the one whose endpoint prefix it is first.

    Signing names are shared (``bedrock`` signs Bedrock, Bedrock Runtime and the agents; ``sagemaker`` signs
    SageMaker Runtime): the caller tells them apart by which service's operations fit the request. Only models
    whose name shares a word with ``name`` are read; all of them only when none of those fits.
    """
    words = [w for w in re.split(r"[.-]", name) if len(w) >= 2]
    guesses = sorted(s for s in available_services() if s == name or any(s.startswith(w) for w in words))
    found = [s for s in guesses if name in _names(s)]
    if not found:
        found = list(_full_index().get(name, ()))
    # endpoint prefix first (the host named it), then the service of that very name, then the rest
    found.sort(key=lambda s: (_names(s)[0] != name, s != name, s))
    return tuple(found)


def more_services_for(name: str) -> tuple[str, ...]:
    """Services ``services_for`` did not guess from the name (reads every model once: the slow fallback)."""
    guessed = set(services_for(name))
    return tuple(s for s in _full_index().get(name, ()) if s not in guessed)


# ---- which operation, per protocol -------------------------------------------------------------------------------

_CBOR_PATH = re.compile(r"^/service/(?P<service>[^/]+)/operation/(?P<operation>[^/?]+)$")


@cache
def _operation_names(service: str) -> frozenset[str]:
    return frozenset(model_session().get_service_model(service).operation_names)


def protocol_operation(service: str, method: str, raw_path: str, target: str, action: str) -> str | None:
    """The operation of an RPC-style request (json: ``X-Amz-Target``; query/ec2: ``Action``; rpc-v2-cbor: path).

    None when the request carries no selector this service understands (it may still be a REST route).
    """
    meta = metadata(service)
    names = _operation_names(service)
    if target:
        prefix, _, op = target.rpartition(".")
        if op in names and (not prefix or prefix == meta.get("targetPrefix", prefix)):
            return op
    if action and action in names:
        return action
    if method == "POST" and raw_path.startswith("/service/") and "smithy-rpc-v2-cbor" in meta.get("protocols", ()):
        m = _CBOR_PATH.match(raw_path)
        # the path names the service (its target prefix): EventBridge v2 and EventBridge share a signing name
        if m and m.group("operation") in names and m.group("service") == meta.get("targetPrefix", m.group("service")):
            return m.group("operation")
    return None


def is_rpc(service: str) -> bool:
    """Whether every operation of the service is ``POST /`` told apart by a selector, not by its URI."""
    return metadata(service).get("protocol") in ("json", "query", "ec2", "smithy-rpc-v2-cbor")


def find_operation(
    service: str, method: str, raw_path: str, query: str, target: str, action: str, headers: frozenset[str]
) -> str | None:
    """The operation of a request to ``service`` under any protocol, or None."""
    op = protocol_operation(service, method, raw_path, target, action)
    if op is not None or is_rpc(service):
        return op
    return operation_name(service, method, raw_path, query, headers)


# ---- where: the host the SDK addresses for a service and region ---------------------------------------------------


@cache
def endpoint_url(service: str, region: str) -> str:
    """The base URL boto3 addresses on AWS for a service in a region (from botocore's endpoint rules)."""
    from botocore.config import Config

    config = Config(ignore_configured_endpoint_urls=True, use_fips_endpoint=False, use_dualstack_endpoint=False)
    try:
        client = botocore_session().create_client(
            service, region_name=region, aws_access_key_id="x", aws_secret_access_key="x", config=config
        )
        url = str(client.meta.endpoint_url).rstrip("/")
    except Exception:  # a ruleset that needs more than a region (account-scoped services): the classic form
        prefix = _names(service)[0]
        url = f"https://{prefix}.{region}.amazonaws.com"
    return url
