"""What recorded traffic costs.

Token usage of every exchange is priced from a dated, overridable price table (USD per 1M tokens per model id
prefix, ``data/prices.json``; ``[tool.replaykit] prices`` overrides entries), a session tracker, and the record-mode
guard behind ``--replaykit-cost-limit``. Usage is normalised so that ``input_tokens`` never includes cache reads or
writes (OpenAI counts cached tokens inside ``prompt_tokens``; Bedrock reports them apart), so each token is priced
once.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from replaykit.codecs.safe import load_json
from replaykit.errors import ConfigError, CostLimitError
from replaykit.exchange import Exchange
from replaykit.providers import bedrock as bedrock_provider
from replaykit.providers import identify_request
from replaykit.providers import openai as openai_provider

MILLION = 1_000_000
# output tokens assumed for a live call that sets no max-tokens limit (the guard must assume something)
DEFAULT_MAX_OUTPUT = 1024
# operations of the guarded providers that bill no tokens
_FREE = ("bedrock-runtime.CountTokens", "openai.models.")
_GEOS = ("us.", "eu.", "apac.", "us-gov.", "global.", "jp.", "au.", "ca.")


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens; cache prices default to the input price when the table gives none."""

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None


@dataclass(frozen=True)
class PriceTable:
    """Prices per provider and model id prefix, with their date and source."""

    models: dict[str, dict[str, Price]]
    as_of: str = ""
    source: str = ""
    low_cost_below: float = 0.001
    high_cost_from: float = 0.01

    def lookup(self, provider: str, model: str | None) -> tuple[str, Price] | None:
        """The (prefix, price) of the longest table prefix of a model id, or None when unpriced."""
        if not model:
            return None
        name = normalise_model(provider, model)
        table = self.models.get(provider, {})
        best = max((p for p in table if name.startswith(p)), key=len, default=None)
        return (best, table[best]) if best is not None else None

    def level(self, usd: float) -> str:
        """``low``, ``medium`` or ``high`` for a cost, by the table's marker thresholds."""
        if usd < self.low_cost_below:
            return "low"
        return "high" if usd >= self.high_cost_from else "medium"


def normalise_model(provider: str, model: str) -> str:
    """A model id as priced: Bedrock ARNs reduced to the id, cross-region prefixes (``us.``) dropped."""
    name = unquote(model)
    if provider == "bedrock-runtime":
        if name.startswith("arn:"):
            name = name.rsplit("/", 1)[-1]
        name = next((name[len(geo) :] for geo in _GEOS if name.startswith(geo)), name)
    return name


def _parse_table(doc: dict[str, Any], where: str) -> PriceTable:
    try:
        models = {
            provider: {prefix: Price(**entry) for prefix, entry in entries.items()}
            for provider, entries in doc.get("models", {}).items()
        }
    except TypeError as exc:
        raise ConfigError(f"{where}: bad price entry ({exc}); use input/output/cache_read/cache_write") from exc
    markers = doc.get("markers", {})
    return PriceTable(
        models,
        str(doc.get("as_of", "")),
        str(doc.get("source", "")),
        float(markers.get("low_cost_below", 0.001)),
        float(markers.get("high_cost_from", 0.01)),
    )


def bundled_prices() -> PriceTable:
    """The price table shipped with replaykit."""
    return load_prices()


def load_prices(path: str | Path | None = None) -> PriceTable:
    """The bundled table with a user's file merged over it (its entries, date, source and markers win)."""
    doc = json.loads(resources.files("replaykit").joinpath("data/prices.json").read_text(encoding="utf-8"))
    if path is not None:
        try:
            user = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read price table {path}: {exc}") from exc
        models = {p: {**doc["models"].get(p, {}), **entries} for p, entries in user.get("models", {}).items()}
        markers = {**doc.get("markers", {}), **user.get("markers", {})}
        doc = {**doc, **user, "models": {**doc["models"], **models}, "markers": markers}
    return _parse_table(doc, str(path or "replaykit/data/prices.json"))


# ---- usage ------------------------------------------------------------------------------------------------


