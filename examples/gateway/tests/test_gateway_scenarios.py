"""Gateway scenarios on recorded provider traffic, with failures injected by replaykit.faults.

Each test records itself (``pytest --record-mode=once``, against the sandbox) and replays offline: the faults
apply in both modes, so a throttled Bedrock call is never sent and the OpenAI fallback is what gets recorded.
"""

from __future__ import annotations

import pytest
from replaykit import faults
from replaykit.cost import bundled_prices

from gateway import AllProvidersFailed, State
from gateway_testkit import Env

ASK = "Summarise our incident response policy in two sentences."
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


async def test_start_up_checks_identity_and_model_availability(env: Env):
    assert env.deployment.identity.startswith("arn:aws:")  # STS GetCallerIdentity (the account id is scrubbed)
    assert HAIKU in env.deployment.models  # Bedrock control plane ListFoundationModels
    assert env.served("sts.GetCallerIdentity") == 1 and env.served("bedrock.ListFoundationModels") == 1
    assert env.served("s3.CreateBucket") == 1 and env.served("dynamodb.CreateTable") == 1


async def test_normal_operation_answers_from_bedrock_archives_and_bills(env: Env):
    reply = await env.gateway.complete("acme", ASK, max_tokens=64)
    assert reply.provider == "bedrock" and reply.model == HAIKU and reply.text and not reply.cached
    assert reply.archive_key is not None and reply.archive_key.startswith("acme/")
    assert env.served("bedrock-runtime.Converse") == 1 and env.served("s3.PutObject") == 1
    assert env.served("dynamodb.PutItem") == 1  # the usage ledger's item
    assert env.gateway.health() == {"bedrock": "closed", "openai": "closed"}


async def test_cache_hit_makes_no_provider_call_and_is_per_tenant(env: Env):
    first = await env.gateway.complete("acme", ASK, max_tokens=64)
    again = await env.gateway.complete("acme", ASK, max_tokens=64)
    assert again.cached and again.text == first.text
    assert env.served("bedrock-runtime.Converse") == 1  # the hit reached no provider
    other = await env.gateway.complete("globex", ASK, max_tokens=64)
    assert not other.cached  # another tenant never sees acme's entry
    assert env.served("bedrock-runtime.Converse") == 2 and env.served("s3.PutObject") == 2


async def test_throttled_bedrock_falls_back_to_openai(env: Env):
    env.faults.inject(faults.throttle("bedrock-runtime.Converse"))
    reply = await env.gateway.complete("acme", ASK, max_tokens=64)
    assert reply.provider == "openai" and reply.model == "gpt-4o-mini" and reply.text
    # botocore retried once (max_attempts=1) before the gateway gave up on Bedrock
    assert env.faults.count("error", "bedrock-runtime.Converse") == 2
    assert env.served("bedrock-runtime.Converse") == 0 and env.served("openai.chat.completions") == 1
    assert env.gateway.breakers["bedrock"].failures == 1 and env.gateway.health()["bedrock"] == "closed"


PROMPTS = [f"Draft status update #{n} for the platform team." for n in range(1, 5)]


async def test_open_circuit_fails_over_without_calling_bedrock(env: Env):
    env.faults.inject(faults.unavailable("bedrock-runtime.Converse"))
    for prompt in PROMPTS[:2]:
        assert (await env.gateway.complete("acme", prompt, max_tokens=64)).provider == "openai"
    assert env.gateway.health()["bedrock"] == "open"
    attempts = env.faults.calls["bedrock-runtime.Converse"]
    reply = await env.gateway.complete("acme", PROMPTS[2], max_tokens=64)
    assert reply.provider == "openai"
    assert env.faults.calls["bedrock-runtime.Converse"] == attempts  # not even attempted
    assert env.served("openai.chat.completions") == 3


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
    assert env.faults.count("stream_break", "bedrock-runtime.ConverseStream") == 1
    assert env.served("openai.chat.completions") == 1


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


async def test_all_providers_failing_raise_a_clear_error(env: Env):
    env.faults.inject(faults.unavailable("bedrock-runtime.*"), faults.connection_error("openai.*"))
    with pytest.raises(AllProvidersFailed) as failed:
        await env.gateway.complete("acme", ASK, max_tokens=64)
    message = str(failed.value)
    assert message.startswith("all providers failed for tenant 'acme': bedrock: ServiceUnavailableException")
    assert "openai: APIConnectionError" in message
    assert env.served("bedrock-runtime.Converse") == env.served("openai.chat.completions") == 0
    assert env.gateway.ledger.tenants() == []


async def test_usage_and_cost_are_billed_per_tenant_in_dynamodb(env: Env):
    first = await env.gateway.complete("acme", ASK, max_tokens=64)
    second = await env.gateway.complete("acme", STORY, max_tokens=64)
    env.faults.inject(faults.throttle("bedrock-runtime.*"))
    third = await env.gateway.complete("globex", ASK, max_tokens=64)
    assert third.provider == "openai"
    # hand-computed from the usage the SDKs parsed and the bundled prices (USD per 1M tokens)
    haiku = bundled_prices().lookup("bedrock-runtime", HAIKU)[1]
    mini = bundled_prices().lookup("openai", "gpt-4o-mini")[1]
    acme_usd = sum(r.usage.input_tokens * haiku.input + r.usage.output_tokens * haiku.output for r in (first, second))
    globex_usd = third.usage.input_tokens * mini.input + third.usage.output_tokens * mini.output
    ledger = env.gateway.ledger
    acme, globex = ledger.totals("acme"), ledger.totals("globex")
    assert (acme.calls, globex.calls) == (2, 1)
    assert acme.usd == pytest.approx(acme_usd / 1e6) and globex.usd == pytest.approx(globex_usd / 1e6)
    assert [e.provider for e in ledger.entries] == ["bedrock", "bedrock", "openai"]
    # the monthly spend read back from DynamoDB (Query per tenant) equals the in-memory totals
    assert await ledger.monthly_spend("acme") == pytest.approx(acme.usd)
    assert await ledger.monthly_spend("globex") == pytest.approx(globex.usd)
    assert env.served("dynamodb.PutItem") == 3 and env.served("dynamodb.Query") == 2
