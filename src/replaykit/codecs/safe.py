"""Hostile-input limits for every YAML and JSON document replaykit reads (cassettes, bodies, scanned files).

Three limits, each with an error that says which one was hit:

- **alias expansion**: YAML aliases are shared by reference when constructed, so a 500-byte "billion laughs"
  document loads instantly and then hangs whoever walks it. The composed node graph is measured with aliases
  expanded (memoised, so measuring is linear in the document) and refused past ``MAX_NODES``.
- **nesting depth**: every walker here recurses; a document deeper than ``MAX_DEPTH`` is refused before it can
  raise ``RecursionError`` somewhere far from the file that caused it.
- **size** is the caller's limit (``replaykit scan --max-size``).
"""

from __future__ import annotations

import json
from typing import Any

import yaml

MAX_DEPTH = 100  # containers nested inside each other; real cassettes stay under 30
MAX_NODES = 5_000_000  # scalars + containers with every alias expanded; a 100 MB cassette has ~2 M
MAX_ALIAS_RATIO = 100  # expanded size over written size: a bomb expands by millions, a real anchor by a few

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UnsafeDocumentError(ValueError):
    """A document exceeds a hostile-input limit (alias expansion, nesting depth)."""


def _measure(root: yaml.Node) -> tuple[int, int, int]:
    """(expanded node count, written node count, deepest nesting) of a composed YAML graph, iteratively."""
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    written = 0
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            height[key] = 1 + max((height[id(k)] for k in kids), default=0)
            active.discard(key)
            if size[key] > MAX_NODES:
                raise UnsafeDocumentError(
                    f"YAML aliases expand to more than {MAX_NODES:,} nodes (an alias bomb?); refusing to load it"
                )
            if height[key] > MAX_DEPTH:
                raise UnsafeDocumentError(f"nested more than {MAX_DEPTH} levels deep; refusing to load it")
            continue
        if key in size:
            continue
        if key in active:
            raise UnsafeDocumentError("YAML alias refers to itself (a recursive document); refusing to load it")
        active.add(key)
        written += 1
        stack.append((node, True))
        stack.extend((k, False) for k in _children(node) if id(k) not in size)
    return size[id(root)], written, height[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def load_yaml(text: str | bytes) -> Any:
    """Parse one YAML document with the safe loader, refusing alias bombs and over-deep nesting."""
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError as exc:
            raise UnsafeDocumentError(f"nested more than {MAX_DEPTH} levels deep; refusing to load it") from exc
        if node is None:
            return None
        expanded, written, _depth = _measure(node)
        if expanded > max(10_000, written * MAX_ALIAS_RATIO):
            raise UnsafeDocumentError(
                f"YAML aliases expand {written:,} written nodes to {expanded:,} (an alias bomb?); refusing to load it"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_json(text: str | bytes) -> Any:
    """Parse JSON, refusing documents nested deeper than ``MAX_DEPTH`` (raises ``ValueError`` subclasses)."""
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise UnsafeDocumentError(f"nested more than {MAX_DEPTH} levels deep; refusing to load it") from exc
    # every container opens with a bracket in the text (brackets inside strings only add to the count): a text
    # with no more than MAX_DEPTH of them cannot nest deeper, and the walk over the parsed value is spared
    if _brackets(text) > MAX_DEPTH:
        check_depth(value)
    return value


def _brackets(text: str | bytes) -> int:
    if isinstance(text, str):
        return text.count("{") + text.count("[")
    return text.count(b"{") + text.count(b"[")


def depth_of(value: Any, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of a parsed value (containers only), counting no further than ``limit + 1``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """Raise ``UnsafeDocumentError`` when a parsed value nests deeper than ``limit``."""
    if depth_of(value, limit) > limit:
        raise UnsafeDocumentError(f"nested more than {limit} levels deep; refusing to load it")
