"""Which provider a request talks to, the operation it calls, and its canonical, credential-free form.

Each provider's knowledge lives in its own module (``bedrock``, ``s3``, ``openai``; ``aws`` is the generic
botocore-model-driven part). This module only dispatches on the host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, unquote, urlsplit

from replaykit.providers import aws, bedrock, openai, s3

_AWS_HOST = re.compile(r"^(?P<prefix>[a-z0-9-]+)\.(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d)\.amazonaws\.com$")
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


def scrub_accounts(text: str) -> str:
    """Replace AWS account ids inside ARNs with the placeholder account."""
    return ACCOUNT_IN_ARN.sub(lambda m: m.group(1) + PLACEHOLDER_ACCOUNT, text)


@lru_cache(maxsize=32768)  # an uncached S3 lookup costs ~46 µs: keep big listings' keys
def identify(method: str, uri: str, copy_source: bool = False) -> Identity:
    """Identify a request by method and URI (``copy_source``: S3's ``x-amz-copy-source`` header is present)."""
    parts = urlsplit(uri)
    host = (parts.hostname or "").lower()
    method = method.upper()
    raw_query = parts.query
    path = scrub_accounts(unquote(parts.path or "/"))
    if host == openai.HOST:
        query = _canonical_query(raw_query, frozenset())
        return Identity("openai", openai.operation(method, parts.path), path, query, openai.VOLATILE_REQUEST_FIELDS)
    if bedrock.HOST_RE.match(host):
        op = bedrock.operation(method, parts.path or "/", raw_query)  # route on the quoted path: ARNs hold '/'
        name = op.split(".", 1)[1]
        return Identity(
            "bedrock-runtime",
            op,
            path,
            _canonical_query(raw_query, aws.VOLATILE_QUERY),
            bedrock.VOLATILE_REQUEST_FIELDS,
            aws.is_event_stream_output(bedrock.SERVICE, name),
        )
    split = s3.split_host(host)
    if split is not None:
        bucket, _region = split
        style = s3.path_style(bucket, unquote(parts.path or "/"))
        headers = {"x-amz-copy-source": "1"} if copy_source else {}
        op = s3.operation(method, style, raw_query, headers)
        return Identity("s3", op, style, _canonical_query(raw_query, aws.VOLATILE_QUERY))
    m = _AWS_HOST.match(host)
    if m:
        service = _service_for_prefix(m.group("prefix"))
        if service:
            name = aws.operation_name(service, method, path, raw_query)
            if name:
                return Identity(
                    service,
                    f"{service}.{name}",
                    path,
                    _canonical_query(raw_query, aws.VOLATILE_QUERY),
                    (),
                    aws.is_event_stream_output(service, name),
                )
    return Identity("http", f"http.{method}", f"{host}{path}", _canonical_query(raw_query, frozenset()))


def _canonical_query(query: str, volatile: frozenset[str]) -> tuple[tuple[str, str], ...]:
    pairs = parse_qsl(query, keep_blank_values=True)
    return tuple(sorted((k, scrub_accounts(v)) for k, v in pairs if k.lower() not in volatile))


@lru_cache(maxsize=256)
def _service_for_prefix(prefix: str) -> str | None:
    import botocore.session

    session = botocore.session.get_session()
    if prefix in session.get_available_services():
        return prefix
    return None


def canonical_base(provider: str, region: str) -> str:
    """The real provider base URL a sandbox base URL stands for."""
    if provider == "openai":
        return f"https://{openai.HOST}"
    if provider == "s3":
        return f"https://{s3.canonical_host(None, region)}"
    return f"https://{bedrock.canonical_host(region)}"


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
