"""Which provider a request talks to, the operation it calls, and its canonical, credential-free form.

Each provider's knowledge lives in its own module (``bedrock``, ``s3``, ``openai``; ``aws`` is the generic
botocore-model-driven part, for every AWS service and protocol). This module decides the service, from the SigV4
credential scope when the request is signed and from the host otherwise, and dispatches.

``identify`` is cached on small hashable arguments: what selects an operation besides method and URI is
extracted once per request by ``selectors`` (the S3 copy-source header, ``X-Amz-Target``, a query protocol's
``Action``, the credential scope), so identification stays O(1) per request whatever the body size.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

from replaykit.errors import UnknownServiceError
from replaykit.providers import aws, bedrock, openai, s3

log = logging.getLogger("replaykit")

_DOMAIN = r"(?:amazonaws\.com(?:\.cn)?|api\.aws)"
# dynamodb.us-west-2.amazonaws.com, runtime.sagemaker.eu-west-1.amazonaws.com, bedrock-runtime-fips.…,
# dynamodb.us-west-2.api.aws (dual-stack), sts.amazonaws.com (global)
_AWS_HOST = re.compile(
    r"^(?P<prefix>[a-z0-9][a-z0-9.-]*?)(?:-fips)?(?:\.dualstack)?"
    r"(?:\.(?P<region>[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d+))?\." + _DOMAIN + "$"
)
_SCOPE = re.compile(r"Credential=[^/,\s]*/\d{8}/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9.-]+)/aws4_request")
_SCOPE_QUERY = re.compile(r"(?:^|&)X-Amz-Credential=[^&/]*(?:/|%2F)\d{8}(?:/|%2F)([a-z0-9-]+)(?:/|%2F)([a-z0-9.-]+)")
_ACTION = re.compile(r"(?:^|&)Action=([A-Za-z0-9]+)")
# signing names of APIs users define themselves (API Gateway): plain HTTP to replaykit, never moved to an AWS host
_USER_APIS = frozenset(("execute-api",))
ACCOUNT_IN_ARN = re.compile(r"(arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:)(\d{12})(?=:)")
PLACEHOLDER_ACCOUNT = "000000000000"


@dataclass(frozen=True)
class Identity:
    """What a request is: provider, operation and the canonical parts matching compares."""

    provider: str
    operation: str
    path: str
    query: tuple[tuple[str, str], ...]
    volatile_fields: tuple[str, ...] = ()
    event_stream: bool = False


class Selectors(NamedTuple):
    """What, besides method and URI, selects a request's operation and service (all cheap to hash)."""

    copy_source: bool = False  # S3: x-amz-copy-source tells CopyObject from PutObject
    target: str = ""  # json protocol: X-Amz-Target, "<targetPrefix>.<Operation>"
    action: str = ""  # query/ec2 protocols: Action= in the form body or the query string
    scope: str = ""  # SigV4 credential scope "<region>/<signing name>"


def scrub_accounts(text: str) -> str:
    """Replace AWS account ids inside ARNs with the placeholder account."""
    return ACCOUNT_IN_ARN.sub(lambda m: m.group(1) + PLACEHOLDER_ACCOUNT, text)


def _lowered(headers: Mapping[str, Any]) -> dict[str, Any]:
    """The headers by lower-case name, in one pass (a name spelt in lower case wins, else the first spelling)."""
    lower_items = getattr(headers, "lower_items", None)
    if callable(lower_items):  # a case-insensitive mapping (vcrpy's, requests'): one value per name already
        return dict(lower_items())
    out: dict[str, Any] = {}
    for k, v in headers.items():
        low = k.lower()
        if low not in out or k == low:
            out[low] = v
    return out


def _header_in(lowered: dict[str, Any], name: str) -> str:
    value = lowered.get(name)
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return str(value)


def _action_of(body: Any) -> str:
    if body is None:
        return ""
    if hasattr(body, "kind"):  # a decoded cassette Body: query-protocol forms are stored as text
        body = body.value if body.kind == "text" else None
    if isinstance(body, (bytes, bytearray, memoryview)):
        head_bytes = bytes(body[:512])
        if b"Action=" not in head_bytes:  # nearly every body: no form to read
            return ""
        head = head_bytes.decode("latin-1")
    elif isinstance(body, str):
        head = body[:512]
    else:
        return ""
    m = _ACTION.search(head)
    return m.group(1) if m else ""


