"""The pytest side of resilience testing, in real sessions against the sandbox on 127.0.0.1: the replaykit_faults
marker and fixture, the cost summary, low_cost/high_cost markers and the --replaykit-cost-limit guard.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from replaykit.cassette import load_exchanges

PYPROJECT = """
[tool.pytest.ini_options]
addopts = "-p no:cacheprovider -p no:randomly --assert=plain"
asyncio_default_fixture_loop_scope = "function"

[tool.replaykit]
cassette_dir = "cassettes"
{extra}
"""

# registers the resilience plugin when replaykit.plugin does not (yet); a no-op once it does
CONFTEST = """
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    from replaykit.plugin import _resilience
    pm = session.config.pluginmanager
    if not pm.has_plugin("replaykit-resilience") and not pm.is_registered(_resilience):
        pm.register(_resilience, "replaykit-resilience")
"""

TESTS = """
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from replaykit import faults
from replaykit.plugin._session import target_for
from replaykit.plugin.clients import boto3_client

ASK = dict(modelId="anthropic.claude-3-haiku-20240307-v1:0",
           messages=[{"role": "user", "content": [{"text": "status report"}]}], inferenceConfig={"maxTokens": 40})


@pytest.fixture(autouse=True)
def instant_backoff(monkeypatch):
    import botocore.retries.standard
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, ctx: 0)


def replaying(request):
    return request.config.getoption("--record-mode") in (None, "none")


@pytest.mark.vcr
@pytest.mark.replaykit_faults(faults.throttle("bedrock-runtime.Converse", first=2))
def test_marker_throttles(request):
    retrying = BotoConfig(retries={"max_attempts": 3, "mode": "standard"})
    client = boto3_client("bedrock-runtime", target_for(request.config), config=retrying)
    out = client.converse(**ASK)
    # faults apply while recording too: the throttled attempts are answered locally and never recorded
    assert out["ResponseMetadata"]["RetryAttempts"] == 2


def test_fixture_injects(bedrock_runtime, replaykit_faults, request):
    replaykit_faults.inject(faults.unavailable("bedrock-runtime.*"))
    with pytest.raises(ClientError, match="ServiceUnavailableException"):
        bedrock_runtime.converse(**ASK)
    assert replaykit_faults.count("error") == replaykit_faults.calls["bedrock-runtime.Converse"] >= 1


def test_chat(openai_client):
    openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "status report"}], max_tokens=40)
"""


def _write_project(root: Path, extra: str = "") -> None:
    (root / "pyproject.toml").write_text(PYPROJECT.format(extra=extra))
    (root / "conftest.py").write_text(CONFTEST)


def _pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args], cwd=root, capture_output=True, text=True, timeout=120
    )


class _Output:
    def __init__(self, result: pytest.RunResult) -> None:
        self.stdout = result.stdout.str()


def _inprocess(pytester: pytest.Pytester, *args: str) -> _Output:
    """An in-process run (no interpreter start-up: these runs are about output, not isolation)."""
    return _Output(pytester.runpytest_inprocess(*args))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    """A project whose tests were recorded once against the sandbox (``--record-mode=once``)."""
    root = tmp_path_factory.mktemp("resilience")
    _write_project(root)
    (root / "test_res.py").write_text(TESTS)
    result = _pytest(root, "--record-mode=once")
    assert "3 passed" in result.stdout, result.stdout + result.stderr
    assert "recorded against the sandbox (no spend), priced as if live:" in result.stdout
    assert "cost limit" not in result.stdout  # the sandbox is free: no guard
    return root


def _project_from(recorded: Path, pytester: pytest.Pytester, extra: str = "") -> Path:
    _write_project(pytester.path, extra)
    shutil.copy(recorded / "test_res.py", pytester.path)
    shutil.copytree(recorded / "cassettes", pytester.path / "cassettes")
    return pytester.path


def _hand_cost(cassette: Path) -> float:
    """USD of a cassette from its raw usage numbers and the bundled prices, computed without replaykit.cost."""
    total = 0.0
    for ex in load_exchanges(cassette):
        body = ex.response.body.value
        if ex.provider == "bedrock-runtime":  # claude 3 haiku: $0.25 / $1.25 per 1M
            total += (body["usage"]["inputTokens"] * 0.25 + body["usage"]["outputTokens"] * 1.25) / 1e6
        else:  # gpt-4o-mini: $0.15 / $0.60 per 1M
            total += (body["usage"]["prompt_tokens"] * 0.15 + body["usage"]["completion_tokens"] * 0.60) / 1e6
    return total


def test_replay_injects_faults_and_prices_what_it_replayed(recorded, pytester):
    root = _project_from(recorded, pytester)
    result = _inprocess(pytester)
    assert "3 passed" in result.stdout, result.stdout
    cassettes = root / "cassettes" / "test_res"
    # test_fixture_injects replays nothing (every attempt got a 503): two exchanges were replayed
    expected = _hand_cost(cassettes / "test_marker_throttles.yaml") + _hand_cost(cassettes / "test_chat.yaml")
    out = result.stdout
    assert "replayed exchanges, priced as if live:" in out and "prices as of 2026-11-01" in out
    assert f"total: 2 calls, ${expected:.6f}" in out
    assert "anthropic.claude-3-haiku-20240307-v1:0" in out and "gpt-4o-mini" in out


def test_cost_markers_select_tests(recorded, pytester):
    prices = {"models": {"openai": {"gpt-4o-mini": {"input": 100000.0, "output": 100000.0}}}}
    root = _project_from(recorded, pytester, 'prices = "prices.json"')
    (root / "prices.json").write_text(json.dumps(prices))
    (root / "test_new.py").write_text(
        "import pytest\n\n@pytest.mark.replaykit_cost('high')\ndef test_big_batch():\n    pass\n"
    )
    cheap = _inprocess(pytester, "--co", "-q", "-m", "not high_cost")
    assert "test_res.py::test_marker_throttles" in cheap.stdout and "test_chat" not in cheap.stdout
    assert "test_big_batch" not in cheap.stdout and "2/4 tests collected (2 deselected)" in cheap.stdout
    low = _inprocess(pytester, "--co", "-q", "-m", "low_cost")
    # test_fixture_injects has no cassette: every call it made was answered by a fault, so nothing was recorded
    assert "1/4 tests collected" in low.stdout and "test_marker_throttles" in low.stdout


# the guard watches the live target; a sandbox started by the project itself stands in for the providers (its
# clients are built by the tests, with explicit endpoints, as a user pointing at a gateway would)
GUARDED = """
import boto3
import openai
import pytest
from botocore.config import Config as BotoConfig
from replaykit.plugin._session import sandbox_for

