"""Provider-correct error responses for injected faults.

A recorded error of the same kind when the cassette directory has one, else a built-in shape that matches what
Bedrock, OpenAI and S3 send.
"""

from __future__ import annotations

import json
import re
import uuid
from http import HTTPStatus
from pathlib import Path
from typing import Any

from replaykit.cassette import bodies
from replaykit.exchange import Exchange, header_value
from replaykit.providers import bedrock as bedrock_provider
from replaykit.providers import openai as openai_provider

Response = dict[str, Any]

_HOP = ("content-length", "transfer-encoding", "content-encoding")
_ERROR_STATUS = re.compile(r"code: ?[45]\d\d")

# Bedrock's messages, statuses and stream exceptions are provider knowledge (replaykit.providers.bedrock)
BEDROCK_MESSAGES = bedrock_provider.ERROR_MESSAGES
BEDROCK_STREAM_MESSAGES = bedrock_provider.STREAM_EXCEPTION_MESSAGES
bedrock_statuses = bedrock_provider.error_statuses
# S3: status -> (Code, Message)
_S3_BY_STATUS = {
    403: ("AccessDenied", "Access Denied"),
    404: ("NoSuchKey", "The specified key does not exist."),
    429: ("SlowDown", "Please reduce your request rate."),
    500: ("InternalError", "We encountered an internal error. Please try again."),
    503: ("SlowDown", "Please reduce your request rate."),
}


def resolve(provider: str, status: int | None, error_type: str | None) -> tuple[int, str | None]:
    """The (status, error type) a fault means for a provider, filling in whichever one is missing."""
    if provider == "bedrock-runtime":
        if error_type is None:
            error_type = bedrock_provider.ERROR_BY_STATUS.get(status or 500, "InternalServerException")
        if status is None:
            status = bedrock_statuses().get(error_type, 500)
        return status, error_type
    if provider == "s3":
        status = status or 503
        return status, error_type or _S3_BY_STATUS.get(status, ("InternalError", ""))[0]
    return status or 500, error_type


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _response(status: int, headers: dict[str, list[str]], raw: bytes) -> Response:
    return {"status": {"code": status, "message": _reason(status)}, "headers": headers, "body": {"string": raw}}


def _json(status: int, headers: dict[str, list[str]], body: Any) -> Response:
    raw = json.dumps(body, separators=(",", ":")).encode("utf-8")
    return _response(status, {**headers, "Content-Length": [str(len(raw))]}, raw)


def bedrock_error(status: int, error_type: str, message: str | None = None) -> Response:
    """A Bedrock Runtime error as the service sends it: ``x-amzn-ErrorType`` header and a ``{"message"}`` body."""
    headers = {k: [v] for k, v in bedrock_provider.error_headers(error_type).items()}
    headers["x-amzn-RequestId"] = [str(uuid.uuid4())]
    raw = bedrock_provider.error_body(error_type, message)
    return _response(status, {**headers, "Content-Length": [str(len(raw))]}, raw)


def openai_error(
    status: int, error_type: str | None = None, message: str | None = None, retry_after: float | None = None
) -> Response:
    """An OpenAI API error: ``{"error": {...}}`` body; 429s carry ``retry-after`` and ``x-ratelimit-*`` headers."""
    template, kind, code = openai_provider.ERRORS_BY_STATUS.get(
        status, ("The server had an error.", "server_error", None)
    )
    text = template.format(model="gpt-4o-mini")
    headers: dict[str, list[str]] = {
        "content-type": ["application/json"],
        "x-request-id": [f"req_{uuid.uuid4().hex}"],
        "openai-processing-ms": ["12"],
    }
    if status == 429:
        headers.update(
            {
                "x-ratelimit-limit-requests": ["500"],
                "x-ratelimit-remaining-requests": ["0"],
                "x-ratelimit-reset-requests": ["120ms"],
                "x-ratelimit-limit-tokens": ["200000"],
                "x-ratelimit-remaining-tokens": ["199880"],
                "x-ratelimit-reset-tokens": ["36ms"],
            }
        )
    headers.update(retry_headers(retry_after))
    error = {"message": message or text, "type": error_type or kind, "param": None, "code": code}
    return _json(status, headers, {"error": error})


def retry_headers(retry_after: float | None) -> dict[str, list[str]]:
    """``retry-after`` (whole seconds, as OpenAI sends it) plus ``retry-after-ms``, which the SDK prefers."""
    if retry_after is None:
        return {}
    return {"retry-after": [str(int(retry_after))], "retry-after-ms": [str(max(int(retry_after * 1000), 0))]}


