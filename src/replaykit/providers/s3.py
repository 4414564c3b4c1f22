"""S3: path-style and virtual-hosted URLs reduced to one canonical form, operations from botocore's routes."""

from __future__ import annotations

import re

from replaykit.providers import aws

SERVICE = "s3"
# bucket.s3.amazonaws.com, bucket.s3.eu-west-1.amazonaws.com, s3.amazonaws.com, s3.eu-west-1.amazonaws.com,
# bucket.s3-eu-west-1.amazonaws.com (legacy dash form)
HOST_RE = re.compile(r"^(?:(?P<bucket>.+)\.)?s3(?:[.-](?P<region>[a-z0-9-]+))?(?:\.dualstack)?\.amazonaws\.com$")


def split_host(host: str) -> tuple[str | None, str | None] | None:
    """(bucket, region) for an S3 host, or None when the host is not S3."""
    m = HOST_RE.match(host)
    if not m:
        return None
    region = m.group("region")
    if region in ("dualstack",):
        region = None
    return m.group("bucket"), region


def canonical_host(bucket: str | None, region: str) -> str:
    """The virtual-hosted host boto3 addresses for a bucket in a region (global form for us-east-1)."""
    base = "s3.amazonaws.com" if region == "us-east-1" else f"s3.{region}.amazonaws.com"
    return f"{bucket}.{base}" if bucket else base


def path_style(bucket: str | None, path: str) -> str:
    """A virtual-hosted request path turned into the path-style form botocore's routes use."""
    if not bucket:
        return path or "/"
    return f"/{bucket}{path if path.startswith('/') else '/' + path}"


def operation(method: str, path_style_path: str, query: str, headers: dict[str, str]) -> str:
    """``s3.<Operation>``; required headers (``x-amz-copy-source``) tell CopyObject from PutObject."""
    name = aws.operation_name(SERVICE, method, path_style_path, query, frozenset(h.lower() for h in headers))
    if name is None and method == "GET":
        name = "GetObject" if path_style_path.count("/") >= 2 else "ListObjects"
    return f"{SERVICE}.{name}" if name else f"http.{method}"


def decode_aws_chunked(body: bytes) -> bytes:
    """The payload of an ``aws-chunked`` body (what botocore streams for PutObject with trailing checksums)."""
    out = bytearray()
    i = 0
    while i < len(body):
        end = body.find(b"\r\n", i)
        if end < 0:
            break
        size_field = body[i:end].split(b";", 1)[0]
        try:
            size = int(size_field, 16)
        except ValueError:
            return body  # not aws-chunked after all: keep what was sent
        if size == 0:
            break
        out += body[end + 2 : end + 2 + size]
        i = end + 2 + size + 2
    return bytes(out)
