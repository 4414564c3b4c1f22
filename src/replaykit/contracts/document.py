"""The contract file: where it lives, its keywords, how it is written and read, and how to walk its schemas.

A contract is one JSON document per operation at ``<contracts>/<provider>/<name>.json``::

    {"$schema": ..., "x-replaykit": {"operation", "samples", "streaming", "format"},
     "request": <schema>,
     "response": {"content_types": [...], "success": <schema>, "error": <schema>,
                  "events": {"<event type>": <schema>}, "event_types": [...]},
     "$defs": {...}}                                   # optional, shared by every part ("#/$defs/Name")
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from replaykit.codecs.safe import load_json
from replaykit.errors import ConfigError

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"
FORMAT = 1

# keywords replaykit reads or writes in contract schemas (JSON Schema ignores unknown keywords)
MANUAL = "x-replaykit-manual"  # node is hand-written: re-inference leaves it alone
CLOSED = "x-replaykit-closed"  # enum / variant set is complete: re-inference never widens it
VOLATILE = "x-replaykit-volatile"  # value differs on every call (ids, timestamps, padding): drift ignores it
ONLY_NULL = "x-replaykit-only-null"  # only null seen so far: any value is accepted, a later type widens it
DISCRIMINATOR = "x-replaykit-discriminator"  # anyOf variants told apart by this property's value
UNION = "x-replaykit-union"  # official: a botocore union (exactly one member set on the wire)
DOCUMENT = "x-replaykit-document"  # official: a botocore document (caller-defined JSON, e.g. tool input)


def contract_path(contracts_dir: Path, operation: str) -> Path:
    """``<contracts_dir>/<provider>/<name>.json`` for ``<provider>.<name>``."""
    provider, _, name = operation.partition(".")
    if not provider or not name or "/" in operation or operation.startswith("."):
        raise ConfigError(f"not an operation name: {operation!r} (expected <provider>.<name>)")
    return Path(contracts_dir) / provider / f"{name}.json"


def dump_contract(doc: dict[str, Any]) -> str:
    """The stable text of a contract: sorted keys, two-space indent, trailing newline."""
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_contract(path: Path, text: str) -> bool:
    """Write a contract's text unless the file already holds it (atomically: temp file, then rename)."""
    path = Path(path)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)  # an interrupted update never leaves half a contract
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def load_contract(path: Path) -> dict[str, Any]:
    """Read a contract file; ConfigError names the file and the line/column or key that is wrong."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read contract: {exc.strerror or exc}") from exc
    try:
        doc = load_json(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}") from exc
    check_structure(doc, path)
    return doc


def check_structure(doc: Any, path: Path | str) -> None:
    """Raise ConfigError unless ``doc`` has the contract layout (the schemas themselves are checked on compile)."""

    def bad(where: str, what: str) -> ConfigError:
        return ConfigError(f"{path}: {where}: {what}")

    if not isinstance(doc, dict):
        raise bad("$", "a contract must be a JSON object")
    for key in ("request",):
        if key in doc and not isinstance(doc[key], (dict, bool)):
            raise bad(key, "must be a JSON Schema (object)")
    if "$defs" in doc and not isinstance(doc["$defs"], dict):
        raise bad("$defs", "must be an object")
    resp = doc.get("response", {})
    if not isinstance(resp, dict):
        raise bad("response", "must be an object")
    for key in ("success", "error"):
        if key in resp and not isinstance(resp[key], (dict, bool)):
            raise bad(f"response.{key}", "must be a JSON Schema (object)")
    for key in ("content_types", "event_types"):
        value = resp.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise bad(f"response.{key}", "must be a list of strings")
    events = resp.get("events")
    if events is not None:
        if not isinstance(events, dict):
            raise bad("response.events", "must be an object mapping event type to schema")
        for name, schema in events.items():
            if not isinstance(schema, (dict, bool)):
                raise bad(f"response.events.{name}", "must be a JSON Schema (object)")


def iter_parts(doc: dict[str, Any]) -> Iterator[tuple[str, tuple[str, ...], Any]]:
    """Every schema of a contract as ``(part, pointer, schema)``; part is request/success/error/event:<type>."""
    if "request" in doc:
        yield "request", ("request",), doc["request"]
    resp = doc.get("response") or {}
    for key in ("success", "error"):
        if key in resp:
            yield key, ("response", key), resp[key]
    for name, schema in (resp.get("events") or {}).items():
        yield f"event:{name}", ("response", "events", name), schema


def pointer_text(pointer: tuple[str | int, ...]) -> str:
    """A dotted location (``response.events.messageStart.properties.role``) for messages."""
    return ".".join(str(p) for p in pointer) or "$"


def resolve_pointer(root: Any, ref: str) -> Any:
    """The node a local ``#/a/b`` reference points at, or None."""
    node = root
    for raw in ref[2:].split("/") if ref.startswith("#/") else []:
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


