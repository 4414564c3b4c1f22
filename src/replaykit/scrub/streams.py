"""The reader's view of a stream body: the whole texts its delta events spell out, and edits mapped back.

A streamed answer stores one logical text (a content block, a tool call's arguments) as many small fragments, one
per event. Joining them gives what a reader of the cassette can reconstruct, so a key streamed over several deltas
is a key in the cassette. ``StreamView`` finds the fragments of each logical text, using the providers' tables of
delta events (``STREAM_DELTAS`` in ``replaykit.providers.openai`` and ``.bedrock``). ``split_edits`` maps edits
made to the joined text back onto the fragments: a replacement goes into the fragment where the replaced text
starts, the rest of that text is removed from the later fragments (which may become empty). The number of events
never changes, and the fragments always join to the edited text.

The sanitizer scrubs the joined texts with this view and the scanner scans them; both are linear in stream size.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from replaykit.codecs.safe import load_json
from replaykit.providers import bedrock, openai
from replaykit.providers.deltas import StreamDelta

Edit = tuple[int, int, str]  # (start, end, replacement) in the text an edit pass read; passes are sorted, disjoint
BODY_KINDS = ("sse", "eventstream")
_EACH = "[index]"
_STEP = re.compile(r"\[index\]|[^.\[]+")


def _steps(path: str) -> tuple[str, ...]:
    return tuple(_STEP.findall(path))


@dataclass(frozen=True)
class _Spec:
    label: str
    text: tuple[str, ...]
    where: tuple[tuple[tuple[str, ...], str], ...]
    group: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class _Specs:
    """One body kind's delta specs, dispatched by the value at their first ``where`` path (one lookup per path)."""

    always: tuple[_Spec, ...]
    by_value: tuple[tuple[tuple[str, ...], dict[str, tuple[_Spec, ...]]], ...]

    def candidates(self, root: Any) -> list[_Spec]:
        out = list(self.always)
        for path, table in self.by_value:
            value = _get(root, path)
            if isinstance(value, str):
                out += table.get(value, ())
        return out


def _compile(rows: tuple[StreamDelta, ...]) -> dict[str, _Specs]:
    out: dict[str, _Specs] = {}
    for kind in BODY_KINDS:
        always: list[_Spec] = []
        keyed: dict[tuple[str, ...], dict[str, list[_Spec]]] = {}
        for row in rows:
            if row.body != kind:
                continue
            where = tuple((_steps(path), value) for path, value in row.where)
            spec = _Spec(row.text, _steps(row.text), where[1:], tuple(_steps(g) for g in row.group))
            if where:
                keyed.setdefault(where[0][0], {}).setdefault(where[0][1], []).append(spec)
            else:
                always.append(spec)
        by_value = tuple((path, {v: tuple(specs) for v, specs in table.items()}) for path, table in keyed.items())
        out[kind] = _Specs(tuple(always), by_value)
    return out


SPECS = _compile(openai.STREAM_DELTAS + bedrock.STREAM_DELTAS)
_MISSING = object()


def _get(value: Any, steps: tuple[str, ...]) -> Any:
    for step in steps:
        if not isinstance(value, dict):
            return _MISSING
        value = value.get(step, _MISSING)
    return value


_Hit = tuple[dict[str, Any], str, tuple[Any, ...]]


def _resolve(value: Any, steps: tuple[str, ...], keys: tuple[Any, ...]) -> Iterator[_Hit]:
    """(holder, key, list keys) of every string the path reaches; ``[index]`` steps fan out over a list."""
    for i, step in enumerate(steps[:-1]):
        if step == _EACH:
            if not isinstance(value, list):
                return
            rest = steps[i + 1 :]
            for pos, item in enumerate(value):
                if isinstance(item, dict):
                    index = item.get("index", pos)
                    yield from _resolve(item, rest, (*keys, index if isinstance(index, (int, str)) else pos))
            return
        if not isinstance(value, dict):
            return
        value = value.get(step)
    last = steps[-1]
    if isinstance(value, dict) and isinstance(value.get(last), str):
        yield value, last, keys


def _fill(spec: _Spec, keys: tuple[Any, ...], group: tuple[Any, ...]) -> str:
    label = spec.label
    for key in keys:
        label = label.replace(_EACH, f"[{key}]", 1)
    named = [f"{'.'.join(p[1:] or p)}={v}" for p, v in zip(spec.group, group, strict=True) if v is not None]
    return label + (f" ({', '.join(named)})" if named else "")


@dataclass
class Fragment:
    """Where one fragment lives: the event's position and the mapping entry that holds the string."""

    event: int
    holder: dict[str, Any]
    key: str


