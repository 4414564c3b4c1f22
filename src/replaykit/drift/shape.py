"""Structure signatures of decoded bodies: the set of JSON types seen at each path, arrays folded to ``[*]``.

Folding arrays makes the signature independent of how many elements (content blocks, choices, deltas) a generated
answer happened to have, so two recordings with different text compare equal unless the API itself changed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from replaykit.drift.rules import ENUM_KEYS, ENUM_MAX_LEN, OPAQUE_PATHS, PathSet
from replaykit.exchange import Body

Shape = dict[str, set[str]]
EnumHits = list[tuple[str, str]]

_TYPES: dict[type, str] = {
    dict: "object",
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}
_SCALARS = frozenset({str, int, float, bool, type(None)})
_NEVER: Callable[[str], bool] = lambda _p: False  # noqa: E731
_METRICS_KEY = "amazon-bedrock-invocationMetrics"


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value (ints and floats are both ``number``)."""
    t = _TYPES.get(type(value))
    if t is not None:
        return t
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return "binary" if isinstance(value, bytes | bytearray) else "string"


def add_shape(
    value: Any,
    shape: Shape,
    enums: EnumHits,
    *,
    prefix: str = "",
    opaque: PathSet = OPAQUE_PATHS,
    enum_path: Callable[[str], bool] = _NEVER,
) -> None:
    """Fold the structure of ``value`` into ``shape`` and collect enum-like string leaves into ``enums``."""
    types = _TYPES
    scalars = _SCALARS
    enum_keys = ENUM_KEYS
    opaque_cache = opaque.cache
    check_enum_path = enum_path is not _NEVER

    # hot loop of drift: locals and a closure instead of attribute lookups and long argument lists
    def walk(v: Any, path: str, key: str | None) -> None:
        t = types.get(type(v)) or json_type(v)
        seen = shape.get(path)
        if seen is None:
            shape[path] = {t}
        elif t not in seen:
            seen.add(t)
        if t == "object":
            if path:
                hidden = opaque_cache.get(path)
                if hidden is None:
                    hidden = opaque(path)
                if hidden:
                    return
                for k, child in v.items():
                    walk(child, f"{path}.{k}", k)
            else:
                for k, child in v.items():
                    walk(child, str(k), k)
        elif t == "array":
            if not v:
                return
            sub = path + "[*]"
            kinds = set(map(type, v))
            if kinds <= scalars:
                # arrays of scalars (embeddings, token ids) are typed in one pass, not element by element
                names = {types[k] for k in kinds}
                seen = shape.get(sub)
                if seen is None:
                    shape[sub] = names
                else:
                    seen.update(names)
                return
            for child in v:
                walk(child, sub, key)
        elif t == "string" and (key in enum_keys or (check_enum_path and enum_path(path))) and len(v) <= ENUM_MAX_LEN:
            enums.append((path, v))

    walk(value, prefix, None)


@dataclass
class BodyShape:
    """The signature of one body: a plain shape, or per-event-type shapes for a stream."""

    kind: str
    shape: Shape = field(default_factory=dict)
    enums: EnumHits = field(default_factory=list)
    events: dict[str, Shape] = field(default_factory=dict)
    event_enums: dict[str, EnumHits] = field(default_factory=dict)

    @property
    def is_stream(self) -> bool:
        """Whether the body is an event stream or SSE stream."""
        return self.kind in ("eventstream", "sse")


def body_shape(
    body: Body, *, content_type: str = "", enum_for: Callable[[str], Callable[[str], bool]] | None = None
) -> BodyShape:
    """The structure signature of a decoded body; ``enum_for(where)`` names extra enum paths of a body part."""
    out = BodyShape(kind=body.kind)
    value = body.value
    if body.kind == "json":
        add_shape(value, out.shape, out.enums, enum_path=_enum_paths(enum_for, "response.body"))
    elif body.kind == "text":
        if "xml" in content_type or (isinstance(value, str) and value.lstrip().startswith("<?xml")):
            _xml_shape(value, out.shape)
        else:
            out.shape[""] = {"string"}
    elif body.kind == "base64":
        out.shape[""] = {"binary"}
    elif body.kind in ("eventstream", "sse"):
        per_type: dict[str, Callable[[str], bool]] = {}
        for ev in value or []:
            if not isinstance(ev, dict):
                continue
            etype = event_type(body.kind, ev)
            shape = out.events.setdefault(etype, {})
            enums = out.event_enums.setdefault(etype, [])
            payload = event_payload(body.kind, ev)
            enum_path = per_type.get(etype)
            if enum_path is None:
                enum_path = per_type[etype] = _enum_paths(enum_for, f"event:{etype}")
            add_shape(payload, shape, enums, enum_path=enum_path)
    return out