class SchemaView:
    """A schema node seen through its local ``$ref``s and ``anyOf``/``oneOf`` alternatives (read-only walker)."""

    __slots__ = ("root", "node", "_alts")

    def __init__(self, root: Any, node: Any) -> None:
        self.root = root
        self.node = self._resolve(node)
        self._alts: list[dict[str, Any]] | None = None

    def _resolve(self, node: Any) -> dict[str, Any]:
        for _ in range(64):  # bounded: a $ref cycle must not hang
            if isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
                node = resolve_pointer(self.root, node["$ref"])
            else:
                break
        return node if isinstance(node, dict) else {}

    def alternatives(self) -> list[dict[str, Any]]:
        """The node and, flattened, every anyOf/oneOf alternative under it, all resolved."""
        if self._alts is None:
            out: list[dict[str, Any]] = []
            stack = [self.node]
            while stack and len(out) < 512:
                node = stack.pop(0)
                out.append(node)
                for key in ("anyOf", "oneOf"):
                    for alt in node.get(key) or []:
                        stack.append(self._resolve(alt))
            self._alts = out
        return self._alts

    def child(self, key: str) -> SchemaView | None:
        """The schema of property ``key`` in any alternative, or of the map values."""
        for alt in self.alternatives():
            props = alt.get("properties")
            if isinstance(props, dict) and key in props:
                return SchemaView(self.root, props[key])
        for alt in self.alternatives():
            extra = alt.get("additionalProperties")
            if isinstance(extra, dict):
                return SchemaView(self.root, extra)
        return None

    def items(self) -> SchemaView | None:
        """The schema of array items in any alternative."""
        for alt in self.alternatives():
            if isinstance(alt.get("items"), dict):
                return SchemaView(self.root, alt["items"])
        return None

    def object_alternatives(self) -> list[dict[str, Any]]:
        """The alternatives that describe objects (have properties)."""
        return [a for a in self.alternatives() if isinstance(a.get("properties"), dict)]

    @property
    def is_union(self) -> bool:
        """Whether the node is a botocore union (one member set at a time)."""
        return any(a.get(UNION) for a in self.alternatives())

    @property
    def discriminator(self) -> str | None:
        """``type`` when the alternatives are told apart by a constant ``type`` property."""
        consts = [
            a
            for a in self.object_alternatives()
            if isinstance(a["properties"].get("type"), dict) and "const" in a["properties"]["type"]
        ]
        return "type" if len(consts) >= 2 else None

    @property
    def is_document(self) -> bool:
        """Whether the node is a botocore document: JSON whose shape the caller, not the API, defines."""
        return any(a.get(DOCUMENT) for a in self.alternatives())

    @property
    def free_form(self) -> bool:
        """Whether the node accepts anything (a botocore document, an untyped pydantic field)."""
        keys = ("type", "properties", "items", "anyOf", "oneOf", "allOf", "enum", "const", "additionalProperties")
        return not any(k in a for a in self.alternatives() for k in keys)
