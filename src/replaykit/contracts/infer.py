"""Infer JSON-Schema contracts from recorded bodies, and merge them into existing, possibly hand-edited, contracts.

Inference: ``required`` is the keys present in every sample; types are unioned (``["string", "null"]``); a value
only ever seen as null gets ``{"x-replaykit-only-null": true}`` (accepts anything; a later type widens it to
``[type, "null"]``); small string sets under enum-like keys become enums; objects of different shapes become
``anyOf`` variants, told apart by a ``type`` discriminator or by their property sets.

Merging is a widening union (types, properties, enum values, variants) with ``required`` intersected, so running
``update`` twice changes nothing, and every keyword inference does not manage (``description``, volatile/closed
markers, ``additionalProperties``, ...) is kept from the existing contract.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from replaykit.contracts.bodies import type_name
from replaykit.contracts.document import (
    CLOSED,
    DISCRIMINATOR,
    MANUAL,
    ONLY_NULL,
    VOLATILE,
    SchemaView,
)

ENUM_FIELDS = frozenset({"stopReason", "stop_reason", "finish_reason", "role", "type", "object", "status", "event"})
MAX_ENUM = 8
MAX_VARIANTS = 8
# Bedrock pads stream frames with a random-length "p" string so sizes leak nothing; never required
PADDING_FIELDS = frozenset({"p"})
PADDING_SCHEMA = {"type": "string", VOLATILE: True, "description": "random-length padding of AWS event stream frames"}
VOLATILE_FIELDS = frozenset({"id", "created", "created_at", "system_fingerprint", "latencyMs", "obfuscation"})

# a key is "required" only when every one of at least this many samples had it (or the official shape requires it):
# three responses of one model are not evidence that every model sends the field
_MIN_SAMPLES: ContextVar[int] = ContextVar("replaykit_contract_min_samples", default=1)
# merging into a contract inferred from fewer samples than that: its "required" was never judged, so take the new one
_GROW_REQUIRED: ContextVar[bool] = ContextVar("replaykit_contract_grow_required", default=False)

_TYPE_ORDER = {t: i for i, t in enumerate(("object", "array", "string", "integer", "number", "boolean", "null"))}
_MANAGED = frozenset({"type", "properties", "required", "items", "enum", "anyOf", ONLY_NULL, DISCRIMINATOR})
# a node using these was not produced by inference: merging would only guess, so it is kept as written
_OPAQUE = frozenset({"$ref", "oneOf", "allOf", "not", "if", "$dynamicRef"})


@dataclass
class _Node:
    """A schema node taken apart: non-object types, string enum, array items, object variants, other keywords."""

    types: set[str] = field(default_factory=set)
    enum: list[str] | None = None
    items: Any = None
    variants: list[dict[str, Any]] = field(default_factory=list)
    discriminator: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- rendering / parsing


def _type_value(types: Iterable[str]) -> str | list[str]:
    ordered = sorted(set(types), key=lambda t: _TYPE_ORDER.get(t, 99))
    if "number" in ordered and "integer" in ordered:
        ordered.remove("integer")
    return ordered[0] if len(ordered) == 1 else ordered


def _render(n: _Node) -> dict[str, Any]:
    types = set(n.types)
    if types == {"null"} and not n.variants:
        return {**n.extra, ONLY_NULL: True}
    scalar: dict[str, Any] = {}
    if n.items is not None and "array" in types:
        scalar["items"] = n.items
    if n.enum is not None and "string" in types:
        scalar["enum"] = sorted(n.enum) + ([None] if "null" in types else [])
    if len(n.variants) <= 1:
        out = dict(n.extra)
        if n.variants:
            out.update({k: v for k, v in n.variants[0].items() if k != "type"})
            types.add("object")
        if types:
            out["type"] = _type_value(types)
        out.update(scalar)
        return out
    anyof = [{**v, "type": "object"} for v in n.variants]
    if types:
        anyof.append({"type": _type_value(types), **scalar})
    out = {**n.extra, "anyOf": anyof}
    if n.discriminator:
        out[DISCRIMINATOR] = n.discriminator
    return out


def _types_of(part: dict[str, Any]) -> set[str]:
    t = part.get("type")
    if isinstance(t, str):
        return {t}
    if isinstance(t, list):
        return {x for x in t if isinstance(x, str)}
    if "properties" in part:
        return {"object"}
    if "items" in part:
        return {"array"}
    if "enum" in part:
        return {"string"}
    return set()


def parse_node(schema: dict[str, Any]) -> _Node:
    """A schema node taken apart into types, enum, items, object variants and other keywords."""
    n = _Node(extra={k: v for k, v in schema.items() if k not in _MANAGED}, discriminator=schema.get(DISCRIMINATOR))
    if schema.get(ONLY_NULL):
        n.types.add("null")
    anyof = schema.get("anyOf")
    parts = anyof if isinstance(anyof, list) else [{k: v for k, v in schema.items() if k in _MANAGED}]
    for part in parts:
        if not isinstance(part, dict):
            continue
        types = _types_of(part)
        if "object" in types:
            if anyof is None:
                n.variants.append({k: part[k] for k in ("properties", "required") if k in part})
            else:
                n.variants.append({k: v for k, v in part.items() if k not in ("type", "items", "enum")})
        n.types |= types - {"object"}
        if isinstance(part.get("items"), dict):
            n.items = part["items"] if n.items is None else merge_schema(n.items, part["items"])
        if isinstance(part.get("enum"), list):
            n.enum = [x for x in part["enum"] if isinstance(x, str)]
    return n


# ---------------------------------------------------------------- inference


def infer_schema(
    samples: list[Any],
    *,
    hint: dict[str, Any] | None = None,
    root: dict[str, Any] | None = None,
    padding: bool = False,
    min_samples: int | None = None,
) -> dict[str, Any]:
    """A JSON Schema every sample satisfies.

    ``hint`` is the official schema of the same value (its ``$ref``s resolved in ``root``, default ``hint``): it
    seeds unions and marks caller-defined documents. ``padding``: the samples are AWS event stream payloads, whose
    ``p`` padding field is an optional volatile string. ``min_samples``: an object key is required only when at
    least this many objects all had it, or the official shape requires it (default: 1, or the enclosing
    ``requiring`` block's value).
    """
    view = SchemaView(root if root is not None else hint, hint) if isinstance(hint, dict) else None
    if min_samples is None:
        return _infer(samples, None, view, padding)
    with requiring(min_samples):
        return _infer(samples, None, view, padding)


@contextmanager
def requiring(min_samples: int, *, grow: bool = False) -> Iterator[None]:
    """Within the block, inference requires ``min_samples`` samples per required key.

    ``grow``: merging takes the inferred ``required`` instead of intersecting (the existing contract saw too few
    samples to judge).
    """
    a = _MIN_SAMPLES.set(max(1, int(min_samples)))
    b = _GROW_REQUIRED.set(grow)
    try:
        yield
    finally:
        _GROW_REQUIRED.reset(b)
        _MIN_SAMPLES.reset(a)


def _infer(values: list[Any], name: str | None, hint: SchemaView | None, padding: bool = False) -> dict[str, Any]:
    n = _Node()
    strings: set[str] = set()
    items: list[Any] = []
    objects: list[dict[str, Any]] = []
    for v in values:
        t = type_name(v)
        if t == "object":
            objects.append(v)
            continue
        n.types.add(t)
        if t == "string" and len(strings) <= MAX_ENUM:
            strings.add(v)
        elif t == "array":
            items.extend(v)
    if strings and name in ENUM_FIELDS and len(strings) <= MAX_ENUM and all(len(s) <= 64 for s in strings):
        n.enum = sorted(strings)
    if items:
        n.items = _infer(items, None, hint.items() if hint else None)
    if objects and hint is not None and hint.is_document:
        n.variants = [{}]  # caller-defined JSON (tool input, JSON schemas): its shape is not the API's contract
    elif objects:
        n.variants, n.discriminator = _infer_objects(objects, hint, padding)
    if name in VOLATILE_FIELDS:
        n.extra[VOLATILE] = True
    return _render(n)


def _similar(a: frozenset[str], b: frozenset[str]) -> bool:
    """Property sets that may describe one kind of object: they share a key (or one is empty).

    Only disjoint sets are variants (``{text}`` vs ``{toolUse}``, one model family's body vs another's): objects
    with optional fields share their common keys, and splitting those would make every optional field a variant.
    """
    return not a or not b or not a.isdisjoint(b)


def _infer_objects(
    objects: list[dict[str, Any]], hint: SchemaView | None, padding: bool
) -> tuple[list[dict[str, Any]], str | None]:
    pad = PADDING_FIELDS if padding else frozenset()
    disc = _discriminator(objects, hint)
    groups: list[tuple[Any, list[dict[str, Any]]]]
    if disc:
        by_value: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for o in objects:
            by_value[o[disc]].append(o)
        groups = sorted(by_value.items())
    else:
        groups = [(None, g) for g in _cluster(objects, pad, union=bool(hint and hint.is_union))]
    variants = [_infer_object(g, hint, pad, disc, value) for value, g in groups]
    if not disc:
        variants.sort(key=lambda v: (sorted(v.get("required", [])), sorted(v.get("properties", {}))))
    return variants, (disc if len(variants) > 1 else None)


def _discriminator(objects: list[dict[str, Any]], hint: SchemaView | None) -> str | None:
    if not all(isinstance(o.get("type"), str) for o in objects):
        return None
    keys: dict[str, set[str]] = defaultdict(set)
    for o in objects:
        keys[o["type"]].update(o)
    if not 2 <= len(keys) <= MAX_VARIANTS:
        return None
    shapes = {frozenset(k) for k in keys.values()}
    return "type" if len(shapes) > 1 or (hint is not None and hint.discriminator == "type") else None


def _cluster(objects: list[dict[str, Any]], pad: frozenset[str], *, union: bool) -> list[list[dict[str, Any]]]:
    by_keys: dict[frozenset[str], list[dict[str, Any]]] = {}
    for o in objects:
        by_keys.setdefault(frozenset(k for k in o if k not in pad), []).append(o)
    if len(by_keys) == 1:
        return [objects]
    keysets = list(by_keys)
    parent = list(range(len(keysets)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(keysets):
        for j in range(i + 1, len(keysets)):
            # a botocore union sets exactly one member: differently keyed blocks are different variants
            if (a == keysets[j]) if union else _similar(a, keysets[j]):
                parent[find(j)] = find(i)
    clusters: dict[int, list[dict[str, Any]]] = {}
    for i, ks in enumerate(keysets):
        clusters.setdefault(find(i), []).extend(by_keys[ks])
    if len(clusters) > MAX_VARIANTS:
        return [objects]
    return list(clusters.values())


def _infer_object(
    group: list[dict[str, Any]], hint: SchemaView | None, pad: frozenset[str], disc: str | None, disc_value: Any
) -> dict[str, Any]:
    keys: dict[str, None] = {}
    for o in group:
        keys.update(dict.fromkeys(o))
    props: dict[str, Any] = {}
    for k in keys:
        values = [o[k] for o in group if k in o]
        if k in pad and all(isinstance(v, str) for v in values):
            props[k] = dict(PADDING_SCHEMA)
        else:
            props[k] = _infer(values, k, hint.child(k) if hint else None)
    if disc:
        props[disc] = {"type": "string", "const": disc_value}
    out: dict[str, Any] = {"type": "object", "properties": props} if props else {"type": "object"}
    enough = len(group) >= _MIN_SAMPLES.get()
    official = _official_required(hint, disc, disc_value) if hint is not None else set()
    required = sorted(k for k in keys if k not in pad and all(k in o for o in group) and (enough or k in official))
    if required:
        out["required"] = required
    return out


def _official_required(hint: SchemaView, disc: str | None, disc_value: Any) -> set[str]:
    """Keys the official shape requires of this object (of the variant ``disc_value`` names, when known)."""
    objects = hint.object_alternatives()
    if disc:
        objects = [
            a
            for a in objects
            if isinstance(a["properties"].get(disc), dict) and a["properties"][disc].get("const") == disc_value
        ] or objects
    sets = [set(a.get("required") or ()) for a in objects]
    # with several candidate shapes, only what every one of them requires is certain
    return set.intersection(*sets) if sets else set()


# ---------------------------------------------------------------- merging


def merge_schema(existing: Any, inferred: Any) -> Any:
    """``existing`` widened to also accept what ``inferred`` describes, keeping every manual edit of ``existing``."""
    if not isinstance(existing, dict) or not isinstance(inferred, dict):
        return existing if existing is not None else inferred
    if existing.get(MANUAL) or any(k in existing for k in _OPAQUE):
        return existing
    e, i = parse_node(existing), parse_node(inferred)
    closed = bool(existing.get(CLOSED))
    n = _Node(extra={**i.extra, **e.extra})
    n.types = e.types | i.types
    if closed and e.enum is not None:
        n.enum = e.enum
    elif not (("string" in e.types and e.enum is None) or ("string" in i.types and i.enum is None)):
        values = list(e.enum or []) + [x for x in i.enum or [] if x not in (e.enum or [])]
        n.enum = values if values and len(values) <= MAX_ENUM else None
    if e.items is not None and i.items is not None:
        n.items = merge_schema(e.items, i.items)
    else:
        n.items = e.items if e.items is not None else i.items
    n.discriminator = e.discriminator or i.discriminator
    n.variants = [dict(v) for v in e.variants]
    for iv in i.variants:
        idx = _match_variant(n.variants, iv, n.discriminator)
        if idx is not None:
            n.variants[idx] = _merge_object(n.variants[idx], iv)
        elif not (closed and n.variants):
            n.variants.append(iv)
    if len(n.variants) <= 1:
        n.discriminator = None
    return _render(n)


def _disc_value(variant: dict[str, Any], disc: str) -> Any:
    prop = (variant.get("properties") or {}).get(disc)
    if not isinstance(prop, dict):
        return None
    if "const" in prop:
        return prop["const"]
    enum = [x for x in prop.get("enum") or [] if x is not None]
    return enum[0] if len(enum) == 1 else None


def _match_variant(variants: list[dict[str, Any]], new: dict[str, Any], disc: str | None) -> int | None:
    if disc:
        value = _disc_value(new, disc)
        for idx, v in enumerate(variants):
            if value is not None and _disc_value(v, disc) == value:
                return idx
        return None
    keys = frozenset(new.get("properties") or {})
    best: tuple[float, int] | None = None
    for idx, v in enumerate(variants):
        other = frozenset(v.get("properties") or {})
        if _similar(keys, other):
            score = len(keys & other) / max(1, len(keys | other))
            if best is None or score > best[0]:
                best = (score, idx)
    return best[1] if best else None


def _merge_object(existing: dict[str, Any], inferred: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in inferred.items() if k not in ("properties", "required")}
    out.update({k: v for k, v in existing.items() if k not in ("properties", "required")})
    eprops, iprops = existing.get("properties") or {}, inferred.get("properties") or {}
    props = dict(eprops)
    for k, s in iprops.items():
        props[k] = merge_schema(eprops[k], s) if k in eprops else s
    if props:
        out["properties"] = props
    keep = set(inferred.get("required") or [])
    if _GROW_REQUIRED.get():
        required = sorted(keep)
    else:
        required = sorted(k for k in existing.get("required") or [] if k in keep)
    if required:
        out["required"] = required
    return out
