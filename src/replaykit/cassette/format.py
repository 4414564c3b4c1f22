"""Cassette documents on disk ↔ decoded exchanges; reads replaykit, plain vcrpy v1, pydantic-ai and langchain forms.

Writing is atomic (temp file, fsync, rename) so a crash leaves the old cassette or the new one, never half.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from replaykit.cassette import bodies, cache
from replaykit.codecs.safe import MAX_DEPTH, UnsafeDocumentError, check_depth, depth_of, load_json, load_yaml
from replaykit.errors import CassetteError, CodecError, read_bytes
from replaykit.exchange import Body, Exchange, Request, Response, content_type_of, header_value

# 2: JSON bodies may hold embedding vectors as numbers (``float32_base64``) and bodies may be stored decoded from
# their wire form (``content_encoding``, ``charset``/``bom``). A replaykit that reads only format 1 would replay
# those wrong (numbers where the SDK expects base64, plain bytes where S3 served gzip), so it must refuse them.
FORMAT = 2
READS = (1, 2)
# the last key of every cassette replaykit writes, announced by its metadata (``exchanges: N``): a file cut at any
# line boundary (a crash in another tool, a bad merge, a partial copy) loses it, and is an error, not a shorter
# replay. A key, not a comment, so a hand edit through a YAML library keeps it.
END_KEY = "end_of_cassette"
_BODY_KEYS = ("json", "text", "base64", "eventstream", "sse")
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def read_document(path: str | Path) -> dict[str, Any]:
    """Parse a cassette file (YAML, JSON, or gzip of either) into its document, with a precise error if corrupt.

    YAML documents come from the parsed-cassette cache when these exact bytes were parsed (or written) before.
    """
    path = Path(path)
    return parse_document(path, read_bytes(path, "cassette"))


def parse_document(path: Path, raw: bytes, key: str | None = None) -> dict[str, Any]:
    """The document of a cassette's bytes (``path`` names the format); ``key``: their cache key, if known."""
    name = path.name[:-3] if path.suffix == ".gz" else path.name
    # JSON parses about as fast as the cache loads: only YAML is worth an entry
    cached = not name.endswith(".json") and len(raw) >= cache.MIN_BYTES
    if cached:
        key = key or cache.digest(raw)
        doc = cache.load(key, path)
        if isinstance(doc, dict):
            return doc
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise CassetteError(f"not a valid gzip file: {exc}", path=path) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CassetteError(f"not UTF-8 text (byte {exc.start})", path=path) from exc
    with cache.paused_gc():
        if name.endswith(".json"):
            try:
                doc = load_json(text)
            except json.JSONDecodeError as exc:
                raise CassetteError(
                    f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", path=path
                ) from exc
            except UnsafeDocumentError as exc:
                raise CassetteError(str(exc), path=path) from exc
        else:
            try:
                doc = load_yaml(text)
            except UnsafeDocumentError as exc:
                raise CassetteError(str(exc), path=path) from exc
            except yaml.MarkedYAMLError as exc:
                mark = exc.problem_mark
                where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
                raise CassetteError(f"invalid YAML at {where}{exc.problem}", path=path) from exc
            except yaml.YAMLError as exc:
                raise CassetteError(f"invalid YAML: {exc}", path=path) from exc
    if not isinstance(doc, dict):
        raise CassetteError(f"expected a mapping at the top level, found {type(doc).__name__}", path=path)
    if cached and key is not None:
        cache.store(key, doc, path)
    return doc


