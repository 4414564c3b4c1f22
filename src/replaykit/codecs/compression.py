"""Compression codecs: ``Content-Encoding`` layers and compressed payloads, undone under one size limit.

One place for the decompression-bomb limit (``MAX_DECOMPRESSED``): the recorder, the sanitizer and the scanner all
inflate through here. gzip, zlib and raw deflate come from the standard library; brotli (``brotli``) and zstd
(``compression.zstd``, or its backport ``backports.zstd`` before Python 3.14, the module urllib3 and httpx2 use)
are dependencies.

Re-encoding is deterministic (gzip with mtime 0, fixed levels), so the bytes a replay serves for a body are the
same every time and the checksums recomputed for them stay valid.
"""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from collections.abc import Callable

import brotli

try:  # Python 3.14+
    from compression import zstd  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - depends on the Python version
    from backports import zstd  # type: ignore[no-redef,import-not-found,unused-ignore]

MAX_DECOMPRESSED = 256 * 1024 * 1024  # a body or payload that inflates past this is a bomb: kept as it is
# the Content-Encoding tokens replaykit can undo and redo
LAYERS = ("gzip", "x-gzip", "deflate", "br", "zstd", "identity")
# payload containers found by sniffing (inside base64 strings, binary bodies): their names in scanner locations
PAYLOADS = ("gzip", "zlib", "zstd", "zip", "deflate", "br")


class TooLargeError(ValueError):
    """Data decompresses past the limit (a decompression bomb)."""


def _inflate(raw: bytes, wbits: int, limit: int) -> bytes:
    d = zlib.decompressobj(wbits)
    out = d.decompress(raw, limit + 1)
    if len(out) > limit:
        raise TooLargeError(f"decompresses to more than {limit:,} bytes")
    if wbits & 16:  # gzip: concatenated members are one stream (RFC 1952)
        rest = d.unused_data
        while rest and not d.unconsumed_tail:
            d = zlib.decompressobj(wbits)
            more = d.decompress(rest, limit + 1 - len(out))
            out += more
            if len(out) > limit:
                raise TooLargeError(f"decompresses to more than {limit:,} bytes")
            rest = d.unused_data
    if not d.eof:
        raise zlib.error("truncated stream")
    return out


def _unbrotli(raw: bytes, limit: int) -> bytes:
    d = brotli.Decompressor()
    out = d.process(raw, output_buffer_limit=limit + 1)
    if len(out) > limit:
        raise TooLargeError(f"decompresses to more than {limit:,} bytes")
    if not d.is_finished():
        raise ValueError("truncated brotli stream")
    return bytes(out)


def _unzstd(raw: bytes, limit: int) -> bytes:
    out = b""
    while raw:
        d = zstd.ZstdDecompressor()
        out += d.decompress(raw, limit + 1 - len(out))
        if len(out) > limit:
            raise TooLargeError(f"decompresses to more than {limit:,} bytes")
        if not d.eof:
            raise ValueError("truncated zstd frame")
        raw = d.unused_data
    return out


def _deflate(raw: bytes, limit: int) -> bytes:
    # "deflate" means zlib-wrapped (RFC 9110), but some servers send raw deflate
    try:
        return _inflate(raw, zlib.MAX_WBITS, limit)
    except zlib.error:
        return _inflate(raw, -zlib.MAX_WBITS, limit)


_UNDO: dict[str, Callable[[bytes, int], bytes]] = {
    "gzip": lambda raw, limit: _inflate(raw, 16 + zlib.MAX_WBITS, limit),
    "x-gzip": lambda raw, limit: _inflate(raw, 16 + zlib.MAX_WBITS, limit),
    "deflate": _deflate,
    "zlib": lambda raw, limit: _inflate(raw, zlib.MAX_WBITS, limit),
    "raw-deflate": lambda raw, limit: _inflate(raw, -zlib.MAX_WBITS, limit),
    "br": _unbrotli,
    "zstd": _unzstd,
    "identity": lambda raw, limit: raw,
}


def _gzip(raw: bytes) -> bytes:
    return gzip.compress(raw, compresslevel=6, mtime=0)


def _zlib(raw: bytes) -> bytes:
    return zlib.compress(raw, 6)


