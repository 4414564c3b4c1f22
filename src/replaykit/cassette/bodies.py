"""Bodies between wire bytes and their readable cassette form (JSON, events, text), and back.

Decoding picks the most readable faithful form: parsed JSON, decoded AWS event stream messages, parsed SSE
events, UTF-8 text; base64 only for bytes that are none of those. Encoding produces bytes the SDKs parse
exactly as they parsed the recorded ones (CRCs recomputed, compact JSON as the providers send it).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import struct
from typing import Any

from replaykit.codecs import cbor, checksums, compression, eventstream, sse
from replaykit.codecs import charset as _charset
from replaykit.codecs.charset import Charset
from replaykit.codecs.safe import load_json
from replaykit.errors import CodecError
from replaykit.exchange import Body

_JSON_TYPES = ("application/json", "application/x-amz-json-1.0", "application/x-amz-json-1.1", "text/json")
_TEXT_TYPES = ("text/", "application/xml", "application/x-www-form-urlencoded", "application/javascript")
_SPECIAL_HEADERS = (":event-type", ":exception-type", ":error-code", ":message-type")


MAX_DECOMPRESSED = compression.MAX_DECOMPRESSED  # past this a body is kept compressed (a decompression bomb)


def decompress(raw: bytes, encoding: str) -> bytes | None:
    """The body with every Content-Encoding layer undone (``gzip, gzip``: last applied, first undone).

    None when any layer cannot be undone (unknown, damaged, or a bomb): then the body is stored as sent.
    """
    return compression.undo(raw, encoding)


def decode_wire(
    raw: bytes | None,
    content_type: str,
    content_encoding: str | None = None,
    *,
    event_stream: bool = False,
    verbatim: bool = False,
) -> tuple[Body, bool]:
    """Like ``decode``, after undoing the ``Content-Encoding`` layers, which the Body records for ``encode_wire``.

    The flag says whether ``encode_wire`` gives the decoded content back byte for byte (compression layers are
    redone deterministically, not necessarily as the server did them: what they decode to is exact).
    """
    layers = None
    if content_encoding and raw and compression.layers_of(content_encoding) != ["identity"]:
        plain = compression.undo(raw, content_encoding)
        if plain is not None:
            raw, layers = plain, ", ".join(compression.layers_of(content_encoding))
        elif already_decoded(raw, content_encoding):
            layers = ", ".join(compression.layers_of(content_encoding))
    body, exact = decode(raw, content_type, event_stream=event_stream, verbatim=verbatim)
    if layers is not None:
        body.content_encoding = layers
    return body, exact


def already_decoded(raw: bytes, content_encoding: str) -> bool:
    """True when a body whose header names known Content-Encoding layers arrived with them already undone.

    vcrpy's urllib3 stub (boto3's transport) records ``response.data``, which urllib3 decodes, under the original
    headers: the bytes are the content while ``Content-Encoding: gzip`` still says otherwise.
    """
    layers = compression.layers_of(content_encoding)
    if not layers or any(e not in compression.LAYERS for e in layers) or compression.undo(raw, content_encoding):
        return False
    # data still in its outer layer (damaged, or a bomb kept as sent) is not content: it keeps its signature, and
    # brotli, which has none, is only taken as undone when what is left reads as text
    outer = {"x-gzip": "gzip", "deflate": "zlib"}.get(layers[-1], layers[-1])
    if outer == "br":
        return _charset.printable_text(raw) is not None
    return compression.sniff(raw) != outer


def repair_recorded(response: dict[str, Any]) -> None:
    """Make a vcrpy response dict whose body an HTTP stub already decoded describe its bytes again, in place.

    The response a test receives while recording is built from this very dict: with the decoded body under
    ``Content-Encoding: gzip`` and the compressed length, botocore reads short and raises ``IncompleteReadError``.
    The body is compressed again with its layers and Content-Length set to match.
    """
    headers = response.get("headers") or {}
    body = response.get("body") or {}
    raw = body.get("string")
    enc_key = next((k for k in headers if str(k).lower() == "content-encoding"), None)
    if enc_key is None or not isinstance(raw, bytes) or not raw:
        return
    values = headers[enc_key]
    encoding = ", ".join(values) if isinstance(values, list) else str(values)
    if not already_decoded(raw, encoding):
        return
    wire = compression.redo(raw, encoding)
    body["string"] = wire
    # the server's compressed bytes are gone: the checksums must describe the ones rebuilt here
    listed = {str(k): (v if isinstance(v, list) else [str(v)]) for k, v in headers.items()}
    fixed = checksums.refresh(listed, wire, keep_unknown=True)
    for key in list(headers):
        low = str(key).lower()
        if low == "content-length":
            headers[key] = [str(len(wire))] if isinstance(headers[key], list) else str(len(wire))
        elif checksums.is_checksum(low) and str(key) in fixed:
            headers[key] = fixed[str(key)] if isinstance(headers[key], list) else fixed[str(key)][0]


def encode_wire(body: Body) -> bytes:
    """The bytes a replay serves for a body: ``encode``, then its charset and Content-Encoding layers redone.

    Computed once per Body (a cassette replayed by many tests re-compresses nothing after the first play).
    """
    form = (body.kind, id(body.value), body.charset, body.bom, body.content_encoding)
    cached = body.__dict__.get("_wire")
    if cached is not None and cached[0] == form:
        return cached[1]
    raw = encode(body)
    if body.charset and raw:
        raw = Charset(body.charset, body.bom).encode(raw.decode("utf-8"))
    if body.content_encoding:
        raw = compression.redo(raw, body.content_encoding)
    body.__dict__["_wire"] = (form, raw)
    return raw


def wire_content(raw: bytes, content_type: str, content_encoding: str | None) -> bytes:
    """The content of a body's wire bytes as UTF-8 (its Content-Encoding layers and charset undone), if it has any.

    What a live request is compared by, as the recorder stored the recorded one decoded.
    """
    if content_encoding:
        plain = compression.undo(raw, content_encoding)
        if plain is not None:
            raw = plain
    found = _in_charset(raw, content_type)
    return found[0].encode("utf-8") if found is not None else raw


def _in_charset(raw: bytes, content_type: str) -> tuple[str, Charset] | None:
    """(text, charset) of a body in a charset other than plain UTF-8 (UTF-16/32, a BOM); None otherwise."""
    if raw[:1] not in (b"\x00", b"\xef", b"\xfe", b"\xff") and b"\x00" not in raw[:64]:
        if "utf-16" not in content_type.lower() and "utf-32" not in content_type.lower():
            return None
    found = _charset.detect(raw, content_type)
    if found is None or found[1].plain_utf8 or not _is_printable(found[0]):
        return None
    return found


def _with_charset(body: Body, found: Charset) -> Body:
    body.charset, body.bom = found.codec, found.bom
    return body


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _json_body(raw: bytes) -> tuple[Body, bool] | None:
    try:
        text = raw.decode("utf-8")
        value = load_json(text)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(value, (dict, list)):
        return None
    if _compact(value) == text:
        return Body("json", value), True
    if _pretty(value) == text.rstrip("\n") and not text.endswith("\n\n"):
        return Body("json", value, "pretty"), _pretty(value) + ("\n" if text.endswith("\n") else "") == text
    return Body("json", value), False


def decode(
    raw: bytes | None, content_type: str, *, event_stream: bool = False, verbatim: bool = False
) -> tuple[Body, bool]:
    """Decode wire bytes to a Body; the flag says whether ``encode`` reproduces ``raw`` byte for byte.

    ``verbatim`` keeps the exact bytes (text or base64) — S3 object data must come back checksum-identical.
    """
    if not raw:
        return Body("empty"), True
    ctype = content_type.split(";", 1)[0].strip().lower()
    in_charset = _in_charset(raw, content_type)
    if in_charset is not None:
        # UTF-16/32 or BOM-led text: stored as readable text (or JSON) with its charset, redone on replay
        text, found = in_charset
        # the parameters (charset=) described the bytes just decoded, not the UTF-8 handed on
        inner, exact = decode(text.encode("utf-8"), ctype, event_stream=event_stream, verbatim=verbatim)
        if inner.kind in ("json", "text"):
            return _with_charset(inner, found), exact
    if verbatim:
        return _verbatim(raw), True
    if ctype == eventstream.CONTENT_TYPE or (event_stream and not ctype.startswith(("application/json", "text/"))):
        try:
            return Body("eventstream", [_message_to_dict(m) for m in eventstream.decode(raw)]), True
        except CodecError:
            pass  # not a valid stream after all: keep it as opaque bytes below
    if ctype == sse.CONTENT_TYPE:
        try:
            return Body("sse", [_event_to_dict(e) for e in sse.decode(raw)]), False
        except UnicodeDecodeError:
            pass
    if ctype == cbor.CONTENT_TYPE and cbor.looks_like_cbor(raw):
        readable = cbor_body(raw)
        if readable is not None:
            return readable, True
    if ctype in _JSON_TYPES or ctype.endswith("+json") or (not ctype and raw[:1] in (b"{", b"[")):
        parsed = _json_body(raw)
        if parsed is not None:
            return parsed
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Body("base64", base64.b64encode(raw).decode("ascii")), True
    if ctype.startswith(_TEXT_TYPES) or _is_printable(text):
        return Body("text", text), True
    return Body("base64", base64.b64encode(raw).decode("ascii")), True


def cbor_body(raw: bytes) -> Body | None:
    """A CBOR body as JSON (``json_style: cbor``) when it re-encodes to exactly these bytes, else None."""
    try:
        value = cbor.decode(raw)
        if cbor.encode(value) != raw:
            return None
    except CodecError:
        return None
    return Body("json", value, "cbor")


def _verbatim(raw: bytes) -> Body:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Body("base64", base64.b64encode(raw).decode("ascii"))
    return Body("text", text) if _is_printable(text) else Body("base64", base64.b64encode(raw).decode("ascii"))


def _is_printable(text: str) -> bool:
    return all(c.isprintable() or c in "\r\n\t" for c in text)


def encode(body: Body) -> bytes:
    """The wire bytes of a Body."""
    kind, value = body.kind, body.value
    if kind == "empty" or value is None:
        return b""
    if kind == "json":
        if body.json_style == "cbor":
            return cbor.encode(value)
        return (_pretty(value) if body.json_style == "pretty" else _compact(value)).encode("utf-8")
    if kind == "text":
        return str(value).encode("utf-8")
    if kind == "base64":
        try:
            return base64.b64decode(value, validate=False)
        except (binascii.Error, ValueError) as exc:
            raise CodecError(f"body.base64 is not valid base64: {exc}") from exc
    if kind == "eventstream":
        return eventstream.encode([_dict_to_message(ev) for ev in value])
    if kind == "sse":
        return sse.encode([_dict_to_event(ev) for ev in value])
    raise CodecError(f"unknown body kind {kind!r}")


def _message_to_dict(msg: eventstream.Message) -> dict[str, Any]:
    headers = dict(msg.headers)
    out: dict[str, Any] = {}
    for key in (":event-type", ":exception-type", ":error-code"):
        if key in headers:
            out["event"] = headers.pop(key)
            if key != ":event-type":
                out["event_header"] = key
            break
    out["type"] = headers.pop(":message-type", "event")
    if headers:
        out["headers"] = {
            k: (base64.b64encode(v).decode("ascii") if isinstance(v, bytes) else v) for k, v in headers.items()
        }
    payload = msg.payload
    if payload:
        parsed = _json_body(payload)
        # semantic JSON is enough here: botocore json-parses every payload, so compact re-encoding is faithful
        if parsed is not None and isinstance(parsed[0].value, dict):
            value = parsed[0].value
            inner = _decode_chunk_bytes(value.get("bytes"))
            if inner is not None:
                value = {
                    ("bytes_json" if k == "bytes" else k): (inner if k == "bytes" else v) for k, v in value.items()
                }
            out["json"] = value
        else:
            try:
                out["text"] = payload.decode("utf-8")
            except UnicodeDecodeError:
                out["base64"] = base64.b64encode(payload).decode("ascii")
    return out


def _decode_chunk_bytes(value: Any) -> Any:
    """InvokeModelWithResponseStream chunks wrap the model's JSON in base64: unwrap when exact."""
    if not isinstance(value, str):
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    parsed = _json_body(raw)
    if parsed is None:
        return None
    return parsed[0].value


