"""The vcrpy persister: readable, sanitized, scanned, atomically written cassettes; lazy decoding on load.

vcrpy hands a persister ``(requests, responses)`` and asks for them back. Here they become decoded
``Exchange`` objects on the way to disk, and come back as requests/responses whose bytes are only
re-encoded when a test actually replays them.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcr.persisters.filesystem import CassetteNotFoundError
from vcr.request import Request as VcrRequest

from replaykit.cassette import bodies, cache
from replaykit.cassette.format import (
    document_exchanges,
    dump_document,
    make_document,
    read_document,
    write_atomic,
)
from replaykit.cassette.memo import _MEMO, MEMO_EXCHANGES, load_cached, remember  # noqa: F401 - re-exported
from replaykit.codecs import checksums
from replaykit.errors import CassetteError, SecretFoundError
from replaykit.exchange import Body, Exchange, Request, Response, content_type_of, header_value
from replaykit.providers import identify_request
from replaykit.scrub.sanitize import Rules, normalise_header_values, scrub_exchange


@dataclass
class PersisterSettings:
    """What the persister needs to know about the run that writes cassettes."""

    rules: Rules = field(default_factory=Rules)
    target: str = "unknown"
    profile: str | None = None
    scan: bool = True
    on_write: Any = None  # called with the path of every cassette written
    # rewrite: the old cassette is neither loaded nor merged, and stays on disk until the new one replaces it
    # atomically, so a crash (even kill -9) mid-test leaves the old cassette, never none
    fresh: bool = False


class RecordedRequest(VcrRequest):
    """A vcrpy request loaded from a cassette; its body bytes are encoded only if someone asks."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self._encoded = False
        headers = {k: ", ".join(v) for k, v in exchange.request.headers.items()}
        super().__init__(exchange.request.method, exchange.request.uri, None, headers)

    @property
    def body(self) -> Any:
        """The request body bytes, encoded from the decoded exchange on first access."""
        if not self._encoded:
            self._body = bodies.encode_wire(self.exchange.request.body) or None
            self._encoded = True
        return self._body

    @body.setter
    def body(self, value: Any) -> None:
        if isinstance(value, str):
            value = value.encode("utf-8")
        self._body = value
        self._encoded = getattr(self, "exchange", None) is not None and value is not None


class LazyResponse(dict[str, Any]):
    """A vcrpy response dict whose headers and body are built from the decoded exchange on first access."""

    def __init__(self, exchange: Exchange) -> None:
        super().__init__(status={"code": exchange.response.status, "message": exchange.response.reason})
        self.exchange = exchange

    def __missing__(self, key: str) -> Any:
        if key not in ("headers", "body"):
            raise KeyError(key)
        self._materialise()
        return dict.__getitem__(self, key)

    def __contains__(self, key: object) -> bool:
        return key in ("status", "headers", "body")

    def _materialise(self) -> None:
        resp = self.exchange.response
        cached = resp.__dict__.get("_replay")
        if cached is not None and cached[0] is resp.body:
            raw, headers = cached[1], {k: list(v) for k, v in cached[2].items()}
        else:
            raw = bodies.encode_wire(resp.body)
            headers = replay_headers(resp.headers, resp.body, raw, self.exchange.request.method, resp.status)
            # one replayed exchange is re-encoded (and its checksums recomputed) once, however often it plays
            resp.__dict__["_replay"] = (resp.body, raw, headers)
            headers = {k: list(v) for k, v in headers.items()}
        dict.__setitem__(self, "headers", headers)
        dict.__setitem__(self, "body", {"string": raw})

    def __deepcopy__(self, memo: dict[int, Any]) -> LazyResponse:
        return LazyResponse(self.exchange)