def _enum_paths(enum_for: Callable[[str], Callable[[str], bool]] | None, where: str) -> Callable[[str], bool]:
    if enum_for is None:
        return _NEVER
    paths = enum_for(where)
    return paths if paths is not None else _NEVER


def _xml_shape(text: Any, shape: Shape) -> None:
    try:
        root = ET.fromstring(text if isinstance(text, str) else str(text))
    except ET.ParseError:
        shape[""] = {"string"}
        return
    shape[""] = {"object"}

    def walk(el: ET.Element, path: str) -> None:
        for name in el.attrib:
            shape.setdefault(f"{path}.@{_local(name)}", set()).add("string")
        children = list(el)
        if not children:
            shape.setdefault(path, set()).add("string")
            return
        shape.setdefault(path, set()).add("object")
        for child in children:
            walk(child, f"{path}.{_local(child.tag)}")

    walk(root, _local(root.tag))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def event_type(kind: str, ev: dict[str, Any]) -> str:
    """The type name an event is grouped under (``contentBlockDelta``, ``chunk:message_start``, ``[DONE]``...)."""
    if kind == "eventstream":
        name = str(ev.get("event") or "")
        mtype = str(ev.get("type") or "event")
        if mtype != "event":
            return f"{mtype}:{name}"
        payload = ev.get("json")
        inner = payload.get("bytes_json") if isinstance(payload, dict) else None
        if name == "chunk" and isinstance(inner, dict):
            # InvokeModelWithResponseStream: every event is a "chunk"; the model family's own event name is inside
            if isinstance(inner.get("type"), str):
                return f"chunk:{inner['type']}"
            keys = [k for k in inner if k != _METRICS_KEY]
            if len(keys) == 1:
                return f"chunk:{keys[0]}"
        return name or "event"
    data = ev.get("data")
    if ev.get("event"):
        return str(ev["event"])
    if isinstance(data, dict):
        for key in ("type", "object"):
            if isinstance(data.get(key), str):
                return str(data[key])
        if "error" in data:
            return "error"
        return "message"
    return "[DONE]" if isinstance(data, str) and data.strip() == "[DONE]" else "message"


def event_payload(kind: str, ev: dict[str, Any]) -> Any:
    """The part of an event whose structure is compared."""
    if kind == "sse":
        return ev.get("data")
    for key in ("json", "text", "base64"):
        if key in ev:
            return ev[key]
    return None


def count_value_changes(old: Body, new: Body, volatile: Callable[[str], bool]) -> tuple[int, int]:
    """How many leaf values differ between two bodies, and how many of those sit at volatile paths."""
    if old.kind != new.kind:
        return (1, 0)
    if old.value == new.value:
        return (0, 0)
    acc = [0, 0]
    if old.kind in ("eventstream", "sse"):
        a = old.value or []
        b = new.value or []
        for i in range(max(len(a), len(b))):
            if i >= len(a) or i >= len(b):
                acc[0] += 1
                continue
            if a[i] != b[i]:
                _diff(event_payload(old.kind, a[i]), event_payload(new.kind, b[i]), "", volatile, acc)
        return (acc[0], acc[1])
    if old.kind == "json":
        _diff(old.value, new.value, "", volatile, acc)
        return (acc[0], acc[1])
    if old.kind == "text" and _is_xml(old.value) and _is_xml(new.value):
        # S3 answers in XML: compare its elements like JSON fields, so LastModified and ETag count as volatile
        from replaykit.contracts.bodies import xml_to_json

        _diff(xml_to_json(str(old.value)), xml_to_json(str(new.value)), "", volatile, acc)
        return (acc[0], acc[1])
    return (1, 0)


def _is_xml(value: Any) -> bool:
    return isinstance(value, str) and value.lstrip().startswith("<")


def _diff(a: Any, b: Any, path: str, volatile: Callable[[str], bool], acc: list[int]) -> None:
    # identical subtrees short-circuit at C speed, so only the differing branches are walked
    if a == b and type(a) is type(b):
        return
    if isinstance(a, dict) and isinstance(b, dict):
        # a key on one side only is structure (reported as a finding), not a value change
        for k in a.keys() & b.keys():
            sub = f"{path}.{k}" if path else str(k)
            _diff(a[k], b[k], sub, volatile, acc)
        return
    if isinstance(a, list) and isinstance(b, list):
        sub = path + "[*]"
        for i in range(max(len(a), len(b))):
            if i < len(a) and i < len(b):
                _diff(a[i], b[i], sub, volatile, acc)
            else:
                _leaf(sub, volatile, acc)
        return
    _leaf(path, volatile, acc)


def _leaf(path: str, volatile: Callable[[str], bool], acc: list[int]) -> None:
    acc[0] += 1
    if volatile(path):
        acc[1] += 1
