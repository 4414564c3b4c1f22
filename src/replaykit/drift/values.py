"""Value-level detail, only computed on request: sample values for new fields and DeepDiff-listed value changes."""

from __future__ import annotations

import json
import re
from typing import Any

from deepdiff import DeepDiff

from replaykit.exchange import Body, Exchange

MAX_VALUES_PER_BODY = 50
_SAMPLE_LEN = 60
_DEEPDIFF_KEYS = ("values_changed", "type_changes", "iterable_item_added", "iterable_item_removed")


def short(value: Any, limit: int = _SAMPLE_LEN) -> str:
    """A compact one-line rendering of a value, cut to ``limit`` characters."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sample_at(value: Any, path: str, *, many: bool = False) -> str:
    """`` = <value>`` for the first value found at a ``[*]`` path (``many``: ``value`` is a list of roots)."""
    roots = value if many and isinstance(value, list) else [value]
    for root in roots:
        found = _lookup(root, _segments(path))
        if found is not _MISSING:
            return f" = {short(found)}"
    return ""


_MISSING = object()
_TOKEN = re.compile(r"\[\*\]|[^.\[]+")


def _segments(path: str) -> list[str]:
    return _TOKEN.findall(path)


def _lookup(value: Any, segments: list[str]) -> Any:
    if not segments:
        return value
    head, rest = segments[0], segments[1:]
    if head == "[*]":
        if isinstance(value, list):
            for item in value:
                got = _lookup(item, rest)
                if got is not _MISSING:
                    return got
        return _MISSING
    if isinstance(value, dict) and head in value:
        return _lookup(value[head], rest)
    return _MISSING


def value_findings(old: Exchange, new: Exchange) -> list[tuple[str, str, str, str]]:
    """``(where, path, old, new)`` for the value changes of a pair, listed by DeepDiff (``--show-values``)."""
    out: list[tuple[str, str, str, str]] = []
    for where, a, b in (
        ("request.body", old.request.body, new.request.body),
        ("response.body", old.response.body, new.response.body),
    ):
        out.extend(_body_values(where, a, b))
    return out


def _body_values(where: str, a: Body, b: Body) -> list[tuple[str, str, str, str]]:
    if a.value == b.value:
        return []
    if a.kind != b.kind or a.kind in ("eventstream", "sse") or a.kind != "json":
        n_old = len(a.value) if isinstance(a.value, list) and a.kind in ("eventstream", "sse") else None
        n_new = len(b.value) if isinstance(b.value, list) and b.kind in ("eventstream", "sse") else None
        if n_old is not None and n_new is not None:
            return [(where, "", f"{n_old} events", f"{n_new} events")]
        return [(where, "", short(a.value), short(b.value))]
    diff = DeepDiff(a.value, b.value, ignore_order=False, view="tree", verbose_level=2)
    out: list[tuple[str, str, str, str]] = []
    for key in _DEEPDIFF_KEYS:
        for level in diff.get(key, []):
            if len(out) >= MAX_VALUES_PER_BODY:
                return out
            t1 = level.t1 if key != "iterable_item_added" else None
            t2 = level.t2 if key != "iterable_item_removed" else None
            out.append((where, _path(level.path(output_format="list")), short(t1), short(t2)))
    return out


def _path(parts: list[Any]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += "[*]"
        else:
            out += f".{part}" if out else str(part)
    return out
