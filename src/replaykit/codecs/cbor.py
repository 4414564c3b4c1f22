"""CBOR (RFC 8949) as the smithy-rpc-v2-cbor protocol uses it.

Decoded to JSON-like values so cassettes read like JSON documents, and encoded back to the same bytes.

Values map to JSON: maps, arrays, text, integers, floats, booleans and null as themselves; byte strings as
``{"$bytes": "<base64>"}``; tag 1 (epoch timestamps) as ``{"$epoch": <number>}``; any other tag as
``{"$tag": n, "value": v}``; doubles as numbers, single and half floats as ``{"$float32": v}`` /
``{"$float16": v}`` (botocore writes a model's ``float`` at 4 bytes, its ``double`` at 8). Encoding writes the
shortest integer heads and definite lengths: a caller checks ``encode(decode(raw)) == raw`` and keeps the raw
bytes whenever a peer wrote something else (indefinite lengths, long heads).
"""

from __future__ import annotations

import base64
import struct
from typing import Any

from replaykit.errors import CodecError

CONTENT_TYPE = "application/cbor"


_NARROW = {2: ("$float16", ">e", 0xF9), 4: ("$float32", ">f", 0xFA)}


def looks_like_cbor(raw: bytes) -> bool:
    """Whether bytes start like a CBOR map (every rpc-v2-cbor body is one)."""
    return bool(raw) and 0xA0 <= raw[0] <= 0xBF and raw[0] not in (0xBC, 0xBD, 0xBE)


def decode(raw: bytes) -> Any:
    """The JSON-like value of one CBOR data item; CodecError when the bytes are not exactly one item."""
    try:
        value, end = _item(raw, 0)
    except (IndexError, struct.error, UnicodeDecodeError, ValueError) as exc:
        raise CodecError(f"not valid CBOR: {exc}") from exc
    if end != len(raw):
        raise CodecError(f"not valid CBOR: {len(raw) - end} trailing byte(s)")
    return value


def _length(raw: bytes, pos: int, info: int) -> tuple[int | None, int]:
    if info < 24:
        return info, pos
    if info == 31:
        return None, pos  # indefinite
    size = {24: 1, 25: 2, 26: 4, 27: 8}.get(info)
    if size is None:
        raise ValueError(f"reserved additional information {info}")
    return int.from_bytes(raw[pos : pos + size], "big"), pos + size


def _item(raw: bytes, pos: int) -> tuple[Any, int]:
    head = raw[pos]
    major, info = head >> 5, head & 0x1F
    pos += 1
    if major == 7:
        return _simple(raw, pos, info)
    n, pos = _length(raw, pos, info)
    if major == 0:
        return n, pos
    if major == 1:
        return -1 - n, pos  # type: ignore[operator]
    if major in (2, 3):
        if n is None:
            chunks = []
            while raw[pos] != 0xFF:
                chunk, pos = _item(raw, pos)
                chunks.append(chunk)
            pos += 1
            if major == 2:
                blob = b"".join(base64.b64decode(c["$bytes"]) for c in chunks)
                return {"$bytes": base64.b64encode(blob).decode()}, pos
            return "".join(chunks), pos
        data = raw[pos : pos + n]
        if len(data) != n:
            raise ValueError("truncated string")
        pos += n
        return ({"$bytes": base64.b64encode(data).decode("ascii")} if major == 2 else data.decode("utf-8")), pos
    if major == 4:
        out: list[Any] = []
        while (n is None and raw[pos] != 0xFF) or (n is not None and len(out) < n):
            value, pos = _item(raw, pos)
            out.append(value)
        return out, pos + (1 if n is None else 0)
    if major == 5:
        obj: dict[str, Any] = {}
        while (n is None and raw[pos] != 0xFF) or (n is not None and len(obj) < n):
            key, pos = _item(raw, pos)
            if not isinstance(key, str):
                raise ValueError("map keys must be text")
            obj[key], pos = _item(raw, pos)
        return obj, pos + (1 if n is None else 0)
    value, pos = _item(raw, pos)  # major 6: a tag
    if n == 1 and isinstance(value, (int, float)):
        return {"$epoch": value}, pos
    return {"$tag": n, "value": value}, pos


def _simple(raw: bytes, pos: int, info: int) -> tuple[Any, int]:
    if info == 20:
        return False, pos
    if info == 21:
        return True, pos
    if info in (22, 23):
        return None, pos
    if info == 27:
        return struct.unpack(">d", raw[pos : pos + 8])[0], pos + 8
    if info in (25, 26):
        width = 2 if info == 25 else 4
        name, fmt, _ = _NARROW[width]
        return {name: struct.unpack(fmt, raw[pos : pos + width])[0]}, pos + width
    raise ValueError(f"unsupported simple value {info}")


def encode(value: Any) -> bytes:
    """The CBOR bytes of a JSON-like value (the inverse of ``decode``)."""
    out = bytearray()
    _write(out, value)
    return bytes(out)


def _head(out: bytearray, major: int, n: int) -> None:
    if n < 24:
        out.append(major << 5 | n)
    elif n < 1 << 8:
        out += bytes((major << 5 | 24, n))
    elif n < 1 << 16:
        out.append(major << 5 | 25)
        out += n.to_bytes(2, "big")
    elif n < 1 << 32:
        out.append(major << 5 | 26)
        out += n.to_bytes(4, "big")
    else:
        out.append(major << 5 | 27)
        out += n.to_bytes(8, "big")


def _write(out: bytearray, value: Any) -> None:
    if value is None:
        out.append(0xF6)
    elif value is True or value is False:
        out.append(0xF5 if value else 0xF4)
    elif isinstance(value, int):
        _head(out, 0, value) if value >= 0 else _head(out, 1, -1 - value)
    elif isinstance(value, float):
        out.append(0xFB)
        out += struct.pack(">d", value)
    elif isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("$float16", "$float32"):
        for _width, (name, fmt, head) in _NARROW.items():
            if name in value:
                out.append(head)
                out += struct.pack(fmt, float(value[name]))
    elif isinstance(value, str):
        data = value.encode("utf-8")
        _head(out, 3, len(data))
        out += data
    elif isinstance(value, dict) and set(value) == {"$bytes"}:
        data = base64.b64decode(value["$bytes"])
        _head(out, 2, len(data))
        out += data
    elif isinstance(value, dict) and set(value) == {"$epoch"}:
        out.append(0xC1)
        _write(out, value["$epoch"])
    elif isinstance(value, dict) and set(value) == {"$tag", "value"}:
        _head(out, 6, int(value["$tag"]))
        _write(out, value["value"])
    elif isinstance(value, dict):
        _head(out, 5, len(value))
        for k, v in value.items():
            _write(out, str(k))
            _write(out, v)
    elif isinstance(value, (list, tuple)):
        _head(out, 4, len(value))
        for v in value:
            _write(out, v)
    else:
        raise CodecError(f"cannot encode {type(value).__name__} as CBOR")
