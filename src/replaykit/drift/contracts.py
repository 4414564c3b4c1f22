"""A thin adapter over ``replaykit.contracts.ContractStore``: volatile/closed paths and validation of new traffic.

The store may be absent (no contracts directory, or the module not importable); then every method answers "nothing".
Contract paths look like ``response:$.output.message.content[*].text`` or ``event:messageStop:$.stopReason``; they
are turned into ``(where glob, path)`` pairs in drift's own notation.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any

from replaykit.drift.rules import normalize_contract_path
from replaykit.drift.shape import event_type
from replaykit.errors import ConfigError, ReplaykitError
from replaykit.exchange import Exchange

# violations drift reports through its own checks, with their own severities: an unknown enum value is
# enum-value-added (breaking only when closed), an unknown field response-field-added, an unknown event
# stream-event-added
_OWN_CHECK_MESSAGES = frozenset({"value not in enum", "field the schema does not know", "unknown event type"})
_EVENT_PREFIX = re.compile(r"^\$\[\d+\]\.(?:json|data|text|base64)(?=\.|\[|$)\.?")
_EVENT_INDEX = re.compile(r"^\$\[(\d+)\]")
_PARTS = {
    "request": "request.body",
    "response": "response.body",
    "content-type": "response.headers",
    "event-type": "response.body",
}

Scoped = tuple[tuple[str, str], ...]


def _import_store() -> Any:
    try:
        from replaykit.contracts import ContractStore
    except ImportError:
        try:
            from replaykit.contracts.validate import ContractStore
        except ImportError:
            return None
    return ContractStore


def where_of_part(part: str) -> str:
    """Drift's ``where`` (a glob) for a contract part name."""
    part = part.removeprefix("official:")
    if part.startswith("event:"):
        etype = part.split(":", 1)[1]
        if etype == "data":
            return "event:*"  # unnamed SSE events: drift names them by their `type`/`object`
        if etype == "chunk":
            return "event:chunk*"  # drift splits InvokeModelWithResponseStream chunks by the model's event name
        return part
    return _PARTS.get(part, "response.body")


class ContractRules:
    """What the committed contracts say about volatile and closed paths, and whether new traffic conforms."""

    def __init__(self, contracts_dir: Path | None) -> None:
        self.store: Any = None
        self.notes: list[str] = []
        self._cache: dict[tuple[str, str], Scoped] = {}
        if contracts_dir is None:
            return
        if not Path(contracts_dir).is_dir():
            raise ConfigError(f"contracts directory not found: {contracts_dir}")
        store_cls = _import_store()
        if store_cls is None:
            self.notes.append("replaykit.contracts is not available: contract checks skipped")
            return
        self.store = store_cls(Path(contracts_dir))

    def _exists(self, operation: str) -> bool:
        exists = getattr(self.store, "exists", None)
        return bool(exists(operation)) if exists is not None else True

    def _scoped(self, method: str, operation: str) -> Scoped:
        key = (method, operation)
        if key not in self._cache:
            fn = getattr(self.store, method, None) if self.store is not None else None
            found: list[tuple[str, str]] = []
            if fn is not None and self._exists(operation):
                for raw in fn(operation) or ():
                    part, sep, path = str(raw).rpartition(":$")
                    if not sep:
                        found.append(("*", normalize_contract_path(str(raw))))
                    else:
                        found.append((where_of_part(part), normalize_contract_path("$" + path)))
            self._cache[key] = tuple(sorted(set(found)))
        return self._cache[key]

    def volatile_paths(self, operation: str, where: str = "*") -> tuple[str, ...]:
        """Paths under ``where`` the contract marks ``x-replaykit-volatile``."""
        return _for_where(self._scoped("volatile_paths", operation), where)

    def closed_paths(self, operation: str, where: str = "*") -> tuple[str, ...]:
        """Enum paths under ``where`` the contract marks ``x-replaykit-closed``."""
        return _for_where(self._scoped("closed_enum_paths", operation), where)

    def violations(self, exchange: Exchange, cassette: str) -> list[tuple[str, str, str]]:
        """``(where, path, message)`` for each contract violation of a new exchange that drift does not cover."""
        if self.store is None or not hasattr(self.store, "validate") or not self._exists(exchange.operation):
            return []
        try:
            found = self.store.validate(exchange, cassette=cassette) or []
        except ReplaykitError as exc:
            return [("response.body", "", f"contract could not be checked: {exc}")]
        out = []
        for v in found:
            if _attr(v, "severity") == "warning" or _attr(v, "message") in _OWN_CHECK_MESSAGES:
                continue
            part = str(_attr(v, "part") or "response")
            raw_path = str(_attr(v, "path") or "$")
            where = _event_where(exchange, raw_path) if part.startswith(("event:", "official:event:")) else None
            where = where or where_of_part(part)
            if where.endswith("*"):
                where = part.removeprefix("official:")
            path = _EVENT_PREFIX.sub("", raw_path)
            expected, got = _attr(v, "expected"), _attr(v, "found")
            message = str(_attr(v, "message") or v)
            if expected is not None and got is not None:
                message = f"{message}: expected {expected}, found {got}"
            out.append((where, normalize_contract_path(path), message))
        return list(dict.fromkeys(out))  # one finding per exchange, however many events repeat it


def _event_where(exchange: Exchange, path: str) -> str | None:
    """Drift's ``event:<type>`` for a violation at ``$[i]...`` of a stream body (contracts name events coarser)."""
    m = _EVENT_INDEX.match(path)
    events = exchange.response.body.value
    if not m or exchange.response.body.kind not in ("eventstream", "sse") or not isinstance(events, list):
        return None
    i = int(m.group(1))
    if i >= len(events) or not isinstance(events[i], dict):
        return None
    return f"event:{event_type(exchange.response.body.kind, events[i])}"


def _for_where(scoped: Scoped, where: str) -> tuple[str, ...]:
    if where == "*":
        return tuple(p for _w, p in scoped)
    return tuple(p for w, p in scoped if fnmatch.fnmatchcase(where, w))


def _attr(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
