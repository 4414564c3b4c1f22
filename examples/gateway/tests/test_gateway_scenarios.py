"""Gateway scenarios on replayed provider traffic, with failures injected by replaykit.faults."""

from __future__ import annotations

import pytest
from replaykit import faults
from replaykit.cassette import load_exchanges
from replaykit.cost import bundled_prices

from gateway import AllProvidersFailed, State
from gateway_testkit import Env, complete, prime, stream

ASK = "Summarise our incident response policy in two sentences."
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


@prime(complete("acme", ASK))
async def test_normal_operation_answers_from_bedrock_and_archives(env: Env):
    reply = await env.gateway.complete("acme", ASK, max_tokens=64)
    assert reply.provider == "bedrock" and reply.model == HAIKU and reply.text and not reply.cached
    assert reply.archive_key is not None and reply.archive_key.startswith("acme/")
    assert env.played("bedrock-runtime.Converse") == 1 and env.played("s3.PutObject") == 1
    assert env.gateway.health() == {"bedrock": "closed", "openai": "closed"}


@prime(complete("acme", ASK), complete("globex", ASK))
async def test_cache_hit_makes_no_provider_call_and_is_per_tenant(env: Env):
    first = await env.gateway.complete("acme", ASK, max_tokens=64)
    again = await env.gateway.complete("acme", ASK, max_tokens=64)
    assert again.cached and again.text == first.text
    assert env.cassette.play_count == 2  # one Converse + one archive write: the hit reached no provider
    other = await env.gateway.complete("globex", ASK, max_tokens=64)
    assert not other.cached  # another tenant never sees acme's entry
    assert env.cassette.play_count == 4 and env.played("bedrock-runtime.Converse") == 2


@prime(complete("acme", ASK, via=("bedrock", "openai")))
async def test_throttled_bedrock_falls_back_to_openai(env: Env):
    env.faults.inject(faults.throttle("bedrock-runtime.Converse"))
    reply = await env.gateway.complete("acme", ASK, max_tokens=64)
    assert reply.provider == "openai" and reply.model == "gpt-4o-mini" and reply.text
    # botocore retried once (max_attempts=1) before the gateway gave up on Bedrock
    assert env.faults.count("error", "bedrock-runtime.Converse") == 2
    assert env.played("bedrock-runtime.Converse") == 0 and env.played("openai.chat.completions") == 1
    assert env.gateway.breakers["bedrock"].failures == 1 and env.gateway.health()["bedrock"] == "closed"


PROMPTS = [f"Draft status update #{n} for the platform team." for n in range(1, 5)]


@prime(
    *(complete("acme", p, via=("bedrock", "openai")) for p in PROMPTS[:2]), complete("acme", PROMPTS[2], ("openai",))
)
async def test_open_circuit_fails_over_without_calling_bedrock(env: Env):
    env.faults.inject(faults.unavailable("bedrock-runtime.Converse"))
    for prompt in PROMPTS[:2]:
        assert (await env.gateway.complete("acme", prompt, max_tokens=64)).provider == "openai"
    assert env.gateway.health()["bedrock"] == "open"
    attempts = env.faults.calls["bedrock-runtime.Converse"]
    reply = await env.gateway.complete("acme", PROMPTS[2], max_tokens=64)
    assert reply.provider == "openai"
    assert env.faults.calls["bedrock-runtime.Converse"] == attempts  # not even attempted
    assert env.played("openai.chat.completions") == 3


@prime(
    *(complete("acme", p, via=("bedrock", "openai")) for p in PROMPTS[:2]),
    complete("acme", PROMPTS[2], ("openai",)),
    complete("acme", PROMPTS[3]),
)
async def test_circuit_recovers_after_cool_down(env: Env):
    env.faults.inject(faults.read_timeout("bedrock-runtime.Converse", first=4))  # 2 calls x 2 SDK attempts
    for prompt in PROMPTS[:2]:
        await env.gateway.complete("acme", prompt, max_tokens=64)
    breaker = env.gateway.breakers["bedrock"]
    assert breaker.state is State.OPEN
    env.clock.advance(10)
    assert (await env.gateway.complete("acme", PROMPTS[2], max_tokens=64)).provider == "openai"  # still cooling
    env.clock.advance(25)
    assert breaker.state is State.HALF_OPEN
    reply = await env.gateway.complete("acme", PROMPTS[3], max_tokens=64)
    assert reply.provider == "bedrock" and breaker.state is State.CLOSED
    assert breaker.transitions == [State.OPEN, State.HALF_OPEN, State.CLOSED]