def _dict_to_message(ev: dict[str, Any]) -> eventstream.Message:
    headers: dict[str, Any] = {}
    if "event" in ev:
        headers[ev.get("event_header", ":event-type")] = ev["event"]
    headers.update(ev.get("headers") or {})
    headers[":message-type"] = ev.get("type", "event")
    if "json" in ev:
        value = ev["json"]
        if isinstance(value, dict) and "bytes_json" in value:
            value = {
                ("bytes" if k == "bytes_json" else k): (
                    base64.b64encode(_compact(v).encode("utf-8")).decode("ascii") if k == "bytes_json" else v
                )
                for k, v in value.items()
            }
        payload = _compact(value).encode("utf-8")
    elif "text" in ev:
        payload = str(ev["text"]).encode("utf-8")
    elif "base64" in ev:
        payload = base64.b64decode(ev["base64"])
    else:
        payload = b""
    return eventstream.Message(headers, payload)


def _event_to_dict(ev: sse.Event) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if ev.event is not None:
        out["event"] = ev.event
    if ev.id is not None:
        out["id"] = ev.id
    if ev.retry is not None:
        out["retry"] = ev.retry
    data: Any = ev.data
    if data[:1] in ("{", "["):
        try:
            parsed = load_json(data)
            if _compact(parsed) == data:
                data = parsed
        except ValueError:
            pass
    out["data"] = data
    return out


