"""The usage ledger: tokens and cost of every provider call, per tenant, priced with replaykit's price table."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from replaykit.cost import PriceTable, Usage, load_prices

# the gateway's provider names -> the price table's provider keys
_PRICE_KEYS = {"bedrock": "bedrock-runtime", "openai": "openai"}


@dataclass
class Entry:
    """One priced provider call."""

    tenant: str
    provider: str
    model: str
    usage: Usage
    usd: float


@dataclass
class TenantTotals:
    """A tenant's running totals."""

    calls: int = 0
    usage: Usage = field(default_factory=Usage)
    usd: float = 0.0


class UsageLedger:
    """Records usage per call and keeps per-tenant totals."""

    def __init__(self, prices: PriceTable | None = None, store: Any = None, month: str = "2026-12") -> None:
        self.prices = prices or load_prices()
        self.store = store  # e.g. a DynamoLedgerStore: every entry is also persisted there
        self.month = month
        self.entries: list[Entry] = []
        self._totals: dict[str, TenantTotals] = {}
        self._lock = threading.Lock()

    def record(self, tenant: str, provider: str, model: str, usage: Usage) -> Entry:
        """Price one call's usage and add it to the tenant's totals."""
        found = self.prices.lookup(_PRICE_KEYS.get(provider, provider), model)
        entry = Entry(tenant, provider, model, usage, usage.cost(found[1]) if found else 0.0)
        with self._lock:
            self.entries.append(entry)
            totals = self._totals.setdefault(tenant, TenantTotals())
            totals.calls += 1
            totals.usage += usage
            totals.usd += entry.usd
        return entry

    def totals(self, tenant: str) -> TenantTotals:
        """A tenant's totals (zero for a tenant with no calls)."""
        with self._lock:
            return self._totals.get(tenant, TenantTotals())

    def tenants(self) -> list[str]:
        """Tenants with recorded usage."""
        with self._lock:
            return sorted(self._totals)

    async def persist(self, entry: Entry) -> None:
        """Write one entry to the store, when the ledger has one."""
        if self.store is not None:
            tokens = entry.usage.input_tokens + entry.usage.output_tokens
            await self.store.put(entry.tenant, self.month, entry.provider, entry.model, tokens, entry.usd)

    async def monthly_spend(self, tenant: str) -> float:
        """A tenant's spend this month, from the store (the in-memory totals when there is none)."""
        if self.store is None:
            return self.totals(tenant).usd
        return float(await self.store.monthly_spend(tenant, self.month))
