"""Check cassettes against their contracts and recorded traffic or contracts against the official shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from replaykit.contracts.bodies import json_path
from replaykit.contracts.document import ONLY_NULL, SchemaView, iter_parts
from replaykit.contracts.infer import parse_node
from replaykit.contracts.validate import CompiledContract, ContractStore, Violation
from replaykit.errors import ConfigError
from replaykit.exchange import Exchange

_JSON_TYPES = ("object", "array", "string", "integer", "number", "boolean", "null")


@cache
def official_contract(operation: str) -> CompiledContract | None:
    """The official shape of an operation compiled for validation, or None when there is none."""
    from replaykit.contracts.official import has_official, official_schema

    if not has_official(operation):
        return None
    return CompiledContract(official_schema(operation), f"official:{operation}", operation, official=True)


def check_official(target: Exchange | dict[str, Any], *, cassette: str | None = None) -> list[Violation]:
    """Where a recorded exchange, or an inferred contract document, contradicts the official shape."""
    if isinstance(target, Exchange):
        compiled = official_contract(target.operation)
        return compiled.validate(target, cassette=cassette) if compiled else []
    operation = str((target.get("x-replaykit") or {}).get("operation", ""))
    compiled = official_contract(operation) if operation else None
    if compiled is None:
        return []
    return compare_contract(target, compiled.doc, source=cassette)


def compare_contract(
    contract: dict[str, Any], official: dict[str, Any], *, source: str | None = None
) -> list[Violation]:
    """Schema-to-schema: fields the official shape does not know, types it does not allow, required fields missing."""
    operation = str((contract.get("x-replaykit") or {}).get("operation", ""))
    out: list[Violation] = []
    off_parts = {name: SchemaView(official, schema) for name, _p, schema in iter_parts(official)}
    off_events = set((official.get("response") or {}).get("event_types") or ())
    for name, _pointer, schema in iter_parts(contract):
        part = "response" if name in ("success", "error") else name
        view = off_parts.get(name)
        if view is None:
            if name.startswith("event:") and off_events:
                out.append(
                    Violation(
                        source,
                        None,
                        operation,
                        "official:event-type",
                        "$",
                        "one of " + ", ".join(sorted(off_events)),
                        name[6:],
                        "event type the spec does not know",
                    )
                )
            continue
        _compare(schema, view, f"official:{part}", "$", operation, source, out, 0)
    return out


def _compare(
    node: Any,
    off: SchemaView,
    part: str,
    path: str,
    operation: str,
    source: str | None,
    out: list[Violation],
    depth: int,
) -> None:
    if not isinstance(node, dict) or node.get(ONLY_NULL) or off.free_form or depth > 48:
        return
    alts = off.alternatives()
    allowed: set[str] = set()
    for alt in alts:
        t = alt.get("type")
        allowed.update([t] if isinstance(t, str) else t if isinstance(t, list) else [])
        if "const" in alt or "enum" in alt:
            allowed.update(_type_of_values(alt.get("enum", [alt.get("const")])))
    if "number" in allowed:
        allowed.add("integer")
    parsed = parse_node(node)
    seen = set(parsed.types) | ({"object"} if parsed.variants else set())
    if allowed and any(t not in allowed for t in seen):
        bad = sorted(t for t in seen if t not in allowed)
        severity = "warning" if bad == ["null"] else "error"  # AWS parsers skip nulls; pydantic treats them as unset
        out.append(
            Violation(
                source,
                None,
                operation,
                part,
                path,
                "|".join(sorted(allowed)),
                "|".join(bad),
                "type the spec does not allow",
                severity,
            )
        )
    official_values = [v for a in alts for v in (a.get("enum") or ([a["const"]] if "const" in a else []))]
    if (
        parsed.enum
        and official_values
        and all(not a.get("type") or "string" in a["type"] for a in alts if "enum" in a or "const" in a)
    ):
        unknown = sorted(v for v in parsed.enum if v not in official_values)
        if unknown:
            out.append(
                Violation(
                    source,
                    None,
                    operation,
                    part,
                    path,
                    "one of " + ", ".join(map(repr, official_values)),
                    ", ".join(map(repr, unknown)),
                    "value the spec does not allow",
                    "warning",
                )
            )
    items, off_items = parsed.items, off.items()
    if isinstance(items, dict) and off_items is not None:
        _compare(items, off_items, part, path + "[*]", operation, source, out, depth + 1)
    objects = off.object_alternatives()
    for variant in parsed.variants:
        props = variant.get("properties") or {}
        target = _matching_alternative(props, objects)
        # strict against one alternative when it is certain (single shape or matching type const); otherwise a
        # field counts as unknown only if no alternative knows it, and required fields cannot be judged
        candidates = [target] if target is not None else objects
        for key, sub in props.items():
            if key == "bytes_json" and any("bytes" in (a.get("properties") or {}) for a in candidates):
                continue  # stored decoded: the wire's base64 "bytes" (a blob) has no shape to compare
            owners = [a["properties"][key] for a in candidates if key in (a.get("properties") or {})]
            if owners:
                child = SchemaView(off.root, owners[0] if len(owners) == 1 else {"anyOf": owners})
                _compare(sub, child, part, json_path(path, [key]), operation, source, out, depth + 1)
            elif candidates and all(a.get("additionalProperties") is False for a in candidates):
                out.append(
                    Violation(
                        source,
                        None,
                        operation,
                        part,
                        json_path(path, [key]),
                        "no such field",
                        "present",
                        "field the spec does not know",
                        "warning",
                    )
                )
        required = set(variant.get("required") or ())
        for key in (target or {}).get("required") or ():
            if key not in required:
                found = "optional" if key in props else "never seen"
                out.append(
                    Violation(
                        source,
                        None,
                        operation,
                        part,
                        json_path(path, [key]),
                        "present (required)",
                        found,
                        "field the spec requires is not always present",
                    )
                )


def _type_of_values(values: list[Any]) -> set[str]:
    from replaykit.contracts.bodies import type_name

    return {type_name(v) for v in values}


def _matching_alternative(props: dict[str, Any], objects: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The one official object alternative an inferred object is certainly an instance of, or None."""
    if len(objects) == 1:
        return objects[0]
    mine = props.get("type")
    if isinstance(mine, dict):
        values = [v for v in [mine.get("const"), *(mine.get("enum") or [])] if v is not None]
        hits = [
            a
            for a in objects
            if isinstance((a.get("properties") or {}).get("type"), dict)
            and a["properties"]["type"].get("const") in values
        ]
        if len(values) == 1 and len(hits) == 1:
            return hits[0]
    return None