def replay_headers(
    stored: dict[str, list[str]], body: Body, raw: bytes, method: str, status: int
) -> dict[str, list[str]]:
    """The response headers a replay serves with ``raw``: every header that describes the bytes describes these.

    Content-Encoding names the layers ``raw`` carries (none for a body stored decoded by an older replaykit);
    Content-Length, DynamoDB's ``x-amz-crc32``, ``x-amz-checksum-*`` and ``Content-MD5`` are recomputed.
    """
    headers: dict[str, list[str]] = {}
    for k, v in stored.items():
        low = k.lower()
        if low == "transfer-encoding":
            continue
        if low == "content-encoding" and (body.content_encoding or body.kind not in ("base64", "empty")):
            # a decoded body's layers are the body's to say (below); a readable body stored without a marker (by
            # an older replaykit, or another tool) has none. Raw bytes, and a HEAD's empty body, keep the header
            continue
        headers[k] = list(v)
    if body.content_encoding:
        headers["Content-Encoding"] = [body.content_encoding]
    if method != "HEAD" and status not in (204, 304):
        # the body was re-encoded from its readable form: Content-Length must describe these bytes
        headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
        headers["Content-Length"] = [str(len(raw))]
        # DynamoDB's body CRC, which botocore verifies (and retries on mismatch): it must describe these bytes too
        for name in [k for k in headers if k.lower() == "x-amz-crc32"]:
            headers[name] = [str(zlib.crc32(raw) & 0xFFFFFFFF)]
        headers = checksums.refresh(headers, raw, keep_unknown=True)
    return headers


def exchange_from_vcr(index: int, request: Any, response: dict[str, Any]) -> tuple[Exchange, bool]:
    """Decode a freshly recorded vcrpy (request, response) into an Exchange; flag: body bytes preserved."""
    if isinstance(request, RecordedRequest) and isinstance(response, LazyResponse):
        return request.exchange, True
    req_headers = normalise_header_values(request.headers)
    ident = identify_request(request.method, request.uri, req_headers, request.body)
    # S3 object data must come back checksum-identical: keep its exact bytes
    verbatim = ident.provider == "s3"
    req_body, _ = bodies.decode_wire(
        _as_bytes(request.body),
        header_value(req_headers, "content-type") or "",
        header_value(req_headers, "content-encoding"),
        verbatim=verbatim,
    )
    resp_headers = normalise_header_values(response.get("headers") or {})
    raw = _as_bytes((response.get("body") or {}).get("string"))
    status = response.get("status") or {}
    code = int(status.get("code", 200))
    # compressed and UTF-16/32 bodies are stored decoded (readable, scanned, scrubbed), their wire form beside
    # them: the replay compresses them again and keeps the Content-Encoding header that says so
    resp_body, exact = bodies.decode_wire(
        raw,
        header_value(resp_headers, "content-type") or "",
        header_value(resp_headers, "content-encoding"),
        event_stream=ident.event_stream and 200 <= code < 300,
        verbatim=verbatim and "xml" not in content_type_of(resp_headers),
    )
    if not exact and any(checksums.is_checksum(k) for k in resp_headers):
        # botocore >= 1.36 validates response checksums: a rewritten body must carry checksums of its new bytes
        resp_headers = checksums.refresh(resp_headers, bodies.encode_wire(resp_body))
    return Exchange(
        index,
        ident.operation,
        Request(request.method.upper(), request.uri, req_headers, req_body),
        Response(code, str(status.get("message", "")), resp_headers, resp_body),
    ), exact


def _as_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if hasattr(value, "read"):
        pos = value.tell() if hasattr(value, "tell") else None
        data = value.read()
        if pos is not None:
            value.seek(pos)
        value = data
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (list, tuple)):
        return b"".join(_as_bytes(v) for v in value)
    return bytes(value)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("boto3", "botocore", "openai", "replaykit"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            continue
    return out


def lock_path(path: str | Path) -> Path:
    """A lock file outside the repo for a cassette path, shared by xdist workers on this machine."""
    digest = hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:16]
    root = Path(tempfile.gettempdir()) / "replaykit-locks"
    root.mkdir(exist_ok=True)
    return root / f"{digest}.lock"


