"""The in-process memo of decoded cassettes, keyed by the sha256 of their bytes (no vcrpy: cheap to import).

Two levels: this memo of decoded exchanges (a cassette replayed by several tests, or priced at collection and
replayed later, is decoded once per process), and below it the on-disk cache of parsed documents
(``replaykit.cassette.cache``), which spares the YAML parse across processes. Both are keyed by content, so neither
can serve a stale cassette.
"""

from __future__ import annotations

import collections
from pathlib import Path

from replaykit.cassette import cache
from replaykit.cassette.format import document_exchanges, parse_document
from replaykit.errors import CassetteError
from replaykit.exchange import Exchange

# the memo holds at most this many exchanges (least recently used cassettes are dropped first)
MEMO_EXCHANGES = 50_000
_MEMO: collections.OrderedDict[str, list[Exchange]] = collections.OrderedDict()
_held = 0  # exchanges in _MEMO: kept as it changes, so a put costs O(its cassette), not O(every cassette held)


def _memo_put(key: str, exchanges: list[Exchange]) -> None:
    global _held
    if not _MEMO:
        _held = 0  # emptied from outside (``clear()`` or a test clearing ``_MEMO``)
    old = _MEMO.get(key)
    _held += len(exchanges) - (len(old) if old is not None else 0)
    _MEMO[key] = exchanges
    _MEMO.move_to_end(key)
    while _held > MEMO_EXCHANGES and len(_MEMO) > 1:
        _, dropped = _MEMO.popitem(last=False)
        _held -= len(dropped)


def clear() -> None:
    """Forget every decoded cassette (benchmarks measuring a first load, tests)."""
    global _held
    _MEMO.clear()
    _held = 0


def remember(path: Path, raw: bytes, exchanges: list[Exchange]) -> None:
    """Keep the decoded form of bytes we just wrote, so reading them back costs a hash."""
    _memo_put(cache.digest(raw), list(exchanges))


def load_cached(path: Path) -> list[Exchange]:
    """Decoded exchanges of a cassette: from the in-process memo, else the on-disk cache, else parsed.

    The exchanges returned are fresh ``Exchange`` objects (sharing the decoded request/response), so a caller
    renumbering them (``ex.index``) cannot disturb the memo.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CassetteError(f"cannot read cassette: {exc.strerror}", path=path) from exc
    key = cache.digest(raw)
    hit = _MEMO.get(key)
    if hit is None:
        doc = parse_document(path, raw, key)
        with cache.paused_gc():
            hit = document_exchanges(doc, path, within_limits=True)
        _memo_put(key, hit)
    else:
        _MEMO.move_to_end(key)
    with cache.paused_gc():
        return [Exchange(e.index, e.operation, e.request, e.response) for e in hit]