def selectors(uri: str, headers: Mapping[str, Any], body: Any = None) -> Selectors:
    """The operation selectors of a request: from its headers, the query string and the head of a form body."""
    scope = ""
    lowered = _lowered(headers)
    auth = _header_in(lowered, "authorization")
    m = _SCOPE.search(auth) if auth else None
    if m:
        scope = f"{m.group('region')}/{m.group('service')}"
    else:
        query = uri.partition("?")[2]
        if "Credential" in query:
            q = _SCOPE_QUERY.search(query)
            if q:
                scope = f"{q.group(1)}/{q.group(2)}"
    action = _action_of(body)
    if not action and "Action=" in uri:
        action = _action_of(uri.partition("?")[2])
    return Selectors(bool(_header_in(lowered, "x-amz-copy-source")), _header_in(lowered, "x-amz-target"), action, scope)


def identify_request(method: str, uri: str, headers: Mapping[str, Any], body: Any = None) -> Identity:
    """``identify`` for a request with headers and a body (raw bytes, text or a decoded cassette Body)."""
    return identify(method.upper(), uri, *selectors(uri, headers, body))


@lru_cache(maxsize=32768)  # big S3 listings: keep their keys (a miss re-runs the route lookup)
def identify(
    method: str, uri: str, copy_source: bool = False, target: str = "", action: str = "", scope: str = ""
) -> Identity:
    """Identify a request by method, URI and its ``Selectors`` (see ``selectors``).

    The service comes from the SigV4 scope when the request is signed (global, FIPS, dual-stack and VPC
    endpoints and custom endpoint URLs identify like regional hosts), else from an AWS host's endpoint prefix.
    """
    parts = urlsplit(uri)
    host = (parts.hostname or "").lower()
    method = method.upper()
    raw_query = parts.query
    path = scrub_accounts(unquote(parts.path or "/"))
    if host == openai.HOST:
        query = _canonical_query(raw_query, frozenset())
        return Identity("openai", openai.operation(method, parts.path), path, query, openai.VOLATILE_REQUEST_FIELDS)
    signing = scope.partition("/")[2]
    split = s3.split_host(host)
    if split is not None or signing == "s3" and not _AWS_HOST.match(host):
        bucket = split[0] if split is not None else None
        style = s3.path_style(bucket, unquote(parts.path or "/"))
        headers = {"x-amz-copy-source": "1"} if copy_source else {}
        op = s3.operation(method, style, raw_query, headers)
        return Identity("s3", op, style, _canonical_query(raw_query, aws.VOLATILE_QUERY))
    m = _AWS_HOST.match(host)
    prefix = m.group("prefix") if m else ""
    if signing in _USER_APIS or prefix.rpartition(".")[2] in _USER_APIS:
        # an API Gateway API is the user's own HTTP API, not an AWS operation (IAM auth signs it as execute-api)
        return Identity("http", f"http.{method}", f"{host}{path}", _canonical_query(raw_query, frozenset()))
    candidates: tuple[str, ...] = ()
    if m:
        # "runtime.sagemaker" is one endpoint prefix; "123456789012.s3-control" is an account label and a prefix
        candidates = aws.services_for(prefix) or ("." in prefix and aws.services_for(prefix.rpartition(".")[2])) or ()
        if signing and candidates:
            # the host names the service; the signature may narrow a shared prefix (rare) but never widens it
            candidates = tuple(s for s in candidates if signing in _names_of(s)) or candidates
    if not candidates and signing:
        candidates = aws.services_for(signing)
    if not candidates:
        if m or signing:
            raise UnknownServiceError(
                f"no AWS service known to botocore answers at {host or uri!r}"
                + (f" (signed for {signing!r})" if signing else "")
                + "; upgrade botocore, or check the endpoint URL"
            )
        return Identity("http", f"http.{method}", f"{host}{path}", _canonical_query(raw_query, frozenset()))
    raw_path = parts.path or "/"
    for service in candidates:
        name = aws.find_operation(service, method, raw_path, raw_query, target, action, _copy(copy_source))
        if name:
            return _aws_identity(service, name, path, raw_query)
    if signing and not m:  # a shared signing name the quick guess missed (events signs EventBridge v2 too)
        for service in aws.more_services_for(signing):
            name = aws.find_operation(service, method, raw_path, raw_query, target, action, _copy(copy_source))
            if name:
                return _aws_identity(service, name, path, raw_query)
    service = candidates[0]
    log.warning(
        "replaykit: cannot tell which %s operation %s %s is (X-Amz-Target: %s); it is recorded as %s.unknown and "
        "matched on method, path and body",
        service,
        method,
        parts.path or "/",
        target or "none",
        service,
    )
    return Identity(service, f"{service}.unknown", path, _canonical_query(raw_query, aws.VOLATILE_QUERY))


