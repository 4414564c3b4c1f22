"""Deterministic model behaviour: text, token counts, tool inputs, JSON values and vectors from a request hash.

Everything here is a pure function of its arguments, so the same request always yields the same body; only ids,
timestamps and latencies (chosen by the wire layers) vary between calls, as they do with the real providers.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_TOKEN_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_NO_SPACE_BEFORE = set(".,;:!?)%'")
PAD_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

_SUBJECTS = (
    "The sandbox",
    "This answer",
    "The request",
    "A replayed call",
    "The contract",
    "Each response",
    "The recorded exchange",
    "The model",
)
_VERBS = ("keeps", "describes", "mirrors", "returns", "checks", "follows", "explains", "summarises")
_OBJECTS = (
    "the shape of the provider",
    "a stable result",
    "the same tokens every time",
    "the expected fields",
    "a short deterministic reply",
    "what the client asked for",
    "the documented wire format",
    "a predictable sequence of events",
)
_TAILS = (
    "without any network access",
    "so tests stay reproducible",
    "in a few short sentences",
    "exactly like the last run",
    "while the ids still change",
    "on every identical request",
)

# property names that get a readable value instead of a generated word
_NAMED_VALUES: dict[str, Any] = {
    "location": "Paris",
    "city": "Paris",
    "country": "France",
    "name": "Ada",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "unit": "celsius",
    "query": "sandbox",
    "sign": "Libra",
    "language": "en",
    "currency": "EUR",
    "url": "https://example.com",
    "date": "2025-01-01",
}


def seed_of(*parts: Any) -> int:
    """A stable 64-bit seed from JSON-serialisable parts (dict key order does not matter)."""
    raw = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False).encode("utf-8")
    return int.from_bytes(hashlib.sha256(raw).digest()[:8], "big")


def count_tokens(text: str) -> int:
    """Token count used for every usage figure the sandbox reports."""
    return len(_TOKEN_RE.findall(text))


def truncate(text: str, max_tokens: int | None) -> tuple[str, bool]:
    """Cut ``text`` after ``max_tokens`` tokens, keeping the original spacing; returns (text, truncated)."""
    if max_tokens is None:
        return text, False
    matches = list(_TOKEN_RE.finditer(text))
    if len(matches) <= max_tokens:
        return text, False
    if max_tokens <= 0:
        return "", True
    return text[: matches[max_tokens - 1].end()], True


def apply_stop(text: str, stop: list[str]) -> tuple[str, bool]:
    """Cut ``text`` before the first stop sequence it contains; returns (text, stopped)."""
    cut = min((text.find(s) for s in stop if s and s in text), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def sentences(seed: int, count: int | None = None) -> str:
    """A few deterministic English sentences."""
    rng = random.Random(seed)
    n = count if count is not None else rng.randint(2, 4)
    parts = []
    for _ in range(n):
        parts.append(f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_TAILS)}.")
    return " ".join(parts)


def split_deltas(text: str, seed: int, max_tokens_per_delta: int = 4) -> list[str]:
    """Split text into stream deltas of 1..n tokens; concatenating them gives ``text`` back exactly."""
    starts = [m.start() for m in _TOKEN_RE.finditer(text)]
    if not starts:
        return [text] if text else []
    rng = random.Random(seed)
    cuts = [0]
    i = 0
    while True:
        i += rng.randint(1, max_tokens_per_delta)
        if i >= len(starts):
            break
        cuts.append(starts[i])
    cuts.append(len(text))
    return [text[a:b] for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def split_json(text: str, seed: int, max_len: int = 12) -> list[str]:
    """Split a JSON string into argument chunks the way providers stream tool inputs."""
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(text):
        n = rng.randint(2, max_len)
        out.append(text[i : i + n])
        i += n
    return out


def padding(seed: int, index: int) -> str:
    """Bedrock's ``p`` field: a prefix of the alphabet whose length looks random but is deterministic."""
    return PAD_ALPHABET[: 1 + seed_of(seed, "p", index) % len(PAD_ALPHABET)]


def obfuscation(seed: int, index: int) -> str:
    """OpenAI's stream ``obfuscation`` field: random-looking characters, deterministic per chunk."""
    rng = random.Random(seed_of(seed, "obf", index))
    return "".join(rng.choice(PAD_ALPHABET) for _ in range(rng.randint(2, 16)))


def hex_id(seed: int, n: int) -> str:
    """``n`` deterministic hex characters."""
    return hashlib.sha256(str(seed).encode()).hexdigest()[:n]


def embedding(text: str, dims: int, salt: str = "") -> list[float]:
    """A unit-length vector of ``dims`` float32-representable numbers derived from the text."""
    rng = random.Random(seed_of("embedding", salt, text))
    vec = [rng.gauss(0.0, 1.0) for _ in range(dims)]
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    # round-trip through float32 so float and base64 encodings carry identical values
    return [struct.unpack("<f", struct.pack("<f", v / norm))[0] for v in vec]