def document_exchanges(
    doc: dict[str, Any], path: str | Path | None = None, *, within_limits: bool = False
) -> list[Exchange]:
    """Decode the exchanges of a cassette document of any supported flavour.

    ``within_limits``: the document comes from ``parse_document`` (its loaders refuse documents nested deeper than
    ``MAX_DEPTH``, and the parse cache holds only documents within that limit), so no body in it is walked again
    for its depth.
    """
    if "interactions" not in doc and isinstance(doc.get("requests"), list) and isinstance(doc.get("responses"), list):
        doc = {
            "version": 1,
            "interactions": [
                {"request": q, "response": r} for q, r in zip(doc["requests"], doc["responses"], strict=False)
            ],
        }
    version = doc.get("version", 1)
    if version != 1:
        raise CassetteError(f"unknown cassette version {version!r}; replaykit reads version 1", path=path)
    meta = doc.get("replaykit") or {}
    if not isinstance(meta, dict):
        raise CassetteError("`replaykit` must be a mapping", path=path, field="replaykit")
    fmt = meta.get("format", FORMAT)
    if not isinstance(fmt, int) or isinstance(fmt, bool):
        raise CassetteError(f"`replaykit.format` must be an integer, found {fmt!r}", path=path, field="replaykit")
    if fmt not in READS:
        raise CassetteError(
            f"cassette format {meta.get('format')} is not one this replaykit reads "
            f"({', '.join(map(str, READS))}); upgrade replaykit",
            path=path,
        )
    interactions = doc.get("interactions")
    if not isinstance(interactions, list):
        raise CassetteError("`interactions` must be a list", path=path)
    if "exchanges" in meta and END_KEY not in doc:
        raise CassetteError(
            f"truncated: the file ends before its last key `{END_KEY}` (its header announces "
            f"{meta['exchanges']!r} exchanges, {len(interactions)} are left); restore it or re-record it",
            path=path,
        )
    return [exchange_from_interaction(i, item, path, within_limits) for i, item in enumerate(interactions)]


def exchange_from_interaction(
    index: int, item: Any, path: str | Path | None = None, within_limits: bool = False
) -> Exchange:
    """One interaction mapping → Exchange, decoding legacy bodies on the way."""
    try:
        return _exchange_from_interaction(index, item, path, within_limits)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # whatever shape a damaged file takes, the user gets one error naming the file and the exchange
        raise CassetteError(
            f"malformed interaction: {type(exc).__name__}: {exc}", path=path, exchange_index=index
        ) from exc


def _exchange_from_interaction(index: int, item: Any, path: str | Path | None, within_limits: bool) -> Exchange:
    try:
        req_d, resp_d = item["request"], item["response"]
        method = str(req_d["method"]).upper()
        uri = str(req_d["uri"])
        req_headers = _headers(req_d.get("headers"))
        resp_headers = _headers(resp_d.get("headers"))
        # a cut file leaves an exchange without its status or body: an error, never an empty 200 replay
        if "body" not in req_d and "parsed_body" not in req_d:
            raise CassetteError("request has no `body` (truncated?)", path=path, exchange_index=index, field="body")
        if resp_d.get("status", resp_d.get("status_code")) is None:
            raise CassetteError(
                "response has no `status` (truncated?)", path=path, exchange_index=index, field="status"
            )
        if resp_d.get("body") is None and "parsed_body" not in resp_d:
            raise CassetteError("response has no `body` (truncated?)", path=path, exchange_index=index, field="body")
        status = resp_d.get("status") or {}
        code = int(status.get("code", resp_d.get("status_code", 200))) if isinstance(status, dict) else int(status)
        reason = str(status.get("message", "")) if isinstance(status, dict) else ""
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CassetteError(
            f"malformed interaction: missing or invalid {exc}", path=path, exchange_index=index
        ) from exc
    operation = item.get("operation")
    if operation is not None and not isinstance(operation, str):
        raise CassetteError("`operation` must be a string", path=path, exchange_index=index, field="operation")
    req_body = _checked(_decoded_body(req_d), path, index, "request.body", within_limits)
    resp_body = _checked(_decoded_body(resp_d), path, index, "response.body", within_limits)
    # replaykit's own cassettes name the operation and store decoded bodies: identifying the request (and so
    # knowing whether a raw body is an event stream or S3 data) is only needed for other flavours
    if not operation or req_body is None or resp_body is None:
        from replaykit.providers import identify_request

        ident = identify_request(method, uri, req_headers, req_body if req_body is not None else _raw_string(req_d))
        operation = operation or ident.operation
        try:
            verbatim = ident.provider == "s3"
            if req_body is None:
                req_body = _raw_body(req_d, req_headers, False, verbatim)
            if resp_body is None:
                resp_body = _raw_body(
                    resp_d,
                    resp_headers,
                    ident.event_stream and 200 <= code < 300,
                    verbatim and "xml" not in content_type_of(resp_headers),
                )
        except CodecError as exc:
            raise CassetteError(str(exc), path=path, exchange_index=index, field="body") from exc
    return Exchange(
        index, operation, Request(method, uri, req_headers, req_body), Response(code, reason, resp_headers, resp_body)
    )


