"""Text charsets a body may arrive in: UTF-8, and UTF-16/32 with or without a byte-order mark.

``detect`` says how bytes are text (from a BOM, the ``charset=`` of a Content-Type, or the NUL pattern ASCII
leaves in BOM-less UTF-16/32); ``encode`` writes the text back to exactly those bytes. A body kept in another
charset would be scanned as latin-1, where no secret rule matches, so the recorder stores it as text with its
charset beside it.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_BOM_OF = {name: bom for bom, name in _BOMS}
# charset= names (lower-cased) → (codec, default byte order when the name does not say and there is no BOM)
_NAMED = {
    "utf-16": "utf-16-be",  # RFC 2781: big-endian when unmarked
    "utf-16le": "utf-16-le",
    "utf-16-le": "utf-16-le",
    "utf-16be": "utf-16-be",
    "utf-16-be": "utf-16-be",
    "utf-32": "utf-32-be",
    "utf-32le": "utf-32-le",
    "utf-32-le": "utf-32-le",
    "utf-32be": "utf-32-be",
    "utf-32-be": "utf-32-be",
}
_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class Charset:
    """How a body's bytes are text: the codec and whether a byte-order mark leads them."""

    codec: str
    bom: bool = False

    def encode(self, text: str) -> bytes:
        """The bytes of ``text`` in this charset (BOM included)."""
        return (_BOM_OF[self.codec] if self.bom else b"") + text.encode(self.codec)

    @property
    def plain_utf8(self) -> bool:
        """True for UTF-8 without a BOM: the default, which needs no marker in a cassette."""
        return self.codec == "utf-8" and not self.bom


UTF8 = Charset("utf-8")


def charset_param(content_type: str) -> str | None:
    """The ``charset=`` parameter of a Content-Type value, lower-cased, unquoted."""
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower() or None
    return None


def _nul_lanes(raw: bytes) -> str | None:
    """The UTF-16/32 codec BOM-less text shows: ASCII leaves NULs in fixed byte lanes and nowhere else."""
    head = raw[:_SNIFF_BYTES]
    if b"\x00" not in head:
        return None
    for codec, width, lane in (("utf-32-le", 4, 0), ("utf-32-be", 4, 3), ("utf-16-le", 2, 0), ("utf-16-be", 2, 1)):
        if len(raw) % width:
            continue
        lanes = [head[i::width] for i in range(width)]
        if all(b == 0 for i, seq in enumerate(lanes) if i != lane for b in seq) and lanes[lane].count(0) == 0:
            return codec
    return None


def detect(raw: bytes, content_type: str = "") -> tuple[str, Charset] | None:
    """(text, charset) when ``raw`` is UTF-8/16/32 text; None when it is not text in any of them.

    A BOM decides; then a UTF-16/32 ``charset=``; then the NUL lanes of BOM-less UTF-16/32; then UTF-8.
    """
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom) :].decode(codec), Charset(codec, bom=True)
            except UnicodeDecodeError:
                return None
    named = _NAMED.get(charset_param(content_type) or "")
    guess = named or _nul_lanes(raw)
    if guess is not None:
        try:
            return raw.decode(guess), Charset(guess)
        except UnicodeDecodeError:
            if named is None:
                return None
    try:
        return raw.decode("utf-8"), UTF8
    except UnicodeDecodeError:
        return None


def is_printable(text: str) -> bool:
    """True when every character is printable or a newline, carriage return or tab."""
    return all(c.isprintable() or c in "\r\n\t" for c in text)


def decode_text(raw: bytes) -> str | None:
    """Bytes as text: UTF-8, or UTF-16/32 with or without a BOM; None for binary data."""
    if b"\x00" in raw[:_SNIFF_BYTES] and not any(raw.startswith(bom) for bom, _ in _BOMS) and not _nul_lanes(raw):
        return None  # NULs outside the lanes of UTF-16/32 text: binary
    found = detect(raw)
    if found is not None:
        return found[0]
    text = raw.decode("latin-1")
    control = sum(1 for c in text[:_SNIFF_BYTES] if ord(c) < 32 and c not in "\r\n\t\f")
    return None if control > len(text[:_SNIFF_BYTES]) // 20 else text


def printable_text(raw: bytes) -> tuple[str, Charset] | None:
    """(text, charset) when ``raw`` is printable text in a UTF charset, else None (binary data)."""
    found = detect(raw)
    if found is None or not found[0] or not is_printable(found[0]):
        return None
    return found


__all__ = ["UTF8", "Charset", "charset_param", "decode_text", "detect", "is_printable", "printable_text"]