def s3_error(status: int, code: str, message: str | None = None) -> Response:
    """An S3 REST error: XML ``<Error>`` body with Code, Message and request ids."""
    request_id = uuid.uuid4().hex[:16].upper()
    text = message or dict(_S3_BY_STATUS.values()).get(code, code)
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{text}</Message><RequestId>{request_id}</RequestId>"
        "<HostId>replaykit-fault</HostId></Error>"
    ).encode()
    headers = {
        "Content-Type": ["application/xml"],
        "x-amz-request-id": [request_id],
        "Content-Length": [str(len(xml))],
    }
    return _response(status, headers, xml)


def built_in(
    provider: str, status: int, error_type: str | None, message: str | None, retry_after: float | None
) -> Response:
    """The built-in error response of a provider."""
    if provider == "bedrock-runtime":
        return bedrock_error(status, error_type or "InternalServerException", message)
    if provider == "s3":
        return s3_error(status, error_type or "InternalError", message)
    return openai_error(status, error_type, message, retry_after)


def error_type_of(ex: Exchange) -> str | None:
    """The provider's name for a recorded error (Bedrock/AWS exception, OpenAI error code/type, S3 Code)."""
    header = header_value(ex.response.headers, "x-amzn-ErrorType")
    if header:
        return header.split(":", 1)[0]
    body = ex.response.body
    if body.kind == "json" and isinstance(body.value, dict):
        if isinstance(body.value.get("__type"), str):
            return body.value["__type"].rsplit("#", 1)[-1]
        err = body.value.get("error")
        if isinstance(err, dict):
            return err.get("code") or err.get("type")
    if body.kind == "text":
        m = re.search(r"<Code>([^<]+)</Code>", str(body.value))
        if m:
            return m.group(1)
    return None


class ShapeLibrary:
    """Recorded error exchanges under a cassette directory, indexed by (provider, status)."""

    def __init__(self, root: str | Path | None) -> None:
        self.root = Path(root) if root else None
        self._index: dict[tuple[str, int], list[tuple[str | None, Exchange]]] | None = None

    def _build(self) -> dict[tuple[str, int], list[tuple[str | None, Exchange]]]:
        from replaykit.cassette import iter_cassettes, load_exchanges
        from replaykit.errors import CassetteError

        index: dict[tuple[str, int], list[tuple[str | None, Exchange]]] = {}
        if self.root is None or not self.root.is_dir():
            return index
        for path in iter_cassettes(self.root):
            if path.suffix == ".gz":
                continue
            try:
                # cheap pre-filter: most cassettes hold no error at all and need not be parsed
                if not _ERROR_STATUS.search(path.read_text(encoding="utf-8", errors="replace")):
                    continue
                exchanges = load_exchanges(path)
            except (OSError, CassetteError):
                continue
            for ex in exchanges:
                if ex.response.status >= 400:
                    index.setdefault((ex.provider, ex.response.status), []).append((error_type_of(ex), ex))
        return index

    def find(self, provider: str, status: int, error_type: str | None) -> Exchange | None:
        """A recorded error of this provider and status (and error type, when given)."""
        if self._index is None:
            self._index = _scan_cache(self)
        for found_type, ex in self._index.get((provider, status), []):
            if error_type is None or (found_type or "").lower() == error_type.lower():
                return ex
        return None


_SCANS: dict[str, dict[tuple[str, int], list[tuple[str | None, Exchange]]]] = {}


def _scan_cache(lib: ShapeLibrary) -> dict[tuple[str, int], list[tuple[str | None, Exchange]]]:
    # one scan per directory and process: every test's plan asks the same question of the same files
    key = str(lib.root.resolve()) if lib.root else ""
    if key not in _SCANS:
        _SCANS[key] = lib._build()
    return _SCANS[key]


def from_recorded(ex: Exchange, retry_after: float | None) -> Response:
    """A vcrpy response dict replaying a recorded error (retry hints replaced by the fault's own)."""
    raw = bodies.encode(ex.response.body)
    headers = {k: list(v) for k, v in ex.response.headers.items() if k.lower() not in _HOP}
    if ex.provider == "openai" and retry_after is not None:
        headers = {k: v for k, v in headers.items() if k.lower() not in ("retry-after", "retry-after-ms")}
        headers.update(retry_headers(retry_after))
    headers["Content-Length"] = [str(len(raw))]
    return {
        "status": {"code": ex.response.status, "message": ex.response.reason or _reason(ex.response.status)},
        "headers": headers,
        "body": {"string": raw},
    }
