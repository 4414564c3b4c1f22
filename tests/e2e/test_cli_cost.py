"""``replaykit cost`` on cassettes recorded against the sandbox: figures match hand-computed prices."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from replaykit.cassette import load_exchanges
from replaykit.cli import main
from replaykit.config import Config
from replaykit.plugin.clients import Target, boto3_client, openai_client
from replaykit.providers import canonical_base
from replaykit.recorder import use_cassette

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.fixture(scope="module")
def cassettes(tmp_path_factory) -> Path:
    """Two test modules' cassettes: Converse + ConverseStream on haiku, and chat on gpt-4o-mini."""
    from replaykit.sandbox import running

    root = tmp_path_factory.mktemp("cost") / "cassettes"
    with running() as ep:
        host_map = {
            ep.openai: canonical_base("openai", "us-east-1") + "/v1",
            ep.bedrock_runtime: canonical_base("bedrock-runtime", "us-east-1"),
        }
        target = Target("sandbox", "us-east-1", ep.bedrock_runtime, ep.s3, ep.openai)
        ask = {"modelId": HAIKU, "messages": [{"role": "user", "content": [{"text": "summarise the quarter"}]}]}
        with use_cassette(root / "test_a" / "test_bedrock.yaml", "once", config=Config(), host_map=host_map):
            bedrock = boto3_client("bedrock-runtime", target)
            bedrock.converse(**ask, inferenceConfig={"maxTokens": 120})
            list(bedrock.converse_stream(**ask, inferenceConfig={"maxTokens": 60})["stream"])
        with use_cassette(root / "test_b" / "test_chat.yaml", "once", config=Config(), host_map=host_map):
            openai_client(target).chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "summarise the quarter"}], max_tokens=80
            )
    return root


def _usage(ex) -> tuple[int, int]:
    body = ex.response.body.value
    if ex.operation == "bedrock-runtime.Converse":
        return body["usage"]["inputTokens"], body["usage"]["outputTokens"]
    if ex.operation == "bedrock-runtime.ConverseStream":
        meta = next(e for e in body if e["event"] == "metadata")["json"]["usage"]
        return meta["inputTokens"], meta["outputTokens"]
    return body["usage"]["prompt_tokens"], body["usage"]["completion_tokens"]


def _hand(cassettes: Path) -> dict[str, float]:
    """USD per cassette from the recorded usage: haiku $0.25/$1.25, gpt-4o-mini $0.15/$0.60 per 1M tokens."""
    rates = {"bedrock-runtime": (0.25, 1.25), "openai": (0.15, 0.60)}
    out = {}
    for path in sorted(cassettes.rglob("*.yaml")):
        total = 0.0
        for ex in load_exchanges(path):
            tokens_in, tokens_out = _usage(ex)
            rate_in, rate_out = rates[ex.provider]
            total += (tokens_in * rate_in + tokens_out * rate_out) / 1e6
        out[str(path.relative_to(cassettes))] = total
    return out


def test_json_report_matches_hand_computed_costs(cassettes, capsys):
    assert main(["cost", "--cassettes", str(cassettes), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    hand = _hand(cassettes)
    assert report["as_of"] == "2026-11-01" and report["currency"] == "USD" and report["calls"] == 3
    assert report["usd"] == pytest.approx(sum(hand.values()), abs=1e-8)
    assert {c["cassette"]: c["usd"] for c in report["by_cassette"]} == pytest.approx(hand, abs=1e-8)
    models = {(m["provider"], m["model"]): m for m in report["by_model"]}
    assert models[("bedrock-runtime", HAIKU)]["calls"] == 2 and models[("openai", "gpt-4o-mini")]["priced"]
    assert report["unreadable"] == []


def test_text_report_from_the_console_script(cassettes):
    script = Path(sys.executable).with_name("replaykit")
    exe = [str(script)] if script.exists() else [sys.executable, "-m", "replaykit.cli"]
    done = subprocess.run([*exe, "cost", "--cassettes", str(cassettes)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    total = sum(_hand(cassettes).values())
    assert f"total: 3 calls, ${total:.6f}" in done.stdout
    assert "prices as of 2026-11-01" in done.stdout and "test_a/test_bedrock.yaml" in done.stdout


def test_price_override_and_unpriced_models(cassettes, tmp_path, capsys):
    prices = tmp_path / "prices.json"
    prices.write_text(
        json.dumps({"as_of": "2030-01-01", "models": {"openai": {"gpt-4o-mini": {"input": 1, "output": 1}}}})
    )
    assert main(["cost", "--cassettes", str(cassettes), "--prices", str(prices), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    chat = next(m for m in report["by_model"] if m["provider"] == "openai")
    assert report["as_of"] == "2030-01-01"
    assert chat["usd"] == pytest.approx((chat["input_tokens"] + chat["output_tokens"]) / 1e6)


def test_errors_exit_2(tmp_path, capsys):
    assert main(["cost", "--cassettes", str(tmp_path / "missing")]) == 2
    assert "no such cassette directory" in capsys.readouterr().err
    bad = tmp_path / "c" / "broken.yaml"
    bad.parent.mkdir()
    bad.write_text("version: 1\ninteractions: [{request: 3}]\n")
    assert main(["cost", "--cassettes", str(bad.parent)]) == 2
    captured = capsys.readouterr()
    assert "no exchanges with token usage" in captured.out and "cannot read broken.yaml" in captured.err