def _headers(raw: Any) -> dict[str, list[str]]:
    if not raw:
        return {}
    out: dict[str, list[str]] = {}
    for name, values in raw.items() if isinstance(raw, dict) else dict(raw).items():
        if type(values) is list and all(type(v) is str for v in values):
            out[str(name)] = list(values)  # the stored form already: copy, do not convert
            continue
        vals = values if isinstance(values, list) else [values]
        out[str(name)] = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in vals]
    return out


def _decoded_body(part: dict[str, Any]) -> Body | None:
    """The body when the cassette stores it decoded (replaykit, pydantic-ai) or empty; None for raw bytes."""
    if "parsed_body" in part:  # pydantic-ai's serializer
        return Body("json", part["parsed_body"])
    raw = part.get("body")
    if isinstance(raw, dict):
        if not raw:
            return Body("empty")
        for kind in _BODY_KEYS:
            if kind in raw:
                value = bodies.unpack_embeddings(raw[kind]) if kind == "json" else raw[kind]
                return Body(
                    kind,  # type: ignore[arg-type]
                    value,
                    raw.get("json_style"),
                    _opt_str(raw.get("content_encoding")),
                    _opt_str(raw.get("charset")),
                    raw.get("bom") is True,
                )
        raw = raw.get("string", raw.get("content"))
    if raw is None or raw == {}:
        return Body("empty")
    return None


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _raw_string(part: dict[str, Any]) -> Any:
    raw = part.get("body")
    return raw.get("string", raw.get("content")) if isinstance(raw, dict) else raw


def _checked(
    body: Body | None, path: str | Path | None, index: int, where: str, within_limits: bool = False
) -> Body | None:
    """A stored decoded body whose shape every reader can trust, or a CassetteError naming the field.

    ``within_limits``: its document was depth-checked as a whole when it was parsed (or cached), so is the body.
    """
    if body is None:
        return None
    problem = None
    if body.kind in ("eventstream", "sse"):
        if not isinstance(body.value, list):
            problem = f"`{body.kind}` must be a list of events"
        else:
            bad = next((i for i, ev in enumerate(body.value) if not isinstance(ev, dict)), None)
            if bad is not None:
                problem = f"`{body.kind}` event #{bad} must be a mapping, found {type(body.value[bad]).__name__}"
    elif body.kind == "base64":
        if not isinstance(body.value, str):
            problem = "`base64` must be a string"
        else:
            try:
                base64.b64decode("".join(body.value.split()), validate=True)
            except (binascii.Error, ValueError):
                problem = "`base64` is not valid base64"
    elif body.kind == "text" and not isinstance(body.value, str):
        problem = "`text` must be a string"
    if problem is None and body.kind != "empty" and not within_limits:
        try:
            check_depth(body.value)
        except UnsafeDocumentError as exc:
            problem = str(exc)
    if problem:
        raise CassetteError(problem, path=path, exchange_index=index, field=where)
    return body


def _raw_body(part: dict[str, Any], headers: dict[str, list[str]], event_stream: bool, verbatim: bool) -> Body:
    raw = part.get("body")
    if isinstance(raw, dict):
        raw = raw.get("string", raw.get("content"))
    if raw is None or raw == {}:
        return Body("empty")
    data = raw if isinstance(raw, bytes) else str(raw).encode("utf-8")
    body, _exact = bodies.decode_wire(
        data,
        header_value(headers, "content-type") or "",
        header_value(headers, "content-encoding"),
        event_stream=event_stream,
        verbatim=verbatim,
    )
    return body


