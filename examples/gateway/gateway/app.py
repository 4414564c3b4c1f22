"""The gateway: tenant-isolated cache, Bedrock first, OpenAI as fallback, a circuit breaker per provider, every
answer archived to S3 and priced into the usage ledger.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from replaykit.cost import Usage

from gateway.archive import S3Archive
from gateway.breaker import CircuitBreaker
from gateway.cache import ResponseCache, request_key
from gateway.errors import AllProvidersFailed, ProviderError, RequestRejected
from gateway.ledger import UsageLedger
from gateway.providers import Completion, Delta


@dataclass
class Reply:
    """What a caller gets back."""

    tenant: str
    text: str
    provider: str
    model: str
    usage: Usage
    usd: float
    cached: bool = False
    archive_key: str | None = None


@dataclass
class StreamEvent:
    """A streamed answer: ``delta`` text, ``restart`` (discard the text so far: the next provider takes over),
    and a final ``done`` carrying the whole reply.
    """

    type: Literal["delta", "restart", "done"]
    provider: str
    text: str = ""
    reply: Reply | None = None


class Gateway:
    """Routes a tenant's prompt to the first healthy provider and records what it cost."""

    def __init__(
        self,
        providers: Sequence[Any],
        archive: S3Archive | None = None,
        *,
        ledger: UsageLedger | None = None,
        cache: ResponseCache | None = None,
        failure_threshold: int = 2,
        cool_down: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.providers = list(providers)
        self.archive = archive
        self.ledger = ledger or UsageLedger()
        self.cache = cache if cache is not None else ResponseCache(clock=clock)
        self.breakers = {p.name: CircuitBreaker(failure_threshold, cool_down, clock) for p in self.providers}

    def health(self) -> dict[str, str]:
        """Breaker state per provider."""
        return {name: breaker.state.value for name, breaker in self.breakers.items()}

    async def complete(self, tenant: str, prompt: str, *, max_tokens: int = 256) -> Reply:
        """Answer a prompt from the tenant's cache or the first provider that succeeds."""
        key = request_key(prompt, max_tokens)
        hit = self.cache.get(tenant, key)
        if hit is not None:
            return Reply(**{**hit.__dict__, "cached": True})
        errors: list[ProviderError] = []
        for provider in self.providers:
            breaker = self.breakers[provider.name]
            if not breaker.allow():
                errors.append(ProviderError(provider.name, "circuit_open", "skipped without calling it"))
                continue
            try:
                completion = await provider.complete(prompt, max_tokens)
            except ProviderError as exc:
                self._failed(breaker, exc)
                errors.append(exc)
                continue
            breaker.record_success()
            return await self._finish(tenant, prompt, key, completion)
        raise AllProvidersFailed(tenant, errors)

    async def stream(self, tenant: str, prompt: str, *, max_tokens: int = 256) -> AsyncIterator[StreamEvent]:
        """Stream an answer; a provider failing mid-stream is followed by ``restart`` and the next provider."""
        key = request_key(prompt, max_tokens)
        errors: list[ProviderError] = []
        for provider in self.providers:
            breaker = self.breakers[provider.name]
            if not breaker.allow():
                errors.append(ProviderError(provider.name, "circuit_open", "skipped without calling it"))
                continue
            sent = False
            try:
                async for item in provider.stream(prompt, max_tokens):
                    if isinstance(item, Delta):
                        sent = True
                        yield StreamEvent("delta", provider.name, item.text)
                    elif isinstance(item, Completion):
                        breaker.record_success()
                        reply = await self._finish(tenant, prompt, key, item)
                        yield StreamEvent("done", provider.name, reply.text, reply)
                        return
            except ProviderError as exc:
                self._failed(breaker, exc)
                errors.append(exc)
                if sent:
                    yield StreamEvent("restart", provider.name, str(exc))
        raise AllProvidersFailed(tenant, errors)

    def _failed(self, breaker: CircuitBreaker, exc: ProviderError) -> None:
        if not exc.failover:
            raise RequestRejected(exc) from exc
        breaker.record_failure()

    async def _finish(self, tenant: str, prompt: str, key: str, completion: Completion) -> Reply:
        entry = self.ledger.record(tenant, completion.provider, completion.model, completion.usage)
        await self.ledger.persist(entry)
        reply = Reply(tenant, completion.text, completion.provider, completion.model, completion.usage, entry.usd)
        if self.archive is not None:
            record = {
                "tenant": tenant,
                "prompt_sha256": hashlib.sha256(prompt.encode("utf-8")).hexdigest(),
                "provider": completion.provider,
                "model": completion.model,
                "text": completion.text,
                "stop_reason": completion.stop_reason,
                "usage": completion.usage.__dict__,
            }
            reply.archive_key = await self.archive.store(tenant, key, record)
        self.cache.put(tenant, key, reply)
        return reply