@dataclass
class Usage:
    """Tokens of one or more calls; ``input_tokens`` excludes cache reads and writes."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def __iadd__(self, other: Usage) -> Usage:
        for name in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    def cost(self, price: Price) -> float:
        """USD for these tokens at a price."""
        cache_read = price.cache_read if price.cache_read is not None else price.input
        cache_write = price.cache_write if price.cache_write is not None else price.input
        return (
            self.input_tokens * price.input
            + self.output_tokens * price.output
            + self.cache_read_tokens * cache_read
            + self.cache_write_tokens * cache_write
        ) / MILLION


def model_of(exchange: Exchange) -> str | None:
    """The model an exchange called: the Bedrock path segment, or the OpenAI request/response ``model``."""
    if exchange.provider == "bedrock-runtime":
        return bedrock_provider.model_id(exchange.request.uri)
    for body in (exchange.request.body, exchange.response.body):
        if body.kind == "json" and isinstance(body.value, dict) and isinstance(body.value.get("model"), str):
            return body.value["model"]
        if body.kind == "sse":
            for ev in body.value or []:
                data = ev.get("data")
                if isinstance(data, dict) and isinstance(data.get("model"), str):
                    return data["model"]
    return None


def usage_of(exchange: Exchange) -> Usage | None:
    """Token usage an exchange reports, normalised; None when it reports none (errors, S3, model lists)."""
    if exchange.response.status >= 400:
        return None
    body = exchange.response.body
    value = body.value if body.kind == "json" else None
    events = body.value if body.kind in ("eventstream", "sse") else None
    if exchange.provider == "bedrock-runtime":
        req = exchange.request.body.value if exchange.request.body.kind == "json" else None
        found = bedrock_provider.usage(exchange.operation, req, value, events)
        if not found:
            return None
        return Usage(
            found.get("input_tokens", 0),
            found.get("output_tokens", 0),
            found.get("cache_read_tokens", 0),
            found.get("cache_write_tokens", 0),
        )
    if exchange.provider == "openai":
        found = openai_provider.usage(value, events)
        if not found:
            return None
        cached = found.get("cache_read_tokens", 0)
        return Usage(max(found.get("input_tokens", 0) - cached, 0), found.get("output_tokens", 0), cached, 0)
    return None


@dataclass
class Charge:
    """The usage and cost of one exchange."""

    provider: str
    operation: str
    model: str
    usage: Usage
    usd: float
    priced: bool  # False: the model has no price in the table (usd is 0)


def charge_of(exchange: Exchange, table: PriceTable) -> Charge | None:
    """The charge for one exchange, or None when it reports no token usage."""
    usage = usage_of(exchange)
    if usage is None:
        return None
    model = model_of(exchange) or "unknown"
    found = table.lookup(exchange.provider, model)
    usd = usage.cost(found[1]) if found else 0.0
    return Charge(
        exchange.provider, exchange.operation, normalise_model(exchange.provider, model), usage, usd, bool(found)
    )


def cassette_charges(path: str | Path, table: PriceTable) -> list[Charge]:
    """The charges of every exchange of a cassette file (its decoded form stays memoised for replay)."""
    from replaykit.cassette.memo import load_cached

    return [c for c in (charge_of(e, table) for e in load_cached(Path(path))) if c is not None]


# ---- session tracking -------------------------------------------------------------------------------------


@dataclass
class Line:
    """Totals of one group (a provider/model, a test, a cassette)."""

    calls: int = 0
    usage: Usage = field(default_factory=Usage)
    usd: float = 0.0
    unpriced: int = 0

    def add(self, charge: Charge) -> None:
        """Add one charge."""
        self.calls += 1
        self.usage += charge.usage
        self.usd += charge.usd
        self.unpriced += 0 if charge.priced else 1


@dataclass
class CostTracker:
    """Charges of a run, grouped by (provider, model) and by test."""

    table: PriceTable
    by_model: dict[tuple[str, str], Line] = field(default_factory=dict)
    by_test: dict[str, Line] = field(default_factory=dict)
    total: Line = field(default_factory=Line)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def add(self, charge: Charge, test: str | None = None) -> None:
        """Count a charge (for a test, when known)."""
        with self._lock:
            self.by_model.setdefault((charge.provider, charge.model), Line()).add(charge)
            self.by_test.setdefault(test or "(outside tests)", Line()).add(charge)
            self.total.add(charge)

    def add_exchange(self, exchange: Exchange, test: str | None = None) -> Charge | None:
        """Price an exchange and count it; returns its charge."""
        charge = charge_of(exchange, self.table)
        if charge is not None:
            self.add(charge, test)
        return charge


# ---- the record-mode guard --------------------------------------------------------------------------------


_MAX_TOKEN_FIELDS = (
    "inferenceConfig.maxTokens max_tokens max_completion_tokens max_output_tokens max_gen_len "
    "textGenerationConfig.maxTokenCount inferenceConfig.max_new_tokens"
).split()


def max_output_tokens(body: Any) -> int | None:
    """The output-token cap a request sets (Converse, OpenAI and the Bedrock native model bodies)."""
    for dotted in _MAX_TOKEN_FIELDS:
        value: Any = body
        for key in dotted.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, int):
            return value
    return None


def estimate(provider: str, model: str | None, body: bytes, table: PriceTable) -> tuple[float, int]:
    """(USD, output tokens assumed) a request may cost at most: ~4 bytes per input token plus its max tokens."""
    found = table.lookup(provider, model)
    try:
        parsed = load_json(body) if body else None
    except ValueError:
        parsed = None
    out = max_output_tokens(parsed) or DEFAULT_MAX_OUTPUT
    if found is None:
        return 0.0, out
    return Usage(math.ceil(len(body) / 4), out).cost(found[1]), out


class CostGuard:
    """A ``before_send`` subscriber refusing live calls once recorded usage plus the estimate would pass a limit."""

    def __init__(self, limit: float, table: PriceTable, ledger: str | Path | None = None) -> None:
        self.limit = float(limit)
        self.table = table
        self._spent = 0.0
        self.refusals: list[str] = []
        self._pending: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()
        # one limit for the whole run: pytest-xdist workers share what was spent through a file under a file lock
        self.ledger = Ledger(ledger) if ledger is not None else None

    @property
    def spent(self) -> float:
        """USD recorded so far in this run (all workers when a ledger is shared)."""
        return self.ledger.read() if self.ledger is not None else self._spent

    @property
    def in_flight(self) -> float:
        """Estimated cost of live calls sent whose usage has not been recorded yet."""
        return sum(sum(v) for v in self._pending.values())

    def before_send(self, call: Any) -> None:
        """The ``CassetteHooks`` subscriber: check calls that would go to the live target."""
        if call.live:
            self.check(call.request)

    def check(self, filtered: Any) -> None:
        """Raise ``CostLimitError`` rather than let a live call (a recording-filtered request) pass the limit."""
        ident = identify_request(filtered.method, filtered.uri, getattr(filtered, "headers", {}), filtered.body)
        if ident.provider not in ("bedrock-runtime", "openai") or ident.operation.startswith(_FREE):
            return  # S3 and free operations (token counts, model lists) cost no tokens
        body = _body_bytes(filtered.body)
        model = _request_model(ident.provider, filtered.uri, body)
        usd, out = estimate(ident.provider, model, body, self.table)
        with self._lock, self._shared():
            spent = self.spent
            reached = spent >= self.limit
            if reached or spent + self.in_flight + usd > self.limit:
                what = f"{ident.operation} call to {model or 'an unknown model'}"
                message = (
                    f"cost limit {'reached' if reached else 'would be exceeded'}: recorded usage so far costs "
                    f"${spent:.6f} of the ${self.limit:.6f} limit (--replaykit-cost-limit); refusing live {what}"
                )
                if not reached:
                    message += f", estimated at up to ${usd:.6f} (max {out} output tokens)"
                    if self.in_flight:
                        message += f" on top of ${self.in_flight:.6f} in flight"
                self.refusals.append(message)
                raise CostLimitError(message)
            self._pending.setdefault((ident.provider, normalise_model(ident.provider, model or "")), []).append(usd)

    def settle(self, charge: Charge | None, exchange: Exchange) -> None:
        """A live call was recorded: replace its estimate with what its usage costs."""
        key = (exchange.provider, normalise_model(exchange.provider, model_of(exchange) or ""))
        with self._lock:
            pending = self._pending.get(key)
            if pending:
                pending.pop(0)
            if charge is not None:
                if self.ledger is not None:
                    self.ledger.add(charge.usd)
                else:
                    self._spent += charge.usd

    def _shared(self) -> Any:
        import contextlib

        return self.ledger.lock if self.ledger is not None else contextlib.nullcontext()

    def forget_in_flight(self) -> None:
        """Drop estimates of calls that never got recorded (they failed): called when a test ends."""
        with self._lock:
            self._pending.clear()


class Ledger:
    """A run's spend in a small file, read and updated under a file lock (shared by pytest-xdist workers)."""

    def __init__(self, path: str | Path) -> None:
        from filelock import FileLock

        self.path = Path(path)
        self.lock = FileLock(str(self.path) + ".lock")

    def read(self) -> float:
        """USD spent so far."""
        try:
            return float(self.path.read_text(encoding="utf-8") or 0.0)
        except (FileNotFoundError, ValueError):
            return 0.0

    def add(self, usd: float) -> None:
        """Add a recorded call's cost (the lock is re-entrant, so callers may already hold it)."""
        with self.lock:
            total = self.read() + usd
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(repr(total), encoding="utf-8")
            tmp.replace(self.path)


def _body_bytes(body: Any) -> bytes:
    if isinstance(body, str):
        return body.encode("utf-8")
    return bytes(body) if isinstance(body, (bytes, bytearray, memoryview)) else b""


def _request_model(provider: str, uri: str, body: bytes) -> str | None:
    if provider == "bedrock-runtime":
        return bedrock_provider.model_id(uri)
    try:
        value = load_json(body) if body else None
    except ValueError:
        return None
    return value.get("model") if isinstance(value, dict) else None


__all__ = [
    "Charge",
    "CostGuard",
    "CostTracker",
    "Line",
    "Price",
    "PriceTable",
    "Usage",
    "bundled_prices",
    "cassette_charges",
    "charge_of",
    "estimate",
    "load_prices",
    "max_output_tokens",
    "model_of",
    "normalise_model",
    "usage_of",
]