STORY = "Write a short paragraph about on-call handovers."


@prime(stream("acme", STORY, via=("bedrock", "openai")))
async def test_stream_broken_mid_way_restarts_on_openai(env: Env):
    env.faults.inject(faults.stream_break(after=4, operation="bedrock-runtime.ConverseStream"))
    events = [e async for e in env.gateway.stream("acme", STORY, max_tokens=64)]
    kinds = [e.type for e in events]
    restart = kinds.index("restart")
    assert kinds[0] == "delta" and events[0].provider == "bedrock" and 0 < restart < len(kinds) - 1
    assert "modelStreamErrorException" in events[restart].text
    after = events[restart + 1 :]
    assert {e.provider for e in after} == {"openai"} and after[-1].type == "done"
    reply = after[-1].reply
    assert reply is not None and reply.text == "".join(e.text for e in after if e.type == "delta")
    assert env.played("bedrock-runtime.ConverseStream") == 0 and env.played("openai.chat.completions") == 1


@prime(stream("acme", STORY, via=("bedrock", "openai")))
async def test_streams_broken_everywhere_end_in_a_clear_error(env: Env):
    env.faults.inject(
        faults.stream_break(after=3, operation="bedrock-runtime.ConverseStream"),
        faults.stream_break(after=3, operation="openai.chat.completions"),
    )
    seen = []
    with pytest.raises(AllProvidersFailed) as failed:
        async for event in env.gateway.stream("acme", STORY, max_tokens=64):
            seen.append(event.type)
    assert seen.count("restart") == 2 and "done" not in seen
    assert [e.kind for e in failed.value.errors] == ["modelStreamErrorException", "stream_cut"]


@prime(complete("acme", ASK, via=("bedrock", "openai")))
async def test_all_providers_failing_raise_a_clear_error(env: Env):
    env.faults.inject(faults.unavailable("bedrock-runtime.*"), faults.connection_error("openai.*"))
    with pytest.raises(AllProvidersFailed) as failed:
        await env.gateway.complete("acme", ASK, max_tokens=64)
    message = str(failed.value)
    assert message.startswith("all providers failed for tenant 'acme': bedrock: ServiceUnavailableException")
    assert "openai: APIConnectionError" in message
    assert env.cassette.play_count == 0 and env.gateway.ledger.tenants() == []


@prime(complete("acme", ASK), complete("acme", STORY), complete("globex", ASK, via=("bedrock", "openai")))
async def test_usage_and_cost_are_recorded_per_tenant(env: Env):
    await env.gateway.complete("acme", ASK, max_tokens=64)
    await env.gateway.complete("acme", STORY, max_tokens=64)
    env.faults.inject(faults.throttle("bedrock-runtime.*"))
    assert (await env.gateway.complete("globex", ASK, max_tokens=64)).provider == "openai"
    ledger = env.gateway.ledger
    # hand-computed from the cassette's recorded usage and the bundled prices
    by_provider = {"bedrock-runtime": [], "openai": []}
    for ex in load_exchanges(env.cassette._path):
        if ex.provider in by_provider:
            usage = ex.response.body.value["usage"]
            by_provider[ex.provider].append(usage)
    haiku = bundled_prices().lookup("bedrock-runtime", HAIKU)[1]
    mini = bundled_prices().lookup("openai", "gpt-4o-mini")[1]
    acme_usd = sum(
        u["inputTokens"] * haiku.input + u["outputTokens"] * haiku.output for u in by_provider["bedrock-runtime"][:2]
    )
    chat = by_provider["openai"][0]
    globex_usd = chat["prompt_tokens"] * mini.input + chat["completion_tokens"] * mini.output
    acme, globex = ledger.totals("acme"), ledger.totals("globex")
    assert (acme.calls, globex.calls) == (2, 1)
    assert acme.usd == pytest.approx(acme_usd / 1e6) and globex.usd == pytest.approx(globex_usd / 1e6)
    assert acme.usage.output_tokens == sum(u["outputTokens"] for u in by_provider["bedrock-runtime"][:2])
    assert [e.provider for e in ledger.entries] == ["bedrock", "bedrock", "openai"]
