"""The gateway's building blocks on their own: breaker states, tenant isolation, ledger pricing."""

from __future__ import annotations

import pytest
from replaykit.cost import Usage

from gateway import CircuitBreaker, ResponseCache, State, UsageLedger, request_key
from gateway_testkit import Clock


def test_breaker_opens_cools_down_and_closes():
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=2, cool_down=30, clock=clock)
    breaker.record_failure()
    assert breaker.allow() and breaker.state is State.CLOSED
    breaker.record_failure()
    assert breaker.state is State.OPEN and not breaker.allow()
    clock.advance(30)
    assert breaker.allow()  # the one trial call of HALF_OPEN
    assert not breaker.allow()  # ... and only one
    breaker.record_success()
    assert breaker.state is State.CLOSED and breaker.failures == 0
    assert breaker.transitions == [State.OPEN, State.HALF_OPEN, State.CLOSED]


def test_failed_trial_reopens_for_another_cool_down():
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, cool_down=10, clock=clock)
    breaker.record_failure()
    clock.advance(10)
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is State.OPEN
    clock.advance(9)
    assert not breaker.allow()
    clock.advance(1)
    assert breaker.state is State.HALF_OPEN


def test_cache_is_isolated_per_tenant_and_expires():
    clock = Clock()
    cache = ResponseCache(ttl=60, per_tenant=2, clock=clock)
    key = request_key("same prompt", 64)
    cache.put("acme", key, "acme's answer")
    assert cache.get("acme", key) == "acme's answer" and cache.get("globex", key) is None
    clock.advance(61)
    assert cache.get("acme", key) is None
    for n in range(3):
        cache.put("acme", request_key(f"p{n}", 64), n)
    assert cache.get("acme", request_key("p0", 64)) is None  # least recently used went first
    assert (cache.hits, cache.misses) == (1, 3)


def test_ledger_prices_per_tenant():
    ledger = UsageLedger()
    ledger.record("acme", "bedrock", "anthropic.claude-3-haiku-20240307-v1:0", Usage(1000, 100))
    ledger.record("acme", "openai", "gpt-4o-mini", Usage(2000, 500, cache_read_tokens=1000))
    ledger.record("globex", "openai", "unknown-model", Usage(5, 5))
    acme = ledger.totals("acme")
    expected = (1000 * 0.25 + 100 * 1.25) / 1e6 + (2000 * 0.15 + 500 * 0.60 + 1000 * 0.075) / 1e6
    assert acme.calls == 2 and acme.usd == pytest.approx(expected)
    assert ledger.totals("globex").usd == 0 and ledger.totals("nobody").calls == 0
    assert ledger.tenants() == ["acme", "globex"]
