"""Pairing: cassettes by relative path, exchanges by operation and order of occurrence within it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from replaykit.errors import ConfigError
from replaykit.exchange import Exchange


@dataclass(frozen=True)
class CassettePair:
    """A cassette on the old side, the new side, or both."""

    name: str
    old: Path | None
    new: Path | None


def pair_cassettes(old: Path, new: Path) -> list[CassettePair]:
    """Pair two directories by relative cassette path, or two files with each other."""
    for p in (old, new):
        if not p.exists():
            raise ConfigError(f"no such file or directory: {p}")
    if old.is_file() and new.is_file():
        return [CassettePair(new.name if new.name == old.name else f"{old.name} -> {new.name}", old, new)]
    if old.is_dir() and new.is_dir():
        olds = {p.relative_to(old).as_posix(): p for p in _iter_cassettes(old)}
        news = {p.relative_to(new).as_posix(): p for p in _iter_cassettes(new)}
        return [CassettePair(name, olds.get(name), news.get(name)) for name in sorted(olds.keys() | news.keys())]
    raise ConfigError(f"OLD and NEW must both be directories or both be files: {old}, {new}")


def _iter_cassettes(root: Path) -> Iterator[Path]:
    from replaykit.cassette import iter_cassettes

    yield from (Path(p) for p in iter_cassettes(root))


def load_cassette(path: Path) -> list[Exchange]:
    """The exchanges of a cassette (replaykit or plain vcrpy format)."""
    from replaykit.cassette import load_exchanges

    return list(load_exchanges(path))


def pair_exchanges(old: Sequence[Exchange], new: Sequence[Exchange]) -> list[tuple[Exchange | None, Exchange | None]]:
    """Pair the n-th call of each operation on the old side with the n-th call of it on the new side."""
    new_by_op: dict[str, list[Exchange]] = defaultdict(list)
    for ex in new:
        new_by_op[ex.operation].append(ex)
    seen: dict[str, int] = defaultdict(int)
    pairs: list[tuple[Exchange | None, Exchange | None]] = []
    for ex in old:
        n = seen[ex.operation]
        seen[ex.operation] += 1
        candidates = new_by_op.get(ex.operation, [])
        pairs.append((ex, candidates[n] if n < len(candidates) else None))
    for op, exs in new_by_op.items():
        pairs.extend((None, ex) for ex in exs[seen.get(op, 0) :])
    return pairs
