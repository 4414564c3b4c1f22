"""Fidelity checks for sandbox (or recorded) bodies against the SDKs' own models.

* botocore: a JSON value against an output/event shape — no unknown members, required members present, JSON types
  matching the shape types, enum values respected, tagged unions with exactly one member.
* openai: a JSON value against an SDK pydantic type — it must validate, and no model anywhere in the parsed tree may
  carry fields the type does not declare (``model_extra``).

Each function returns a list of human-readable problems; an empty list means the body conforms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Bedrock stream frames carry a random-length padding member that no shape models
STREAM_PADDING = "p"


def botocore_problems(value: Any, shape: Any, path: str = "$", ignore: frozenset[str] = frozenset()) -> list[str]:
    """Problems of ``value`` (parsed JSON) against a botocore shape; ``ignore`` names top-level extra keys."""
    check = _BY_SHAPE_TYPE.get(shape.type_name)
    if check is None:
        return _scalar_problems(value, shape, path)
    return check(value, shape, path, ignore)


def _structure_problems(value: Any, shape: Any, path: str, ignore: frozenset[str]) -> list[str]:
    if getattr(shape, "is_document_type", False):
        return []
    if not isinstance(value, dict):
        return [f"{path}: expected object for {shape.name}, got {type(value).__name__}"]
    members = {
        m.serialization.get("name", n): (n, m)
        for n, m in shape.members.items()
        if m.serialization.get("location") in (None, "")
    }
    problems = [
        f"{path}.{key}: not a member of {shape.name}" for key in value if key not in members and key not in ignore
    ]
    problems += _missing_required(value, shape, path)
    if getattr(shape, "is_tagged_union", False):
        set_members = [k for k, v in value.items() if v is not None and k not in ignore]
        if len(set_members) != 1:
            problems.append(f"{path}: union {shape.name} must have exactly one member, has {set_members}")
    for key, item in value.items():
        if key in members and item is not None:
            problems += botocore_problems(item, members[key][1], f"{path}.{key}")
    return problems


def _missing_required(value: dict[str, Any], shape: Any, path: str) -> list[str]:
    problems = []
    for name in shape.required_members:
        m = shape.members[name]
        if m.serialization.get("location") in (None, "") and m.serialization.get("name", name) not in value:
            problems.append(f"{path}.{name}: required member of {shape.name} is missing")
    return problems


def _list_problems(value: Any, shape: Any, path: str, ignore: frozenset[str]) -> list[str]:
    if not isinstance(value, list):
        return [f"{path}: expected list for {shape.name}"]
    return [p for i, v in enumerate(value) for p in botocore_problems(v, shape.member, f"{path}[{i}]")]


def _map_problems(value: Any, shape: Any, path: str, ignore: frozenset[str]) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected map for {shape.name}"]
    return [p for k, v in value.items() for p in botocore_problems(v, shape.value, f"{path}.{k}")]


# botocore shape type -> its check (every other type is a scalar)
_BY_SHAPE_TYPE: dict[str, Callable[[Any, Any, str, frozenset[str]], list[str]]] = {
    "structure": _structure_problems,
    "list": _list_problems,
    "map": _map_problems,
}


def _scalar_problems(value: Any, shape: Any, path: str) -> list[str]:
    kind = shape.type_name
    ok = {
        "string": isinstance(value, str),
        "blob": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "long": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
        "double": isinstance(value, int | float) and not isinstance(value, bool),
        "timestamp": isinstance(value, int | float | str) and not isinstance(value, bool),
    }.get(kind, True)
    if not ok:
        return [f"{path}: expected {kind} for {shape.name}, got {type(value).__name__} {value!r}"]
    enum = getattr(shape, "enum", None)
    if kind == "string" and enum and value not in enum:
        return [f"{path}: {value!r} is not one of {shape.name}'s values {list(enum)}"]
    return []


def bedrock_output_problems(operation: str, body: Any) -> list[str]:
    """Problems of a non-streaming bedrock-runtime JSON response body against the operation's output shape."""
    from replaykit.providers.aws import service_model

    return botocore_problems(body, service_model("bedrock-runtime").operation_model(operation).output_shape)


def bedrock_event_problems(operation: str, event_type: str, payload: Any, message_type: str = "event") -> list[str]:
    """Problems of one event stream message payload against the operation's event (or exception) shape."""
    from replaykit.providers.aws import service_model

    output = service_model("bedrock-runtime").operation_model(operation).output_shape
    stream = next((m for m in output.members.values() if m.serialization.get("eventstream")), None)
    if stream is None:
        return [f"{operation} has no event stream"]
    shape = stream.members.get(event_type)
    if shape is None:
        return [f"{event_type!r} is not an event of {stream.name}"]
    if message_type == "exception" and not shape.metadata.get("exception"):
        return [f"{event_type!r} is not an exception of {stream.name}"]
    return botocore_problems(payload, shape, f"${event_type}", ignore=frozenset({STREAM_PADDING}))


def openai_problems(type_: Any, data: Any) -> list[str]:
    """Problems of ``data`` against an openai SDK type: validation errors, then undeclared fields anywhere."""
    import pydantic

    try:
        obj = _adapter(type_).validate_python(data)
    except pydantic.ValidationError as exc:
        return [f"{'.'.join(map(str, e['loc'])) or '$'}: {e['msg']}" for e in exc.errors()]
    return _extras(obj, "$")


_ADAPTERS: dict[int, Any] = {}


def _adapter(type_: Any) -> Any:
    # building an adapter for a large union (ResponseStreamEvent) takes ~0.1 s: build each one once
    import pydantic

    key = id(type_)
    if key not in _ADAPTERS:
        _ADAPTERS[key] = (type_, pydantic.TypeAdapter(type_))
    return _ADAPTERS[key][1]


def _extras(obj: Any, path: str) -> list[str]:
    import pydantic

    problems: list[str] = []
    if isinstance(obj, pydantic.BaseModel):
        for key in obj.model_extra or {}:
            problems.append(f"{path}.{key}: not a field of {type(obj).__name__}")
        for name in type(obj).model_fields:
            problems += _extras(getattr(obj, name, None), f"{path}.{name}")
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            problems += _extras(item, f"{path}[{i}]")
    elif isinstance(obj, dict):
        for key, item in obj.items():
            problems += _extras(item, f"{path}.{key}")
    return problems
