"""A yes/no JSON Schema check compiled to closures, for the keywords contracts use; jsonschema explains failures.

jsonschema's validators are exact but cost tens of microseconds per node, which is too slow for checking tens of
thousands of recorded stream events. Valid bodies are the common case, so they are accepted by this compiled
check; only a body it rejects goes through jsonschema to produce the detailed errors. A schema using a keyword
this module does not implement compiles to None and is always checked by jsonschema.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from replaykit.contracts.document import resolve_pointer

Check = Callable[[Any], bool]

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}
# keywords with no effect on validity (annotations, replaykit markers, content hints, unasserted format)
_IGNORED = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "$defs",
        "definitions",
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",
        "contentMediaType",
        "contentEncoding",
        "contentSchema",
        "discriminator",
        "$anchor",
    }
)
_HANDLED = frozenset(
    {
        "type",
        "properties",
        "required",
        "items",
        "enum",
        "const",
        "anyOf",
        "oneOf",
        "allOf",
        "not",
        "additionalProperties",
        "minProperties",
        "maxProperties",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "pattern",
        "$ref",
    }
)
_MISSING = object()


class _Unsupported(Exception):
    pass


def compile_check(schema: Any, root: Any) -> Check | None:
    """A function telling whether a value is valid against ``schema`` (refs resolved in ``root``), or None."""
    try:
        return _Compiler(root).compile(schema)
    except (_Unsupported, RecursionError, re.error, TypeError, ValueError):
        return None


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return a == b and (type(a) is type(b) or (isinstance(a, (int, float)) and isinstance(b, (int, float))))


def _always(_value: Any) -> bool:
    return True


def _never(_value: Any) -> bool:
    return False


class _Compiler:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.refs: dict[str, list[Check]] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, dict):
            raise _Unsupported
        for key in schema:
            if key not in _HANDLED and key not in _IGNORED and not key.startswith("x-"):
                raise _Unsupported(key)
        checks: list[Check] = []
        if "$ref" in schema:
            checks.append(self._ref(schema["$ref"]))
        if "type" in schema:
            checks.append(self._type(schema["type"]))
        obj = self._object(schema)
        if obj is not None:
            checks.append(obj)
        arr = self._array(schema)
        if arr is not None:
            checks.append(arr)
        for extra in (self._enum(schema), self._number(schema), self._string(schema), self._combinators(schema)):
            checks.extend(extra)
        if not checks:
            return _always
        if len(checks) == 1:
            return checks[0]
        tup = tuple(checks)
        return lambda v: all(c(v) for c in tup)

    def _ref(self, ref: Any) -> Check:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise _Unsupported("$ref")
        if ref not in self.refs:
            cell: list[Check] = []
            self.refs[ref] = cell  # registered first: a recursive ref finds the cell and calls through it
            target = self.root if ref == "#" else resolve_pointer(self.root, ref)
            if target is None:
                raise _Unsupported("$ref")
            cell.append(self.compile(target))
        cell = self.refs[ref]
        return lambda v: cell[0](v)

    @staticmethod
    def _type(value: Any) -> Check:
        names = [value] if isinstance(value, str) else list(value)
        allowed: set[type] = set()
        for name in names:
            if name not in _PY_TYPES:
                raise _Unsupported("type")
            allowed.update(_PY_TYPES[name])
        float_as_int = "integer" in names and "number" not in names
        frozen = frozenset(allowed)

        def check(v: Any) -> bool:
            t = type(v)
            return t in frozen or (float_as_int and t is float and v.is_integer())

        return check

    def _object(self, schema: dict[str, Any]) -> Check | None:
        props = {k: self.compile(s) for k, s in (schema.get("properties") or {}).items()}
        required = tuple(schema.get("required") or ())
        extra = schema.get("additionalProperties", _MISSING)
        extra_check = None if extra is _MISSING else self.compile(extra)
        lo, hi = schema.get("minProperties"), schema.get("maxProperties")
        if not props and not required and extra_check is None and lo is None and hi is None:
            return None

        def check(v: Any) -> bool:
            if type(v) is not dict:
                return True
            for key in required:
                if key not in v:
                    return False
            for key, value in v.items():
                f = props.get(key)
                if f is not None:
                    if not f(value):
                        return False
                elif extra_check is not None and not extra_check(value):
                    return False
            return (lo is None or len(v) >= lo) and (hi is None or len(v) <= hi)

        return check

    def _array(self, schema: dict[str, Any]) -> Check | None:
        items = schema.get("items", _MISSING)
        if isinstance(items, list):
            raise _Unsupported("items")
        item_check = None if items is _MISSING else self.compile(items)
        lo, hi = schema.get("minItems"), schema.get("maxItems")
        if item_check is None and lo is None and hi is None:
            return None

        def check(v: Any) -> bool:
            if type(v) is not list:
                return True
            if (lo is not None and len(v) < lo) or (hi is not None and len(v) > hi):
                return False
            return item_check is None or all(item_check(x) for x in v)

        return check

    @staticmethod
    def _enum(schema: dict[str, Any]) -> list[Check]:
        out: list[Check] = []
        if "enum" in schema:
            values = list(schema["enum"])
            if all(isinstance(x, str) or x is None for x in values):
                strings = frozenset(x for x in values if x is not None)
                allow_null = None in values
                out.append(lambda v: (type(v) is str and v in strings) or (allow_null and v is None))
            else:
                out.append(lambda v: any(_json_equal(v, x) for x in values))
        if "const" in schema:
            const = schema["const"]
            out.append(lambda v: _json_equal(v, const))
        return out

    @staticmethod
    def _number(schema: dict[str, Any]) -> list[Check]:
        out: list[Check] = []
        bounds = [
            (schema.get("minimum"), lambda v, b: v >= b),
            (schema.get("maximum"), lambda v, b: v <= b),
            (schema.get("exclusiveMinimum"), lambda v, b: v > b),
            (schema.get("exclusiveMaximum"), lambda v, b: v < b),
        ]
        for bound, op in bounds:
            if bound is not None:
                out.append(_bound_check(bound, op))
        return out

    @staticmethod
    def _string(schema: dict[str, Any]) -> list[Check]:
        out: list[Check] = []
        lo, hi, pattern = schema.get("minLength"), schema.get("maxLength"), schema.get("pattern")
        if lo is not None or hi is not None:
            # JSON Schema counts code points, as len() does
            out.append(lambda v: type(v) is not str or ((lo is None or len(v) >= lo) and (hi is None or len(v) <= hi)))
        if pattern is not None:
            rx = re.compile(pattern)
            out.append(lambda v: type(v) is not str or rx.search(v) is not None)
        return out

    def _combinators(self, schema: dict[str, Any]) -> list[Check]:
        out: list[Check] = []
        if "anyOf" in schema:
            subs = tuple(self.compile(s) for s in schema["anyOf"])
            out.append(lambda v: any(f(v) for f in subs))
        if "oneOf" in schema:
            ones = tuple(self.compile(s) for s in schema["oneOf"])
            out.append(lambda v: sum(1 for f in ones if f(v)) == 1)
        if "allOf" in schema:
            alls = tuple(self.compile(s) for s in schema["allOf"])
            out.append(lambda v: all(f(v) for f in alls))
        if "not" in schema:
            neg = self.compile(schema["not"])
            out.append(lambda v: not neg(v))
        return out


def _bound_check(bound: float, op: Callable[[Any, Any], bool]) -> Callable[[Any], bool]:
    """A check that a number (other values pass: the type check reports them) satisfies ``op(value, bound)``."""

    def check(v: Any) -> bool:
        return not (type(v) in (int, float) and not math.isnan(v)) or op(v, bound)

    return check
