"""The small request/reply model shared by the sandbox's provider modules and its HTTP server."""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from replaykit.sandbox.profiles import Profile

# header a caller may send to force an error (or a stream cut) on any request
ERROR_HEADER = "x-replaykit-sandbox-error"
# header a caller may send to pick a profile for one request
PROFILE_HEADER = "x-replaykit-sandbox-profile"

# set on every error the sandbox's own input validation produced (naming the field): a recording that stores
# one is warned about loudly, since real providers may accept what the sandbox refused (a newer SDK's value)
VALIDATION_HEADER = "x-replaykit-sandbox-validation"


@dataclass
class Request:
    """One parsed HTTP request; header names are lower-cased."""

    method: str
    path: str  # raw (still percent-encoded) path without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    profile: Profile
    params: dict[str, str] = field(default_factory=dict)  # named groups of the matched route
    raw_target: str = ""  # path and query exactly as sent (what a proxy forwards)

    def header(self, name: str, default: str | None = None) -> str | None:
        """A request header by case-insensitive name."""
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        """The body parsed as JSON; raises ValueError when it is not valid JSON."""
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Reply:
    """One HTTP response: a complete body, or chunks sent with chunked transfer encoding."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    chunks: Iterable[bytes] | None = None
    # drop the connection after the chunks without the terminating zero-length chunk (a cut stream)
    cut: bool = False


Handler = Callable[[Request], Reply]


@dataclass
class Route:
    """A method and a path regex mapped to a handler."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler


def route(method: str, regex: str, handler: Handler) -> Route:
    """Build a route; ``regex`` is matched against the whole raw path."""
    return Route(method, re.compile(regex + r"\Z"), handler)


def http_date() -> str:
    """The current time as an HTTP ``Date`` header value."""
    return email.utils.formatdate(usegmt=True)


def json_bytes(value: Any, *, pretty: bool = False) -> bytes:
    """JSON as the providers write it: compact for AWS, two-space indented for OpenAI."""
    if pretty:
        return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8")
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