def json_value(schema: Any, seed: int, name: str = "", root: Any = None, depth: int = 0) -> Any:
    """A deterministic instance of a JSON Schema (objects get every property, enums a hashed choice)."""
    root = schema if root is None else root
    if not isinstance(schema, dict) or depth > 8:
        return _word(seed)
    if "$ref" in schema:
        return json_value(_resolve_ref(root, schema["$ref"]), seed, name, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        options = schema["enum"]
        return options[seed_of(seed, name) % len(options)]
    combined = _combined(schema, root)
    if combined is not _NOT_COMBINED:
        return json_value(combined, seed, name, root, depth + 1)
    return _BY_KIND.get(_kind(schema), _string_kind)(schema, seed, name, root, depth)


_NOT_COMBINED = object()


def _combined(schema: dict[str, Any], root: Any) -> Any:
    """The schema an ``anyOf``/``oneOf`` (first non-null choice) or ``allOf`` (merged parts) stands for."""
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            choices = [s for s in schema[key] if not (isinstance(s, dict) and s.get("type") == "null")]
            return (choices or schema[key])[0]
    if not schema.get("allOf"):
        return _NOT_COMBINED
    merged: dict[str, Any] = {}
    for part in schema["allOf"]:
        part = _resolve_ref(root, part["$ref"]) if isinstance(part, dict) and "$ref" in part else part
        if isinstance(part, dict):
            merged.setdefault("properties", {}).update(part.get("properties", {}))
            merged.update({k: v for k, v in part.items() if k != "properties"})
    return merged


def _kind(schema: dict[str, Any]) -> str:
    """The schema's type: the first non-null of a list, else object when it has properties, else string."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    return kind if isinstance(kind, str) else "string"


def _object_kind(schema: dict[str, Any], seed: int, name: str, root: Any, depth: int) -> Any:
    props = schema.get("properties") or {}
    return {k: json_value(v, seed_of(seed, k), k, root, depth + 1) for k, v in props.items()}


def _array_kind(schema: dict[str, Any], seed: int, name: str, root: Any, depth: int) -> Any:
    count = max(1, int(schema.get("minItems", 1)))
    return [json_value(schema.get("items", {}), seed_of(seed, i), name, root, depth + 1) for i in range(count)]


def _integer_kind(schema: dict[str, Any], seed: int, name: str, root: Any, depth: int) -> Any:
    lo, hi = int(schema.get("minimum", 1)), int(schema.get("maximum", 100))
    return lo + seed % max(1, hi - lo + 1)


def _number_kind(schema: dict[str, Any], seed: int, name: str, root: Any, depth: int) -> Any:
    lo, hi = float(schema.get("minimum", 0)), float(schema.get("maximum", 100))
    return round(lo + (seed % 10_000) / 10_000 * (hi - lo), 2)


def _boolean_kind(schema: dict[str, Any], seed: int, name: str, root: Any, depth: int) -> Any:
    return bool(seed % 2)


def _null_kind(schema: dict[str, Any], seed: int, name: str, root: Any, depth: int) -> Any:
    return None


def _string_kind(schema: dict[str, Any], seed: int, name: str, root: Any, depth: int) -> Any:
    return _string_value(schema, seed, name)


# JSON Schema type -> the generator of its instances (any other type is a string)
_BY_KIND: dict[str, Callable[[dict[str, Any], int, str, Any, int], Any]] = {
    "object": _object_kind,
    "array": _array_kind,
    "integer": _integer_kind,
    "number": _number_kind,
    "boolean": _boolean_kind,
    "null": _null_kind,
}


def _string_value(schema: dict[str, Any], seed: int, name: str) -> str:
    fmt = schema.get("format")
    if fmt == "date-time":
        return "2025-01-01T12:00:00Z"
    if fmt == "date":
        return "2025-01-01"
    if fmt == "email":
        return "ada@example.com"
    if fmt in ("uri", "url"):
        return "https://example.com"
    if fmt == "uuid":
        h = hex_id(seed, 32)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    value = _NAMED_VALUES.get(name.lower(), _word(seed))
    if isinstance(schema.get("minLength"), int) and len(value) < schema["minLength"]:
        value = value.ljust(schema["minLength"], "x")
    return value


def _word(seed: int) -> str:
    words = [w for part in _OBJECTS for w in part.split()]
    return words[seed % len(words)]


def _resolve_ref(root: Any, ref: str) -> Any:
    node = root
    if not ref.startswith("#"):
        return {}
    for part in ref.lstrip("#/").split("/"):
        if not part:
            continue
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node


@dataclass
class Tool:
    """A callable tool as the model sees it: name and JSON Schema of its input."""

    name: str
    schema: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    """What the model answers: text and/or tool calls, why it stopped, and the token counts."""

    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    reasoning: str = ""
    stop: str = "end"  # end | tool | length | stop_sequence
    input_tokens: int = 0
    output_tokens: int = 0


def plan(
    seed: int,
    *,
    input_tokens: int,
    last_user_text: str = "",
    tool_result: str | None = None,
    tools: list[Tool] | None = None,
    tool_mode: str = "auto",
    forced_tool: str | None = None,
    max_tokens: int | None = None,
    stop: list[str] | None = None,
    json_schema: Any = None,
    json_object: bool = False,
    reasoning: bool = False,
    called: list[str] | None = None,
    prompt_text: str = "",
) -> Plan:
    """Decide the answer; ``tool_mode`` any calls a tool, auto only one whose name the user mentions, none never."""
    result = Plan(input_tokens=input_tokens)
    if reasoning:
        result.reasoning = "The user wants a clear answer. " + sentences(seed_of(seed, "thinking"), 1)
    tools = tools or []
    chosen = None
    if tools and tool_mode == "any":
        # a required tool call continues after a tool result with a tool not called yet
        fresh = [t for t in tools if t.name not in (called or [])] if tool_result is not None else tools
        chosen = _forced_or_first(fresh or tools, forced_tool, last_user_text)
    elif tools and tool_mode == "auto" and tool_result is None:
        chosen = _mentioned(tools, last_user_text)
    if chosen is not None:
        result.tool_calls.append((chosen.name, json_value(chosen.schema, seed_of(seed, chosen.name))))
        result.stop = "tool"
    else:
        # instructor's Mode.JSON puts the schema in the prompt and asks for JSON mode; Mode.MD_JSON asks in words
        # for a ```json block: answer both with an instance of the schema the prompt carries
        in_prompt = schema_in(prompt_text) if (json_object or asks_for_json(prompt_text)) else None
        if json_schema is not None:
            text = json.dumps(json_value(json_schema, seed))
        elif json_object:
            text = json.dumps(json_value(in_prompt, seed) if in_prompt else {"answer": sentences(seed, 1)})
        elif tool_result is None and asks_for_json(prompt_text):
            value = json_value(in_prompt, seed) if in_prompt else {"answer": sentences(seed, 1)}
            text = "```json\n" + json.dumps(value, indent=2) + "\n```"
        elif tool_result is not None:
            text = f"The tool returned: {tool_result.strip()[:200]}. " + sentences(seed, 1)
        else:
            text = sentences(seed)
        text, stopped = apply_stop(text, stop or [])
        if stopped:
            result.stop = "stop_sequence"
        budget = None if max_tokens is None else max(0, max_tokens - count_tokens(result.reasoning))
        text, truncated = truncate(text, budget)
        if truncated:
            result.stop = "length"
        result.text = text
    out = count_tokens(result.text) + count_tokens(result.reasoning)
    out += sum(count_tokens(json.dumps(args)) + 2 for _, args in result.tool_calls)
    result.output_tokens = out
    return result


_ASKS_JSON = re.compile(
    r"(?i)```json|\b(?:reply|respond|answer|return|output|format(?:ted)?|provide|give)\b[^.\n]{0,80}\bjson\b"
)


def asks_for_json(prompt: str) -> bool:
    """Whether a prompt asks in words for a JSON answer ("reply in JSON", "return ... within a ```json block")."""
    return bool(prompt) and "json" in prompt.lower() and bool(_ASKS_JSON.search(prompt))


def schema_in(prompt: str) -> dict[str, Any] | None:
    """The first JSON Schema object embedded in a prompt's text (one with ``properties``), if any."""
    decoder = json.JSONDecoder()
    start = prompt.find("{")
    while start != -1:
        try:
            value, _end = decoder.raw_decode(prompt, start)
        except ValueError:
            value = None
        if isinstance(value, dict) and isinstance(value.get("properties"), dict):
            return value
        start = prompt.find("{", start + 1)
    return None


_GENERIC_WORDS = {"get", "set", "list", "fetch", "find", "tool", "run", "call", "the", "and", "for", "lookup"}


def _mentioned(tools: list[Tool], text: str) -> Tool | None:
    """With tool choice "auto", call the first tool one of whose name words the user mentions."""
    words = set(re.findall(r"[a-z0-9]+", text.lower()))
    for t in tools:
        parts = {w for w in re.split(r"[^a-z0-9]+", t.name.lower()) if len(w) >= 3} - _GENERIC_WORDS
        if parts & words:
            return t
    return None


def _forced_or_first(tools: list[Tool], forced: str | None, text: str) -> Tool:
    for t in tools:
        if t.name == forced:
            return t
    return _mentioned(tools, text) or tools[0]
