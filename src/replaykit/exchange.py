"""The decoded, in-memory form of a cassette: exchanges made of requests and responses with decoded bodies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

BodyKind = Literal["empty", "json", "text", "base64", "eventstream", "sse"]


@dataclass
class Body:
    """A decoded body: ``kind`` says how ``value`` is stored and how it re-encodes to bytes."""

    kind: BodyKind = "empty"
    value: Any = None
    json_style: str | None = None
    # the wire form the value was decoded from, redone on replay: ``Content-Encoding`` layers (``gzip, br``)
    # and a text charset other than plain UTF-8 (``utf-16-le``, with ``bom``)
    content_encoding: str | None = None
    charset: str | None = None
    bom: bool = False


@dataclass
class Request:
    """A recorded request with its decoded body."""

    method: str
    uri: str
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: Body = field(default_factory=Body)


@dataclass
class Response:
    """A recorded response with its decoded body."""

    status: int
    reason: str = ""
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: Body = field(default_factory=Body)

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased; empty when the header is absent."""
        return content_type_of(self.headers)


@dataclass
class Exchange:
    """One recorded request/response pair and the operation it belongs to."""

    index: int
    operation: str
    request: Request
    response: Response

    @property
    def provider(self) -> str:
        """The provider part of the operation (``bedrock-runtime``, ``openai``, ``s3``, ``http``)."""
        return self.operation.split(".", 1)[0]

    @property
    def name(self) -> str:
        """The operation name without the provider (``Converse``, ``chat.completions``)."""
        return self.operation.split(".", 1)[1] if "." in self.operation else self.operation


def header_value(headers: dict[str, list[str]], name: str) -> str | None:
    """The first value of a header, looked up case-insensitively."""
    lname = name.lower()
    for key, values in headers.items():
        if key.lower() == lname and values:
            return values[0]
    return None


def content_type_of(headers: dict[str, list[str]]) -> str:
    """The media type of a header set, without parameters, lower-cased."""
    value = header_value(headers, "content-type") or ""
    return value.split(";", 1)[0].strip().lower()
