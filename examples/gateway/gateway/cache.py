"""A tenant-isolated response cache: entries live under their tenant, so one tenant can never read another's."""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any


def request_key(prompt: str, max_tokens: int, system: str | None = None) -> str:
    """A stable digest of what was asked (the tenant is not part of it: isolation is by storage, not by key)."""
    raw = json.dumps([prompt, max_tokens, system], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


class ResponseCache:
    """Per-tenant LRU caches with a time-to-live."""

    def __init__(self, ttl: float = 300.0, per_tenant: int = 1000, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.per_tenant = per_tenant
        self.clock = clock
        self._data: dict[str, OrderedDict[str, tuple[float, Any]]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, tenant: str, key: str) -> Any | None:
        """The cached value, or None when absent or expired."""
        entries = self._data.get(tenant)
        found = entries.get(key) if entries is not None else None
        if found is None or self.clock() - found[0] > self.ttl:
            if found is not None and entries is not None:
                del entries[key]
            self.misses += 1
            return None
        entries.move_to_end(key)  # type: ignore[union-attr]
        self.hits += 1
        return found[1]

    def put(self, tenant: str, key: str, value: Any) -> None:
        """Store a value for one tenant, evicting its least recently used entry when full."""
        entries = self._data.setdefault(tenant, OrderedDict())
        entries[key] = (self.clock(), value)
        entries.move_to_end(key)
        while len(entries) > self.per_tenant:
            entries.popitem(last=False)

    def clear(self, tenant: str | None = None) -> None:
        """Forget one tenant's entries, or everything."""
        if tenant is None:
            self._data.clear()
        else:
            self._data.pop(tenant, None)
