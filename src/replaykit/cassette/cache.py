"""An on-disk cache of parsed cassettes, keyed by the sha256 of the cassette's bytes.

Cassettes stay readable YAML in the repository; parsing YAML costs ~0.5 ms per exchange even with libyaml,
``marshal.loads`` of the same document ~0.01 ms. So the parsed document is kept in ``.replaykit-cache/`` at the
root of the project holding the cassette (the nearest directory with ``pyproject.toml`` or ``.git``), or in
``$REPLAYKIT_CACHE_DIR`` (``off`` disables it). Entries are keyed by content, never by
path or mtime: an edited, re-recorded or checked-out-again cassette simply has another key, so an entry is never
stale. An entry that is truncated, corrupt or from another Python is ignored and rebuilt; any I/O error degrades to
"no cache", never to a failed load.

Entry layout: ``MAGIC`` | crc32 of the payload (u32, big endian) | ``marshal`` payload. ``marshal`` rather than
``pickle``: it is ~7x faster here, and it cannot run code when it loads a file.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import marshal
import os
import struct
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

ENV = "REPLAYKIT_CACHE_DIR"
DIRNAME = ".replaykit-cache"
# below this a YAML parse takes about as long as a cache lookup: not worth a file (a one-exchange cassette of
# ~2 KB: YAML 0.28 ms, cache 0.04 ms, and a suite has hundreds of them)
MIN_BYTES = 1024
# entries not read for this long are removed when the cache is next written to
MAX_AGE_SECONDS = 14 * 24 * 3600
# bump when the cached value's shape changes; the Python version is part of the tag because marshal's is
_TAG = f"v1-py{sys.version_info[0]}{sys.version_info[1]}"
_MAGIC = b"RKC1"
_HEADER = struct.Struct(">4sI")
_pruned: set[Path] = set()


def digest(raw: bytes) -> str:
    """The cache key of a cassette's bytes."""
    return hashlib.sha256(raw).hexdigest()


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Suspend the cyclic garbage collector while building large acyclic structures.

    Parsing a cassette allocates hundreds of thousands of containers and no cycles; with the collector on, every
    allocation burst triggers collections that re-walk the growing heap — measured 3-7x slower for YAML, JSON and
    marshal loads of a 10,000-exchange cassette. Nested use is fine: only the outermost call re-enables.
    """
    was_enabled = gc.isenabled()
    if was_enabled:
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _project_root(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        if (directory / "pyproject.toml").is_file() or (directory / ".git").exists():
            return directory
    return None


@lru_cache(maxsize=256)
def _cache_dir(cassette_dir: Path, env: str | None) -> Path | None:
    if env is not None:
        return None if env.strip().lower() in ("", "0", "off", "false", "no") else Path(env)
    # the project owning the cassette; a cassette outside any project (a test's temporary directory) is not
    # cached on disk unless asked to: it would only fill the repository's cache with files nobody loads again
    root = _project_root(cassette_dir)
    return root / DIRNAME if root is not None else None


def cache_dir(cassette: str | Path) -> Path | None:
    """Where entries for this cassette live, or None when caching is off or no project holds the cassette."""
    try:
        return _cache_dir(Path(cassette).resolve().parent, os.environ.get(ENV))
    except OSError:  # an unreadable parent
        return None


def _entry(directory: Path, key: str) -> Path:
    return directory / f"{key}.{_TAG}"


def load(key: str, cassette: str | Path) -> Any | None:
    """The cached value for a cassette whose bytes hash to ``key``, or None (missing, corrupt, caching off)."""
    directory = cache_dir(cassette)
    if directory is None:
        return None
    entry = _entry(directory, key)
    try:
        blob = entry.read_bytes()
    except OSError:
        return None
    value = decode(blob)
    if value is None:
        _unlink(entry)  # corrupt or foreign: drop it so the next store rebuilds it
        return None
    with contextlib.suppress(OSError):
        os.utime(entry)  # read recently: keep it when pruning
    return value


def encode(value: Any) -> bytes | None:
    """The entry bytes for a value, or None when it holds something marshal cannot store."""
    try:
        payload = marshal.dumps(value)
    except ValueError:  # e.g. a datetime from a hand-written YAML cassette: such files are just not cached
        return None
    return _HEADER.pack(_MAGIC, zlib.crc32(payload)) + payload


def decode(blob: bytes) -> Any | None:
    """The value of entry bytes, or None when they are truncated, corrupt or not an entry."""
    if len(blob) < _HEADER.size:
        return None
    magic, crc = _HEADER.unpack_from(blob)
    payload = memoryview(blob)[_HEADER.size :]
    if magic != _MAGIC or zlib.crc32(payload) != crc:
        return None
    try:
        with paused_gc():
            return marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return None


def store(key: str, value: Any, cassette: str | Path) -> None:
    """Cache a cassette's parsed value (best effort: any failure leaves the cache without the entry)."""
    blob = encode(value)
    if blob is not None:
        store_blob(key, blob, cassette)


def store_blob(key: str, blob: bytes, cassette: str | Path) -> None:
    """Write an encoded entry atomically (temp file + rename: readers see the old state or the whole entry)."""
    directory = cache_dir(cassette)
    if directory is None:
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
            # no fsync: a torn entry after a crash fails its CRC and is rebuilt
            os.replace(tmp, _entry(directory, key))
        except BaseException:
            _unlink(Path(tmp))
            raise
    except OSError:
        return
    _prune(directory)


def _prune(directory: Path) -> None:
    """Drop entries nobody read for MAX_AGE_SECONDS (once per directory and process: re-recording adds keys)."""
    if directory in _pruned:
        return
    _pruned.add(directory)
    cutoff = time.time() - MAX_AGE_SECONDS
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for item in entries:
        try:
            if item.stat().st_mtime < cutoff:
                os.unlink(item.path)
        except OSError:
            continue


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