def body_to_doc(body: Body) -> dict[str, Any]:
    """The cassette form of a body (``{}`` for empty)."""
    if body.kind == "empty":
        return {}
    value = bodies.pack_embeddings(body.value) if body.kind == "json" else body.value
    out: dict[str, Any] = {body.kind: value}
    if body.json_style:
        out["json_style"] = body.json_style
    if body.charset:
        out["charset"] = body.charset
        if body.bom:
            out["bom"] = True
    if body.content_encoding:
        out["content_encoding"] = body.content_encoding
    return out


def exchange_to_doc(ex: Exchange) -> dict[str, Any]:
    """The cassette form of an exchange, keys in reading order."""
    return {
        "operation": ex.operation,
        "request": {
            "method": ex.request.method,
            "uri": ex.request.uri,
            "headers": {k: ex.request.headers[k] for k in sorted(ex.request.headers, key=str.lower)},
            "body": body_to_doc(ex.request.body),
        },
        "response": {
            "status": {"code": ex.response.status, "message": ex.response.reason},
            "headers": {k: ex.response.headers[k] for k in sorted(ex.response.headers, key=str.lower)},
            "body": body_to_doc(ex.response.body),
        },
    }


def make_document(exchanges: list[Exchange], meta: dict[str, Any]) -> dict[str, Any]:
    """A complete cassette document."""
    return {
        "version": 1,
        "replaykit": {"format": FORMAT, **meta, "exchanges": len(exchanges)},
        "interactions": [exchange_to_doc(e) for e in exchanges],
        END_KEY: True,
    }


class _BlockStrDumper(_Dumper):  # type: ignore[misc,valid-type]
    pass


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    # multi-line text (S3 XML, long prompts) as literal blocks so diffs stay line-by-line
    if (
        "\n" in data
        and len(data) < 100_000
        and all(c.isprintable() or c in "\n\t" for c in data)
        and not data.startswith((" ", "\t"))
        and "\t" not in data
        and not any(line.endswith(" ") for line in data.split("\n"))
    ):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_BlockStrDumper.add_representer(str, _str_representer)


# the last YAML text dump_document produced and the cache entry of its document: write_atomic stores the entry
# when it writes that very text, so a cassette is cached as it is written and its first load is not a YAML parse
_last_dump: tuple[str, bytes] | None = None


def dump_document(doc: dict[str, Any], path: str | Path) -> str:
    """Serialise a document for ``path``'s format: block YAML with stable layout, or indented JSON."""
    global _last_dump
    if str(path).endswith(".json"):
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    with cache.paused_gc():
        text = yaml.dump(
            doc, Dumper=_BlockStrDumper, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False
        )
    # a document the loaders would refuse (deeper than MAX_DEPTH) is not cached: every entry is within their limits
    blob = cache.encode(doc) if len(text) >= cache.MIN_BYTES and depth_of(doc) <= MAX_DEPTH else None
    _last_dump = (text, blob) if blob is not None else None
    return text


def write_atomic(path: str | Path, text: str) -> None:
    """Write text to path via a temp file in the same directory, fsync, then rename over the old file."""
    global _last_dump
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    try:
        mode = path.stat().st_mode & 0o777  # a rewritten file keeps the mode of the file it replaces
    except OSError:
        mode = 0o644  # mkstemp's 0600 would hide a new cassette from the rest of the team's tools
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        dir_fd = None
    if dir_fd is not None:
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    pending, _last_dump = _last_dump, None
    # identity, not equality: the entry belongs to this exact text object (the YAML of that document)
    if pending is not None and pending[0] is text and not path.name.endswith(".json"):
        cache.store_blob(cache.digest(data), pending[1], path)


def iter_cassettes(root: str | Path) -> Iterator[Path]:
    """Cassette files under a directory (or the file itself), sorted for stable output."""
    root = Path(root)
    if root.is_file():
        yield root
        return
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.name.startswith(".") and p.name.endswith((".yaml", ".yml", ".json", ".yaml.gz")):
            yield p


def load_exchanges(path: str | Path) -> list[Exchange]:
    """All exchanges of one cassette file, decoded."""
    doc = read_document(path)
    with cache.paused_gc():
        return document_exchanges(doc, path, within_limits=True)