def _dict_to_event(ev: dict[str, Any]) -> sse.Event:
    data = ev.get("data", "")
    if not isinstance(data, str):
        data = _compact(data)
    return sse.Event(data=data, event=ev.get("event"), id=ev.get("id"), retry=ev.get("retry"))


# ---- embeddings: base64 float32 vectors are stored as numbers ----------------------------------------------
# OpenAI's `encoding_format="base64"` returns each vector as base64 of little-endian float32s. Stored as is, a
# vector is a long random-looking string: unreadable in review and flagged by entropy scanners (detect-secrets).
# The cassette stores the numbers instead (float32 → Python float is exact, so re-encoding gives the same bytes).
EMBEDDING_KEY = "float32_base64"


def _floats_of(text: str) -> list[float] | None:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw or len(raw) % 4:
        return None
    values = list(struct.unpack(f"<{len(raw) // 4}f", raw))
    if any(math.isnan(v) or math.isinf(v) for v in values) or _b64_of(values) != text:
        return None
    return values


def _b64_of(values: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode("ascii")


def _map_embeddings(value: Any, fn: Any) -> Any:
    """``value`` with ``fn`` applied to each ``data[i].embedding`` (the only place OpenAI puts vectors)."""
    data = value.get("data") if isinstance(value, dict) else None
    if not isinstance(data, list) or not any(isinstance(d, dict) and "embedding" in d for d in data):
        return value
    items = []
    for item in data:
        if isinstance(item, dict) and "embedding" in item:
            new = fn(item["embedding"])
            item = item if new is None else {**item, "embedding": new}
        items.append(item)
    return {**value, "data": items}


def pack_embeddings(value: Any) -> Any:
    """A JSON body with each base64 ``data[i].embedding`` replaced by ``{float32_base64: [numbers]}``."""

    def pack(v: Any) -> Any:
        floats = _floats_of(v) if isinstance(v, str) and len(v) >= 16 else None
        return None if floats is None else {EMBEDDING_KEY: floats}

    return _map_embeddings(value, pack)


def unpack_embeddings(value: Any) -> Any:
    """The inverse of ``pack_embeddings``: the exact base64 strings the provider sent."""

    def unpack(v: Any) -> Any:
        if isinstance(v, dict) and len(v) == 1 and isinstance(v.get(EMBEDDING_KEY), list):
            numbers = v[EMBEDDING_KEY]
            if all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in numbers):
                return _b64_of([float(n) for n in numbers])
        return None

    return _map_embeddings(value, unpack)