@dataclass
class CheckReport:
    """The outcome of checking a cassette directory: violations plus what was looked at."""

    violations: list[Violation] = field(default_factory=list)
    cassettes: int = 0
    exchanges: int = 0
    operations: list[str] = field(default_factory=list)
    missing_contracts: list[str] = field(default_factory=list)
    cases: list[tuple[str, int, str]] = field(default_factory=list)  # (cassette, exchange index, operation) checked

    @property
    def errors(self) -> list[Violation]:
        """Violations that fail the check."""
        return [v for v in self.violations if v.severity == "error"]

    @property
    def warnings(self) -> list[Violation]:
        """Findings the SDKs tolerate (unknown fields or enum values against the official shape)."""
        return [v for v in self.violations if v.severity != "error"]

    def ok(self, *, strict: bool = False) -> bool:
        """No errors (and, when strict, no warnings either)."""
        return not (self.violations if strict else self.errors)

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON form (``replaykit contracts check --format json``)."""
        return {
            "version": 1,
            "ok": self.ok(),
            "counts": {
                "cassettes": self.cassettes,
                "exchanges": self.exchanges,
                "operations": len(self.operations),
                "violations": len(self.violations),
                "errors": len(self.errors),
                "warnings": len(self.warnings),
            },
            "operations": self.operations,
            "missing_contracts": self.missing_contracts,
            "violations": [v.to_dict() for v in self.violations],
        }


def check_cassettes(
    cassettes_dir: Path | str, contracts_dir: Path | str, *, official: bool = True, closed: tuple[str, ...] = ()
) -> CheckReport:
    """Validate every exchange of every cassette against its contract (and, with ``official``, the spec).

    ``closed``: path globs whose enums are complete (``[tool.replaykit.drift] closed``), as drift reads them.
    """
    from replaykit.cassette import iter_cassettes, load_exchanges

    cassettes_dir, contracts_dir = Path(cassettes_dir), Path(contracts_dir)
    if not cassettes_dir.is_dir():
        raise ConfigError(f"{cassettes_dir}: cassette directory not found")
    if not contracts_dir.is_dir():
        raise ConfigError(f"{contracts_dir}: contracts directory not found (`replaykit contracts update` creates it)")
    store = ContractStore(contracts_dir, closed=closed)
    report = CheckReport()
    operations: set[str] = set()
    missing: set[str] = set()
    for path in iter_cassettes(cassettes_dir):
        report.cassettes += 1
        name = str(path)
        for ex in load_exchanges(path):
            report.exchanges += 1
            report.cases.append((name, ex.index, ex.operation))
            operations.add(ex.operation)
            if not store.exists(ex.operation):
                if ex.provider != "http":
                    missing.add(ex.operation)
            else:
                report.violations.extend(store.validate(ex, cassette=name))
            if official:
                report.violations.extend(check_official(ex, cassette=name))
    report.operations = sorted(operations)
    report.missing_contracts = sorted(missing)
    return report