@pytest.fixture(scope="session")
def provider(request):
    return sandbox_for(request.config)  # the sandbox, its hosts mapped to the providers' (as if live)

@pytest.fixture
def bedrock(provider):
    return boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=provider.bedrock_runtime,
                        config=BotoConfig(retries={"total_max_attempts": 1}))

@pytest.fixture
def oai(provider):
    return openai.OpenAI(base_url=provider.openai, max_retries=0)

def ask(client, text, max_tokens):
    return client.converse(modelId="anthropic.claude-3-haiku-20240307-v1:0", inferenceConfig={"maxTokens": max_tokens},
                           messages=[{"role": "user", "content": [{"text": text}]}])

@pytest.mark.vcr
def test_first(bedrock):
    ask(bedrock, "first", 40)

@pytest.mark.vcr
def test_second(bedrock):
    ask(bedrock, "second", 400)

@pytest.mark.vcr
def test_third(oai):
    oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "third"}])
"""


def test_cost_limit_stops_a_live_record_run(pytester, monkeypatch):
    # $0.01 per token: the first call fits $1, the next ones' max-tokens estimates do not
    prices = {
        "models": {
            "bedrock-runtime": {"anthropic.claude-3-haiku": {"input": 10000.0, "output": 10000.0}},
            "openai": {"gpt-4o-mini": {"input": 10000.0, "output": 10000.0}},
        }
    }
    _write_project(pytester.path, 'prices = "prices.json"')
    (pytester.path / "prices.json").write_text(json.dumps(prices))
    (pytester.path / "test_guarded.py").write_text(GUARDED)
    monkeypatch.setenv("REPLAYKIT_TARGET", "live")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREPLAYDUMMY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "dummy")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-dummy")
    result = _inprocess(pytester, "--record-mode=once", "--replaykit-cost-limit=1.0")
    out = result.stdout
    assert "1 passed" in out and "2 failed" in out, out
    first = pytester.path / "cassettes" / "test_guarded" / "test_first.yaml"
    usage = load_exchanges(first)[0].response.body.value["usage"]
    spent = (usage["inputTokens"] + usage["outputTokens"]) * 0.01
    limit_line = "of the $1.000000 limit (--replaykit-cost-limit); refusing live"
    # each refused test reports it; with CI set, pytest also repeats it untruncated in the short summary
    assert out.count("replaykit CostLimitError: cost limit would be exceeded") in (2, 4)
    assert f"recorded usage so far costs ${spent:.6f} {limit_line} bedrock-runtime.Converse" in out
    assert f"{limit_line} openai.chat.completions call to gpt-4o-mini" in out
    assert "(max 400 output tokens)" in out and "(max 1024 output tokens)" in out
    prefix = re.escape(f"cost limit: $1.000000; spent ${spent:.6f}; refused ")
    assert re.search(prefix + r"2 live call attempt\(s\) in 2 test\(s\)", out), out
    assert not (pytester.path / "cassettes" / "test_guarded" / "test_second.yaml").exists()
