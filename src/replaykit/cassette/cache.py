"""An on-disk cache of parsed cassettes, keyed by the sha256 of the cassette's bytes.

Cassettes stay readable YAML in the repository; parsing YAML costs ~0.5 ms per exchange even with libyaml,
``marshal.loads`` of the same document ~0.01 ms. So the parsed document is kept in the user's cache directory
(``$XDG_CACHE_HOME/replaykit/parsed``, ``~/.cache/replaykit/parsed``; ``~/Library/Caches`` on macOS,
``%LOCALAPPDATA%`` on Windows; mode 0700), or in ``$REPLAYKIT_CACHE_DIR`` (``off`` disables it). It is out of
the project tree on purpose: a cache inside the repository, or restored from a shared CI cache, is an injection
point (an entry is served instead of the YAML that was reviewed and scanned). Cassettes outside any project
(a test's temporary directory) are not cached.

Entries are authenticated: each carries an HMAC-SHA256 of its cache key and payload under a per-user secret
(``hmac.key`` in the user cache root, mode 0600, never in ``$REPLAYKIT_CACHE_DIR``), so an entry written by
anyone without that secret fails verification and is ignored and rebuilt. Entries are keyed by content, never
by path or mtime: an edited, re-recorded or checked-out-again cassette simply has another key, so an entry is
never stale. An entry that is truncated, corrupt, forged or from another Python is ignored and rebuilt; any I/O
error degrades to "no cache", never to a failed load.

Entry layout: ``MAGIC`` | HMAC-SHA256(secret, key | payload) (32 bytes) | ``marshal`` payload. ``marshal``
rather than ``pickle``: it is ~7x faster here, and it cannot run code when it loads a file.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import hmac
import marshal
import os
import struct
import sys
import tempfile
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

ENV = "REPLAYKIT_CACHE_DIR"
DIRNAME = ".replaykit-cache"  # where older versions kept entries in the project (still git-ignored by `init`)
ENTRIES = "parsed"  # under the user cache root
KEY_FILE = "hmac.key"
# below this a YAML parse takes about as long as a cache lookup: not worth a file (a one-exchange cassette of
# ~2 KB: YAML 0.28 ms, cache 0.04 ms, and a suite has hundreds of them)
MIN_BYTES = 1024
# entries not read for this long are removed when the cache is next written to
MAX_AGE_SECONDS = 14 * 24 * 3600
# bump when the cached value's shape changes; the Python version is part of the tag because marshal's is.
# v2: every entry holds a document within the loaders' limits (``codecs.safe.MAX_DEPTH``), whether it was cached
# from a parse or from a write, so its readers skip the depth walk (``format.document_exchanges``)
_TAG = f"v2-py{sys.version_info[0]}{sys.version_info[1]}"
_MAGIC = b"RKC2"
_HEADER = struct.Struct(">4s32s")
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


def user_cache_root() -> Path:
    """The per-user cache root for replaykit (platformdirs' user_cache_dir logic, without the dependency)."""
    env = os.environ
    return _user_cache_root(env.get("HOME"), env.get("XDG_CACHE_HOME"), env.get("LOCALAPPDATA"))


@lru_cache(maxsize=8)
def _user_cache_root(home: str | None, xdg: str | None, local: str | None) -> Path:
    # computed once per environment (every cassette load reads it): Path.home() and the joins cost ~8 µs
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    elif os.name == "nt":
        base = Path(local or Path.home() / "AppData" / "Local")
    else:
        base = Path(xdg or Path.home() / ".cache")
    return base / "replaykit"


@lru_cache(maxsize=256)
def _cache_dir(cassette_dir: Path | None, env: str | None, root: Path | None) -> Path | None:
    if env is not None:
        return None if env.strip().lower() in ("", "0", "off", "false", "no") else Path(env)
    if cassette_dir is None or root is None:
        return None
    # a cassette outside any project (a test's temporary directory) is not cached on disk unless asked to: it
    # would only fill the cache with files nobody loads again
    return root / ENTRIES if _project_root(cassette_dir) is not None else None


_secrets: dict[Path, bytes] = {}


def _secret(create: bool) -> bytes | None:
    """The per-user HMAC secret (created on first store, mode 0600), or None when there is none."""
    path = user_cache_root() / KEY_FILE
    got = _secrets.get(path)
    if got is not None:
        return got
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if not create:
            return None
        _mkdir_private(path.parent)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            data = path.read_bytes()
        else:
            data = os.urandom(32)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
    if len(data) < 32:
        return None
    _secrets[path] = data
    return data


def _mkdir_private(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):
        if not hasattr(os, "getuid") or directory.stat().st_uid == os.getuid():
            directory.chmod(0o700)


def _mac(secret: bytes, key: str, payload: bytes | memoryview) -> bytes:
    mac = hmac.new(secret, key.encode("ascii", "replace"), hashlib.sha256)
    mac.update(payload)
    return mac.digest()


def cache_dir(cassette: str | Path) -> Path | None:
    """Where entries for this cassette live, or None when caching is off or no project holds the cassette."""
    env = os.environ.get(ENV)
    if env is not None:  # an explicit setting needs no look at the file system
        return _cache_dir(None, env, None)
    try:
        return _cache_dir(_directory(os.path.dirname(os.path.abspath(cassette))), None, user_cache_root())
    except OSError:  # an unreadable parent
        return None


@lru_cache(maxsize=1024)
def _directory(path: str) -> Path:
    """A cassette directory, resolved once per process (a suite's cassettes share a few directories)."""
    return Path(path).resolve()


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
        secret = _secret(create=False)
    except OSError:
        return None
    if secret is None:
        return None
    value = decode(blob, key, secret)
    if value is None:
        _unlink(entry)  # corrupt or foreign: drop it so the next store rebuilds it
        return None
    with contextlib.suppress(OSError):
        os.utime(entry)  # read recently: keep it when pruning
    return value


def encode(value: Any) -> bytes | None:
    """The payload bytes for a value (signed when stored), or None when it holds something marshal cannot store."""
    try:
        return marshal.dumps(value)
    except ValueError:  # e.g. a datetime from a hand-written YAML cassette: such files are just not cached
        return None


def decode(blob: bytes, key: str, secret: bytes) -> Any | None:
    """The value of entry bytes, or None when they are truncated, corrupt, forged or not an entry."""
    if len(blob) < _HEADER.size:
        return None
    magic, mac = _HEADER.unpack_from(blob)
    payload = memoryview(blob)[_HEADER.size :]
    if magic != _MAGIC or not hmac.compare_digest(mac, _mac(secret, key, payload)):
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
    """Sign and write an encoded payload atomically (temp file + rename: readers see the old or the whole entry)."""
    directory = cache_dir(cassette)
    if directory is None:
        return
    try:
        secret = _secret(create=True)
        if secret is None:
            return
        _mkdir_private(directory)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(_HEADER.pack(_MAGIC, _mac(secret, key, blob)))
                fh.write(blob)
            # no fsync: a torn entry after a crash fails its HMAC and is rebuilt
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