def _raw_deflate(raw: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return c.compress(raw) + c.flush()


_DO: dict[str, Callable[[bytes], bytes]] = {
    "gzip": _gzip,
    "x-gzip": _gzip,
    "deflate": _zlib,
    "zlib": _zlib,
    "raw-deflate": _raw_deflate,
    "br": lambda raw: bytes(brotli.compress(raw, quality=5)),
    "zstd": lambda raw: bytes(zstd.compress(raw, 3)),
    "identity": lambda raw: raw,
}


def layers_of(encoding: str) -> list[str]:
    """The layers a ``Content-Encoding`` value names, in the order they were applied, lower-cased."""
    return [e.strip().lower() for e in encoding.split(",") if e.strip()]


def undo(raw: bytes, encoding: str, limit: int = MAX_DECOMPRESSED) -> bytes | None:
    """The body with every ``Content-Encoding`` layer undone (``gzip, br``: br first), or None.

    None when a layer is unknown, the data is damaged, or it inflates past ``limit``: then the body is kept as
    sent, with its header.
    """
    layers = layers_of(encoding)
    if not layers or any(e not in LAYERS for e in layers):
        return None
    try:
        for enc in reversed(layers):
            raw = _UNDO[enc](raw, limit)
    except Exception:  # noqa: BLE001 - any codec's error on damaged data means "keep it as sent"
        return None
    return raw


def redo(raw: bytes, encoding: str) -> bytes:
    """``raw`` with the layers of a ``Content-Encoding`` value applied again (the inverse of ``undo``)."""
    for enc in layers_of(encoding):
        raw = _DO[enc](raw)
    return raw


# ---- payloads: compressed data found inside a body (base64 strings, uploaded files) -------------------------


def sniff(raw: bytes) -> str | None:
    """The container a payload's magic bytes announce: gzip, zlib, zstd or zip; None for anything else."""
    if raw[:3] == b"\x1f\x8b\x08":
        return "gzip"
    if raw[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd"
    if raw[:4] == b"PK\x03\x04":
        return "zip"
    if len(raw) >= 2 and raw[0] & 0x0F == 8 and raw[0] >> 4 <= 7 and (raw[0] << 8 | raw[1]) % 31 == 0:
        return "zlib"
    return None


def unpack(
    raw: bytes, limit: int = MAX_DECOMPRESSED, *, is_text: Callable[[bytes], bool] | None = None
) -> tuple[str, bytes | dict[str, bytes]] | None:
    """A compressed payload opened: (container, content), or None when ``raw`` is not one we can open.

    Containers with a signature are recognised by it (gzip, zlib, zstd; zip, whose content is a mapping of member
    name to bytes); one that inflates past ``limit`` raises ``TooLargeError`` (a bomb: not to be opened any other
    way either). Raw deflate and brotli have none: they are tried only with ``is_text``, and accepted only when
    they decode cleanly, to the end of the data, to bytes ``is_text`` accepts (random bytes often "decode").
    """
    kind = sniff(raw)
    try:
        if kind == "zip":
            return kind, _unzip(raw, limit)
        if kind is not None:
            return kind, _UNDO[kind](raw, limit)
    except TooLargeError:
        raise
    except Exception:  # noqa: BLE001 - damaged or truncated: see the signature-less attempts below
        pass
    if is_text is None or len(raw) < 8:
        return None
    for name in ("raw-deflate", "br"):
        try:
            out = _UNDO[name](raw, limit)
        except Exception:  # noqa: BLE001
            continue
        if out and is_text(out):
            return ("deflate" if name == "raw-deflate" else name), out
    return None


def salvage(raw: bytes, limit: int = MAX_DECOMPRESSED) -> tuple[str, bytes] | None:
    """What a damaged or truncated gzip/zlib/zstd payload still decompresses to (to scan, never to re-encode).

    A file split across S3 multipart parts, or cut short, cannot be compressed back to the same payload; what it
    holds is still read, so a secret inside refuses the write instead of passing unseen.
    """
    kind = sniff(raw)
    out = None
    if kind in ("gzip", "zlib"):
        try:
            out = zlib.decompressobj(16 + zlib.MAX_WBITS if kind == "gzip" else zlib.MAX_WBITS).decompress(
                raw, limit + 1
            )
        except zlib.error:
            return None
    elif kind == "zstd":
        try:
            out = zstd.ZstdDecompressor().decompress(raw, limit + 1)
        except Exception:  # noqa: BLE001
            return None
    # a bomb is not salvaged: what it inflates to past the limit is not read at all
    return (kind, out) if kind is not None and out is not None and len(out) <= limit else None


def embedded(raw: bytes, limit: int = MAX_DECOMPRESSED, most: int = 16) -> list[tuple[int, int, str, bytes]]:
    """Complete gzip and zstd streams inside larger binary data (a file in a multipart upload).

    Each as (start, end, container, content); at most ``most`` of them, and ``limit`` bytes of content in all.
    """
    found: list[tuple[int, int, str, bytes]] = []
    budget = limit
    for magic, kind in ((b"\x1f\x8b\x08", "gzip"), (b"\x28\xb5\x2f\xfd", "zstd")):
        start = raw.find(magic)
        while start != -1 and len(found) < most and budget > 0:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS) if kind == "gzip" else zstd.ZstdDecompressor()
            try:
                out = d.decompress(raw[start:], budget + 1)
            except Exception:  # noqa: BLE001 - the magic was a coincidence
                out = b""
            if d.eof and out and len(out) <= budget:
                end = len(raw) - len(d.unused_data)
                found.append((start, end, kind, out))
                budget -= len(out)
                start = raw.find(magic, end)
            else:
                start = raw.find(magic, start + 1)
    return sorted(found)


def _unzip(raw: bytes, limit: int) -> dict[str, bytes]:
    members: dict[str, bytes] = {}
    total = 0
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        for info in zf.infolist():
            total += info.file_size
            if total > limit:
                raise TooLargeError(f"zip members add up past {limit:,} bytes")
            with zf.open(info) as fh:
                data = fh.read(limit + 1 - sum(len(v) for v in members.values()))
            members[info.filename] = data
    return members


def repack(kind: str, content: bytes | dict[str, bytes], original: bytes) -> bytes:
    """Compress ``content`` into the container ``kind`` again (zip: members replaced in ``original``'s archive)."""
    if kind == "zip":
        assert isinstance(content, dict)
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(original)) as src, zipfile.ZipFile(out, "w") as dst:
            for info in src.infolist():
                dst.writestr(info, content.get(info.filename, b""), compress_type=info.compress_type)
        return out.getvalue()
    assert isinstance(content, bytes)
    return _DO["raw-deflate" if kind == "deflate" else kind](content)


def gunzip(raw: bytes, limit: int = MAX_DECOMPRESSED) -> bytes:
    """Gzip data decompressed, raising ``TooLargeError`` past ``limit`` and ``zlib.error`` when damaged."""
    return _inflate(raw, 16 + zlib.MAX_WBITS, limit)


__all__ = [
    "LAYERS",
    "MAX_DECOMPRESSED",
    "PAYLOADS",
    "TooLargeError",
    "gunzip",
    "layers_of",
    "redo",
    "embedded",
    "repack",
    "salvage",
    "sniff",
    "undo",
    "unpack",
]