@dataclass
class StreamText:
    """One logical text of a stream: its label (``data.choices[0].delta.content``) and its fragments in order."""

    label: str
    fragments: list[Fragment] = field(default_factory=list)

    def pieces(self) -> list[str]:
        """The fragment strings, in stream order."""
        return [f.holder[f.key] for f in self.fragments]

    def joined(self) -> str:
        """The whole text, as a reader of the stream sees it."""
        return "".join(self.pieces())

    @property
    def events(self) -> str:
        """The event range, ``3..9`` (or ``3`` for one event)."""
        return _range(self.fragments[0].event, self.fragments[-1].event)

    def span(self, start: int, end: int) -> str:
        """The range of the events whose fragments hold characters ``start`` to ``end`` of the joined text."""
        ends = list(itertools.accumulate(len(p) for p in self.pieces()))
        first = bisect.bisect_right(ends, start)
        last = bisect.bisect_left(ends, max(end, start + 1))
        last = min(last, len(ends) - 1)
        return _range(self.fragments[min(first, last)].event, self.fragments[last].event)


def _range(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}..{last}"


class StreamView:
    """The logical texts of a list of stored stream events (SSE or AWS event stream), found by the delta tables.

    SSE ``data`` stored as a JSON string (not compact on the wire) is read parsed; ``replace`` writes such an
    event's data back parsed (re-encoded compact, which every SDK parses alike).
    """

    def __init__(self, kind: str, events: list[Any]) -> None:
        self.events = events
        self._parsed: dict[int, dict[str, Any]] = {}
        texts: dict[tuple[Any, ...], StreamText] = {}
        specs = SPECS.get(kind)
        for i, event in enumerate(events):
            if not isinstance(event, dict) or specs is None:
                continue
            root = self._root(i, event) if kind == "sse" else event
            for spec in specs.candidates(root):
                if spec.where and any(_get(root, path) != value for path, value in spec.where):
                    continue
                for holder, key, keys in _resolve(root, spec.text, ()):
                    group = tuple(_hashable(_get(root, path)) for path in spec.group)
                    ident = (spec.label, keys, group)
                    text = texts.get(ident)
                    if text is None:
                        text = texts[ident] = StreamText(_fill(spec, keys, group))
                    text.fragments.append(Fragment(i, holder, key))
        self.texts = list(texts.values())

    def _root(self, i: int, event: dict[str, Any]) -> dict[str, Any]:
        data = event.get("data")
        if isinstance(data, str) and data[:1] == "{":
            try:
                parsed = load_json(data)
            except ValueError:
                return event
            if isinstance(parsed, dict):
                self._parsed[i] = parsed
                return {**event, "data": parsed}
        return event

    def replace(self, text: StreamText, pieces: list[str]) -> None:
        """Set the fragments of ``text`` to ``pieces`` (one per fragment), in the events themselves."""
        for frag, piece in zip(text.fragments, pieces, strict=True):
            frag.holder[frag.key] = piece
            if frag.event in self._parsed:
                self.events[frag.event]["data"] = self._parsed[frag.event]


def _hashable(value: Any) -> Any:
    if value is _MISSING:
        return None
    return value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)


def split_edits(pieces: list[str], edits: list[Edit]) -> list[str]:
    """``pieces`` after applying ``edits`` to their concatenation, cut so that they still join to the result.

    An edit's replacement goes into the piece where the edited text starts (an insertion at a cut goes to the
    later piece); the rest of the edited text is removed from the pieces after it. Linear in the text's length.
    """
    old = "".join(pieces)
    new_parts: list[str] = []
    cuts: list[int] = []
    pos = shift = 0
    ei = 0
    end = 0
    for piece in pieces[:-1]:
        end += len(piece)
        # every edit wholly before this cut (or ending at it) shifts it; one straddling it pins it after the
        # replacement; an edit that starts at the cut belongs to the next piece
        while ei < len(edits) and edits[ei][0] < end and edits[ei][1] <= end:
            start, stop, repl = edits[ei]
            new_parts += (old[pos:start], repl)
            shift += len(repl) - (stop - start)
            pos = stop
            ei += 1
        if ei < len(edits) and edits[ei][0] < end < edits[ei][1]:
            start, _stop, repl = edits[ei]
            cuts.append(start + shift + len(repl))
        else:
            cuts.append(end + shift)
    for start, stop, repl in edits[ei:]:
        new_parts += (old[pos:start], repl)
        pos = stop
    new_parts.append(old[pos:])
    new = "".join(new_parts)
    bounds = [0, *cuts, len(new)]
    return [new[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def apply_edits(text: str, edits: list[Edit]) -> str:
    """``text`` with each (start, end, replacement) applied."""
    parts: list[str] = []
    pos = 0
    for start, stop, repl in edits:
        parts += (text[pos:start], repl)
        pos = stop
    parts.append(text[pos:])
    return "".join(parts)


def diff_edit(old: str, new: str) -> list[Edit]:
    """One edit turning ``old`` into ``new``: everything between their common prefix and common suffix."""
    if old == new:
        return []
    n = min(len(old), len(new))
    head = 0
    while head < n and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < n - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    return [(head, len(old) - tail, new[head : len(new) - tail])]