class ReplaykitPersister:
    """vcrpy persister writing readable cassettes (see docs/cassette-format.md)."""

    def __init__(self, settings: PersisterSettings | None = None) -> None:
        self.settings = settings or PersisterSettings()

    def load_cassette(self, cassette_path: str | Path, serializer: Any = None) -> tuple[list[Any], list[Any]]:
        """Load a cassette as lazy vcrpy requests/responses; a missing or empty file is 'not found'."""
        path = Path(cassette_path)
        if self.settings.fresh or not path.is_file() or path.stat().st_size == 0:
            raise CassetteNotFoundError()
        exchanges = load_cached(path)
        # tens of thousands of small objects and no cycles: keep the collector from re-walking them as they grow
        with cache.paused_gc():
            return [RecordedRequest(e) for e in exchanges], [LazyResponse(e) for e in exchanges]

    def save_cassette(self, cassette_path: str | Path, cassette_dict: dict[str, Any], serializer: Any = None) -> None:
        """Sanitize, scan and atomically write the cassette (merging with concurrent writers)."""
        from filelock import FileLock

        path = Path(cassette_path)
        exchanges = self.to_exchanges(cassette_dict)
        meta: dict[str, Any] = {
            "recorded_at": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            "target": self.settings.target,
        }
        if self.settings.profile:
            meta["profile"] = self.settings.profile
        meta["versions"] = _versions()
        if self.settings.scan:
            check_secrets(make_document(exchanges, meta), path)
        with FileLock(str(lock_path(path))):
            # another process (an xdist worker) may have written this cassette since we loaded it:
            # keep its exchanges that we do not have, so parallel recording loses nothing
            if not self.settings.fresh and path.is_file() and path.stat().st_size:
                try:
                    exchanges = merge_exchanges(exchanges, document_exchanges(read_document(path), path))
                except CassetteError:
                    pass  # an unreadable old file is replaced whole, never merged
            text = dump_document(make_document(exchanges, meta), path)
            write_atomic(path, text)
        remember(path, text.encode("utf-8"), exchanges)
        if self.settings.on_write is not None:
            self.settings.on_write(path)

    def to_exchanges(self, cassette_dict: dict[str, Any]) -> list[Exchange]:
        """Decoded, scrubbed exchanges of a vcrpy cassette dict."""
        out = []
        for i, (req, resp) in enumerate(zip(cassette_dict["requests"], cassette_dict["responses"], strict=True)):
            ex, _ = exchange_from_vcr(i, req, resp)
            if not (isinstance(req, RecordedRequest) and isinstance(resp, LazyResponse)):
                ex = scrub_exchange(ex, self.settings.rules)
            ex.index = i
            out.append(ex)
        return out


def merge_exchanges(ours: list[Exchange], theirs: list[Exchange]) -> list[Exchange]:
    """Ours, then those of theirs whose request no exchange of ours answers (multiset by match key)."""
    from collections import Counter

    from replaykit.cassette.matching import exchange_selectors, key_of_body

    def key(e: Exchange) -> Any:
        return key_of_body(e.request.method, e.request.uri, e.request.body, sel=exchange_selectors(e))

    have = Counter(key(e) for e in ours)
    merged = list(ours)
    for ex in theirs:
        k = key(ex)
        if have[k]:
            have[k] -= 1
        else:
            merged.append(ex)
    for i, ex in enumerate(merged):
        ex.index = i
    return merged


def check_secrets(doc: dict[str, Any], path: Path) -> None:
    """Refuse to write a document in which the scanner still finds a secret."""
    from replaykit.scrub.scanner import scan_cassette_data, scan_document_text  # never optional: fail closed

    findings = scan_cassette_data(doc, file=str(path))
    if not findings:
        # the second opinion reads the text that would be written, as `detect-secrets scan` would
        findings = scan_document_text(dump_document(doc, path), file=str(path))
    if findings:
        where = "; ".join(f"{f.location} ({f.rule}, {f.preview})" for f in findings[:5])
        raise SecretFoundError(
            f"refused to write {path}: {len(findings)} secret(s) survived sanitization at {where}. "
            "Add a rule under [tool.replaykit.sanitize] or allow-list a placeholder.",
            path=str(path),
            findings=findings,
        )


__all__ = ["Body", "CassetteError", "LazyResponse", "PersisterSettings", "RecordedRequest", "ReplaykitPersister"]