def _copy(copy_source: bool) -> frozenset[str]:
    return frozenset(("x-amz-copy-source",)) if copy_source else frozenset()


def _names_of(service: str) -> tuple[str, str]:
    return aws._names(service)


def _aws_identity(service: str, name: str, path: str, raw_query: str) -> Identity:
    volatile = bedrock.VOLATILE_REQUEST_FIELDS if service == bedrock.SERVICE else ()
    return Identity(
        service,
        f"{service}.{name}",
        path,
        _canonical_query(raw_query, aws.VOLATILE_QUERY),
        volatile,
        aws.is_event_stream_output(service, name),
    )


def _canonical_query(query: str, volatile: frozenset[str]) -> tuple[tuple[str, str], ...]:
    pairs = parse_qsl(query, keep_blank_values=True)
    return tuple(sorted((k, scrub_accounts(v)) for k, v in pairs if k.lower() not in volatile))


def canonical_base(provider: str, region: str) -> str:
    """The real provider base URL a sandbox base URL stands for (AWS services: botocore's endpoint rules)."""
    if provider == "openai":
        return f"https://{openai.HOST}"
    if provider == "s3":
        return f"https://{s3.canonical_host(None, region)}"
    return aws.endpoint_url(provider, region)


def is_aws_host(host: str) -> bool:
    """Whether a host is an AWS service endpoint (regional, global, FIPS, dual-stack or S3)."""
    return bool(_AWS_HOST.match(host) or s3.split_host(host))


@lru_cache(maxsize=4096)
def _signed_base(method: str, uri: str, sel: Selectors) -> tuple[str, str] | None:
    """(local base, canonical base) for a signed request to a non-AWS host, from its scope and operation."""
    parts = urlsplit(uri)
    region, _, signing = sel.scope.partition("/")
    local = f"{parts.scheme}://{parts.netloc}"
    if signing == "s3":
        return local, f"https://{s3.canonical_host(None, region)}"
    candidates = aws.services_for(signing)
    if not candidates:
        raise UnknownServiceError(f"no AWS service known to botocore is signed as {signing!r} (request to {local})")
    chosen = candidates[0]
    # the quick guesses first; every model is read only when none of them has the operation
    for service in itertools.chain(candidates, _more(signing)):
        if aws.find_operation(service, method, parts.path or "/", parts.query, sel.target, sel.action, frozenset()):
            chosen = service
            break
    return local, aws.endpoint_url(chosen, region)


def _more(signing: str) -> Iterator[str]:
    yield from aws.more_services_for(signing)  # a generator: the slow lookup runs only if it is reached


def canonical_uri(method: str, uri: str, sel: Selectors, host_map: dict[str, str] | None = None) -> str:
    """The URI a request would have had on the real provider.

    A SigV4-signed request to a host that is not AWS (the sandbox, a custom ``endpoint_url``) moves to the host
    botocore addresses for its signing service and region, never by port; anything else goes through
    ``host_map`` (the OpenAI sandbox base).
    """
    if (
        sel.scope
        and sel.scope.partition("/")[2] not in _USER_APIS
        and not is_aws_host((urlsplit(uri).hostname or "").lower())
    ):
        signed = _signed_base(method.upper(), uri.partition("?")[0], sel)
        if signed is not None:
            return rewrite_to_canonical(uri, {signed[0]: signed[1]})
    return rewrite_to_canonical(uri, host_map or {})


def rewrite_to_canonical(uri: str, host_map: dict[str, str]) -> str:
    """Rewrite a URI recorded against a local target (sandbox) to the provider's real host.

    ``host_map`` maps a local base (``http://127.0.0.1:PORT``) to a canonical base. Path-style S3 requests are
    turned into the virtual-hosted form boto3 sends to AWS, so offline and live cassettes look the same.
    """
    # longest base first: the OpenAI base (…/v1) shares a port with the Bedrock base
    for local, canonical in sorted(host_map.items(), key=lambda kv: -len(kv[0])):
        if uri.startswith(local):
            rest = uri[len(local) :]
            if canonical.startswith("https://s3.") and rest.startswith("/") and len(rest) > 1:
                bucket, _, key = rest[1:].partition("/")
                path, sep, query = bucket.partition("?")
                if sep:  # bucket-level call with a query string and no key
                    return f"https://{path}.{canonical[len('https://') :]}/?{query}"
                return f"https://{bucket}.{canonical[len('https://') :]}/{key}"
            return canonical + rest
    return uri
