"""Pricing: the bundled table, user overrides, usage normalisation and costs checked against hand-computed figures."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from replaykit import cost
from replaykit.errors import ConfigError, CostLimitError
from replaykit.exchange import Body, Exchange, Request, Response

BEDROCK = "https://bedrock-runtime.us-east-1.amazonaws.com"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


def _ex(operation: str, uri: str, response: Body, request: Body | None = None, status: int = 200) -> Exchange:
    return Exchange(0, operation, Request("POST", uri, {}, request or Body()), Response(status, "OK", {}, response))


def converse(usage: dict, model: str = HAIKU) -> Exchange:
    body = Body("json", {"output": {}, "stopReason": "end_turn", "usage": usage})
    return _ex("bedrock-runtime.Converse", f"{BEDROCK}/model/{model.replace(':', '%3A')}/converse", body)


def chat(usage: dict, model: str = "gpt-4o-mini") -> Exchange:
    return _ex(
        "openai.chat.completions",
        "https://api.openai.com/v1/chat/completions",
        Body("json", {"model": f"{model}-2024-07-18", "usage": usage}),
        Body("json", {"model": model, "messages": []}),
    )


@pytest.fixture(scope="module")
def table() -> cost.PriceTable:
    return cost.bundled_prices()


def test_bundled_table_is_dated_and_sourced(table):
    assert table.as_of == "2026-11-01"
    assert "aws.amazon.com/bedrock/pricing" in table.source and "openai.com" in table.source
    assert table.lookup("bedrock-runtime", HAIKU)[0] == "anthropic.claude-3-haiku"


@pytest.mark.parametrize(
    ("provider", "model", "prefix"),
    [
        ("openai", "gpt-4o-mini-2024-07-18", "gpt-4o-mini"),  # longest prefix wins over gpt-4o
        ("openai", "gpt-4o-2024-08-06", "gpt-4o"),
        ("openai", "o3-mini", "o3-mini"),
        ("bedrock-runtime", "us.anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic.claude-3-5-haiku"),
        ("bedrock-runtime", "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0", "amazon.nova-micro"),
        ("bedrock-runtime", "anthropic.claude-3-haiku-20240307-v1%3A0", "anthropic.claude-3-haiku"),
    ],
)
def test_lookup_normalises_model_ids(table, provider, model, prefix):
    assert table.lookup(provider, model)[0] == prefix


def test_unknown_models_are_unpriced(table):
    assert table.lookup("openai", "my-finetune") is None and table.lookup("openai", None) is None


def test_converse_cost_by_hand(table):
    # haiku 3: $0.25 in / $1.25 out per 1M tokens
    charge = cost.charge_of(converse({"inputTokens": 1200, "outputTokens": 300, "totalTokens": 1500}), table)
    assert charge.usd == pytest.approx((1200 * 0.25 + 300 * 1.25) / 1e6)  # 0.000675
    assert charge.model == HAIKU and charge.priced


def test_converse_cache_tokens_by_hand(table):
    usage = {"inputTokens": 100, "outputTokens": 50, "cacheReadInputTokens": 2000, "cacheWriteInputTokens": 1000}
    charge = cost.charge_of(converse(usage, "us.anthropic.claude-3-7-sonnet-20250219-v1:0"), table)
    # 3.7 sonnet: in 3, out 15, cache read 0.30, cache write 3.75
    assert charge.usd == pytest.approx((100 * 3 + 50 * 15 + 2000 * 0.30 + 1000 * 3.75) / 1e6)
    assert (charge.usage.cache_read_tokens, charge.usage.cache_write_tokens) == (2000, 1000)


def test_openai_cached_tokens_are_not_billed_twice(table):
    usage = {"prompt_tokens": 1000, "completion_tokens": 200, "prompt_tokens_details": {"cached_tokens": 400}}
    charge = cost.charge_of(chat(usage), table)
    # gpt-4o-mini: in 0.15, out 0.60, cached 0.075: 600 uncached + 400 cached + 200 out
    assert charge.usd == pytest.approx((600 * 0.15 + 400 * 0.075 + 200 * 0.60) / 1e6)
    assert charge.usage.input_tokens == 600 and charge.model == "gpt-4o-mini"  # as requested


def test_stream_usage_and_model_from_events(table):
    events = [
        {"data": {"model": "gpt-4o", "choices": []}},
        {"data": {"model": "gpt-4o", "usage": {"prompt_tokens": 10, "completion_tokens": 20}}},
        {"data": "[DONE]"},
    ]
    ex = _ex("openai.chat.completions", "https://api.openai.com/v1/chat/completions", Body("sse", events))
    assert cost.charge_of(ex, table).usd == pytest.approx((10 * 2.5 + 20 * 10) / 1e6)
    metadata = {"event": "metadata", "type": "event", "json": {"usage": {"inputTokens": 8, "outputTokens": 4}}}
    stream = _ex(
        "bedrock-runtime.ConverseStream", f"{BEDROCK}/model/{HAIKU}/converse-stream", Body("eventstream", [metadata])
    )
    assert cost.charge_of(stream, table).usd == pytest.approx((8 * 0.25 + 4 * 1.25) / 1e6)


def test_anthropic_native_invoke_model_usage(table):
    body = Body(
        "json", {"content": [], "usage": {"input_tokens": 30, "output_tokens": 10, "cache_creation_input_tokens": 5}}
    )
    ex = _ex("bedrock-runtime.InvokeModel", f"{BEDROCK}/model/{HAIKU}/invoke", body)
    usage = cost.usage_of(ex)
    assert (usage.input_tokens, usage.output_tokens, usage.cache_write_tokens) == (30, 10, 5)


def test_errors_and_s3_have_no_charge(table):
    body = Body("json", {"message": "Too many requests"})
    throttled = _ex("bedrock-runtime.Converse", f"{BEDROCK}/model/{HAIKU}/converse", body, status=429)
    s3 = _ex("s3.GetObject", "https://b.s3.amazonaws.com/k", Body("text", "data"))
    assert cost.charge_of(throttled, table) is None and cost.charge_of(s3, table) is None


def test_unpriced_model_costs_zero_and_says_so(table):
    charge = cost.charge_of(chat({"prompt_tokens": 10, "completion_tokens": 1}, "my-finetune"), table)
    assert charge.usd == 0 and not charge.priced


def test_user_override_merges_over_bundled(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps(
            {
                "as_of": "2027-01-01",
                "markers": {"high_cost_from": 0.5},
                "models": {
                    "openai": {"gpt-4o-mini": {"input": 1.0, "output": 2.0}, "my-finetune": {"input": 3, "output": 6}}
                },
            }
        )
    )
    table = cost.load_prices(path)
    assert table.as_of == "2027-01-01" and table.high_cost_from == 0.5 and table.low_cost_below == 0.001
    assert table.lookup("openai", "gpt-4o-mini")[1] == cost.Price(1.0, 2.0)
    assert table.lookup("openai", "my-finetune-v2")[0] == "my-finetune"
    assert table.lookup("bedrock-runtime", HAIKU) is not None  # bundled entries stay


def test_bad_price_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read price table"):
        cost.load_prices(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"models": {"openai": {"x": {"input": 1, "outptu": 2}}}}))
    with pytest.raises(ConfigError, match="bad price entry"):
        cost.load_prices(bad)


def test_levels(table):
    assert [table.level(v) for v in (0.0, 0.0009, 0.001, 0.0099, 0.01, 3.0)] == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
    ]


def test_tracker_groups_by_model_and_test(table):
    tracker = cost.CostTracker(table)
    tracker.add_exchange(converse({"inputTokens": 1000, "outputTokens": 0}), "t1")
    tracker.add_exchange(converse({"inputTokens": 1000, "outputTokens": 0}), "t2")
    tracker.add_exchange(chat({"prompt_tokens": 1000, "completion_tokens": 0}), "t2")
    assert tracker.total.calls == 3
    assert tracker.total.usd == pytest.approx((2000 * 0.25 + 1000 * 0.15) / 1e6)
    assert tracker.by_model[("bedrock-runtime", HAIKU)].calls == 2
    assert tracker.by_test["t2"].usd == pytest.approx((1000 * 0.25 + 1000 * 0.15) / 1e6)


def test_estimate_uses_max_tokens(table):
    body = json.dumps(
        {"messages": [{"role": "user", "content": [{"text": "x" * 390}]}], "inferenceConfig": {"maxTokens": 1000}}
    ).encode()
    usd, out = cost.estimate("bedrock-runtime", HAIKU, body, table)
    assert out == 1000 and usd == pytest.approx(((len(body) + 3) // 4 * 0.25 + 1000 * 1.25) / 1e6)
    assert cost.max_output_tokens({"max_completion_tokens": 7}) == 7
    assert cost.max_output_tokens({"textGenerationConfig": {"maxTokenCount": 9}}) == 9
    assert cost.estimate("openai", "gpt-4o", b"{}", table)[1] == cost.DEFAULT_MAX_OUTPUT


def _request(model: str, max_tokens: int) -> SimpleNamespace:
    body = json.dumps({"model": model, "messages": [], "max_tokens": max_tokens}).encode()
    return SimpleNamespace(method="POST", uri="https://api.openai.com/v1/chat/completions", body=body)


def test_guard_refuses_once_spent_reaches_the_limit(table):
    guard = cost.CostGuard(0.001, table)
    guard.check(_request("gpt-4o-mini", 100))
    spent = chat({"prompt_tokens": 2000, "completion_tokens": 1200})  # 0.0003 + 0.00072 = 0.00102
    guard.settle(cost.charge_of(spent, table), spent)
    assert guard.spent == pytest.approx(0.00102) and guard.in_flight == 0
    with pytest.raises(CostLimitError, match=r"cost limit reached: .*\$0\.001020 of the \$0\.001000 limit"):
        guard.check(_request("gpt-4o-mini", 1))


def test_guard_refuses_a_call_whose_max_tokens_would_exceed_it(table):
    guard = cost.CostGuard(0.001, table)
    with pytest.raises(CostLimitError, match=r"would be exceeded.*max 4000 output tokens"):
        guard.check(_request("gpt-4o", 4000))  # 4000 * $10/1M = $0.04
    guard.check(_request("gpt-4o-mini", 100))  # $0.00006: fine, now in flight
    assert guard.in_flight > 0
    guard.forget_in_flight()
    assert guard.in_flight == 0 and len(guard.refusals) == 1


def test_guard_lets_calls_that_bill_no_tokens_through(table):
    guard = cost.CostGuard(0.0, table)  # nothing left to spend
    s3 = SimpleNamespace(method="PUT", uri="https://bucket.s3.us-east-1.amazonaws.com/key", body=b"data")
    count = SimpleNamespace(method="POST", uri=f"{BEDROCK}/model/{HAIKU}/count-tokens", body=b"{}")
    guard.check(s3)
    guard.check(count)
    with pytest.raises(CostLimitError, match="cost limit reached"):
        guard.check(_request("gpt-4o-mini", 1))


def test_guards_sharing_a_ledger_hold_one_limit_across_workers(table, tmp_path):
    # two xdist workers: each has its own guard, the run has one ledger file
    ledger = tmp_path / "spent"
    first, second = cost.CostGuard(0.001, table, ledger), cost.CostGuard(0.001, table, ledger)
    first.check(_request("gpt-4o-mini", 100))
    spent = chat({"prompt_tokens": 2000, "completion_tokens": 1200})  # $0.00102
    first.settle(cost.charge_of(spent, table), spent)
    assert second.spent == pytest.approx(0.00102)
    with pytest.raises(CostLimitError, match=r"cost limit reached: .*\$0\.001020 of the \$0\.001000 limit"):
        second.check(_request("gpt-4o-mini", 1))
