"""Body checksums in headers (``x-amz-checksum-*``, ``Content-MD5``, an S3 ETag) recomputed for other bytes.

botocore verifies ``x-amz-checksum-*`` on responses (S3 ``GetObject`` with ``ChecksumMode="ENABLED"``): a body
that was scrubbed or re-encoded needs checksums of the bytes it now has. CRC32, SHA-1/256/512 and MD5 come from
the standard library; CRC32C and CRC64/NVME from ``awscrt`` when installed, else from the tables below. A checksum
replaykit cannot compute (xxhash) is dropped: without it the SDK skips the check instead of failing it.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from collections.abc import Callable
from functools import lru_cache

PREFIX = "x-amz-checksum-"
_MD5_ETAG = re.compile(r'^"?([0-9a-f]{32})"?$')


def _table(poly: int, width: int) -> list[int]:
    mask = (1 << width) - 1
    table = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc & mask)
    return table


@lru_cache(maxsize=2)
def _tables(poly: int, width: int) -> list[int]:
    return _table(poly, width)


def _reflected_crc(data: bytes, poly: int, width: int) -> int:
    table = _tables(poly, width)
    mask = (1 << width) - 1
    crc = mask
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ mask


def crc32c(data: bytes) -> bytes:
    """CRC-32C (Castagnoli) of ``data``, big-endian, as S3 sends it."""
    try:
        from awscrt import checksums as crt  # optional: much faster on large bodies
    except ImportError:
        return _reflected_crc(data, 0x82F63B78, 32).to_bytes(4, "big")
    return int(crt.crc32c(data)).to_bytes(4, "big")


def crc64nvme(data: bytes) -> bytes:
    """CRC-64/NVME of ``data``, big-endian, as S3 sends it."""
    try:
        from awscrt import checksums as crt
    except ImportError:
        return _reflected_crc(data, 0x9A6C9329AC4BC9B5, 64).to_bytes(8, "big")
    return (int(crt.crc64nvme(data)) & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")


ALGORITHMS: dict[str, Callable[[bytes], bytes]] = {
    "crc32": lambda d: (zlib.crc32(d) & 0xFFFFFFFF).to_bytes(4, "big"),
    "crc32c": crc32c,
    "crc64nvme": crc64nvme,
    "sha1": lambda d: hashlib.sha1(d).digest(),
    "sha256": lambda d: hashlib.sha256(d).digest(),
    "sha512": lambda d: hashlib.sha512(d).digest(),
}


def is_checksum(name: str) -> bool:
    """True for headers that hold a checksum of the body: ``x-amz-checksum-<algorithm>`` and ``Content-MD5``."""
    low = name.lower()
    return (low.startswith(PREFIX) and low != PREFIX + "type") or low == "content-md5"


def checksum(algorithm: str, data: bytes) -> str | None:
    """The base64 header value of ``algorithm`` over ``data``; None for an algorithm replaykit cannot compute."""
    fn = ALGORITHMS.get(algorithm.lower())
    return base64.b64encode(fn(data)).decode("ascii") if fn is not None else None


def refresh(
    headers: dict[str, list[str]], data: bytes, old: bytes | None = None, *, keep_unknown: bool = False
) -> dict[str, list[str]]:
    """``headers`` with every body checksum describing ``data``.

    A checksum replaykit cannot compute is dropped (kept with ``keep_unknown``: a replay of bytes the recorder
    already vouched for). Multipart (composite) checksums (``<base64>-<parts>``) describe parts no single body
    has: kept as they are, botocore skips them. An ETag that is the MD5 of ``old`` (the bytes before a scrub)
    becomes the MD5 of ``data``.
    """
    out: dict[str, list[str]] = {}
    for name, values in headers.items():
        low = name.lower()
        if low == "content-md5":
            out[name] = [base64.b64encode(hashlib.md5(data).digest()).decode("ascii")]  # noqa: S324 - the header's own
        elif low.startswith(PREFIX) and low != PREFIX + "type":
            value = checksum(low[len(PREFIX) :], data)
            if any("-" in v for v in values) or (value is None and keep_unknown):
                out[name] = values
            elif value is not None:
                out[name] = [value]
        elif low == "etag" and old is not None and values:
            m = _MD5_ETAG.match(values[0])
            if m and m.group(1) == hashlib.md5(old).hexdigest():  # noqa: S324
                out[name] = [values[0].replace(m.group(1), hashlib.md5(data).hexdigest())]  # noqa: S324
            else:
                out[name] = values
        else:
            out[name] = values
    return out


__all__ = ["ALGORITHMS", "PREFIX", "checksum", "crc32c", "crc64nvme", "is_checksum", "refresh"]
