"""A new user's project: configuration mistakes are one-line usage errors, the live default needs credentials only
when recording, and replaykit_mode / sandbox_endpoints say what the run does (pytester sessions and CLI runs)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

MODE_TESTS = '''
import pytest

def test_mode(replaykit_mode):
    assert replaykit_mode.record_mode == "none" and replaykit_mode.replaying
    assert replaykit_mode.target == "live"

def test_no_sandbox_in_replay(sandbox_endpoints):
    pass
'''


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    """An environment with no provider credentials and no configured target."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "OPENAI_", "REPLAYKIT_", "ANTHROPIC_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _one_line(result) -> str:
    lines = [line for line in result.stderr.lines + result.stdout.lines if line.strip()]
    assert len(lines) == 1, lines
    assert "INTERNALERROR" not in lines[0] and "Traceback" not in lines[0]
    return lines[0]


def test_unknown_key_is_exit_4_one_line_naming_key_and_known_keys(pytester):
    pytester.makepyprojecttoml('[tool.replaykit]\ncasette_dir = "typo"\n')
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    assert result.ret == 4
    line = _one_line(result)
    assert "unknown key(s) in [tool.replaykit]: casette_dir" in line and "known keys are: cassette_dir" in line


@pytest.mark.parametrize(
    ("pyproject", "env", "args", "expected"),
    [
        ("", {"REPLAYKIT_TARGET": "prod"}, (), "REPLAYKIT_TARGET='prod' is not valid; valid targets are: sandbox"),
        ("cost_limit = -1\n", {}, (), "cost_limit -1.0 is not valid"),
        ('cost_limit = "lots"\n', {}, (), "cost_limit 'lots' is not valid"),
        ("env = 1\n", {}, (), "env 1 is not valid; use true or false"),
        ("", {}, ("--replaykit-cost-limit=-2",), "cost_limit -2.0 is not valid"),
    ],
)
def test_bad_configuration_is_a_usage_error(pytester, monkeypatch, pyproject, env, args, expected):
    pytester.makepyprojecttoml("[tool.replaykit]\n" + pyproject)
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = pytester.runpytest_subprocess(*args)
    assert result.ret == 4
    assert expected in _one_line(result)


def test_cli_verbs_validate_the_same_way(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.replaykit]\ncasette_dir = "typo"\n')
    (tmp_path / "cassettes").mkdir()
    for verb in (["scan", "cassettes"], ["contracts", "check"], ["cost"], ["drift", "cassettes", "cassettes"]):
        run = subprocess.run(
            [sys.executable, "-m", "replaykit.cli", *verb], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert run.returncode == 2, (verb, run.stdout, run.stderr)
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "unknown key(s) in [tool.replaykit]: casette_dir" in lines[0], (verb, lines)


def test_live_default_without_credentials_stops_at_start_up_and_replay_needs_none(pytester, no_credentials):
    pytester.makepyprojecttoml("[tool.replaykit]\n")
    pytester.makepyfile(test_mode=MODE_TESTS)
    recording = pytester.runpytest_subprocess("--record-mode=once", "-p", "no:randomly")
    assert recording.ret == 4
    line = _one_line(recording)
    assert "missing: OPENAI_API_KEY and AWS credentials" in line and "--replaykit-target=sandbox" in line
    replay = pytester.runpytest_subprocess("-p", "no:randomly", "-rE")
    replay.assert_outcomes(passed=1, errors=1)
    replay.stdout.fnmatch_lines(["*replaykit: replaying cassettes*", "*sandbox_endpoints: no sandbox while replaying*"])


def test_sandbox_endpoints_refuses_the_live_target(pytester, monkeypatch):
    monkeypatch.setenv("REPLAYKIT_TARGET", "live")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREPLAYDUMMY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "dummy")
    pytester.makepyfile(test_live="def test_live(sandbox_endpoints):\n    pass\n")
    result = pytester.runpytest_subprocess("--record-mode=once", "-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*record mode once, target live, cost limit $1.00*",
                                 "*no sandbox with target 'live'*--replaykit-target=sandbox*"])


ENV_TESTS = '''
import json
import os

import boto3
import pytest
from botocore.exceptions import ClientError


def test_refused_by_the_sandbox(replaykit_env):
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    body = {"anthropic_version": "v-next", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(ClientError):
        client.invoke_model(modelId="anthropic.claude-3-haiku-20240307-v1:0", body=json.dumps(body))


def test_environment_is_restored_after_the_test():
    assert "AWS_ENDPOINT_URL_BEDROCK_RUNTIME" not in os.environ and "OPENAI_BASE_URL" not in os.environ
'''


def test_a_sandbox_validation_error_being_recorded_is_warned_about_by_field(pytester):
    pytester.makepyfile(test_env=ENV_TESTS)
    result = pytester.runpytest_inprocess("--record-mode=once", "-p", "no:randomly", "-W", "default")
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    assert "SandboxValidationWarning: replaykit: the sandbox refused field `anthropic_version`" in out
    assert "WARNING: recorded the sandbox's own input-validation error:" in out
    assert "exchange #0: anthropic_version" in out
    cassette = (pytester.path / "cassettes" / "test_env" / "test_refused_by_the_sandbox.yaml").read_text()
    assert "x-replaykit-sandbox-validation" not in cassette and "bedrock-runtime.us-east-1.amazonaws.com" in cassette


LOCAL_SERVER_TESTS = '''
import boto3
import pytest
from replaykit.sandbox import running


@pytest.fixture(scope="module")
def local():
    with running() as endpoints:
        yield endpoints


@pytest.mark.vcr
def test_talks_to_a_local_server(local):
    client = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=local.bedrock_runtime)
    client.converse(modelId="anthropic.claude-3-haiku-20240307-v1:0",
                    messages=[{"role": "user", "content": [{"text": "hi"}]}])
'''


def test_a_live_run_whose_traffic_went_to_a_local_server_is_warned_about(pytester, monkeypatch):
    monkeypatch.setenv("REPLAYKIT_TARGET", "live")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREPLAYDUMMY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "dummy")
    pytester.makepyfile(test_local=LOCAL_SERVER_TESTS)
    result = pytester.runpytest_inprocess("--record-mode=once", "-p", "no:randomly")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*WARNING: target is live but 1 recorded exchange(s) went to a local server*"])
    cassette = pytester.path / "cassettes" / "test_local" / "test_talks_to_a_local_server.yaml"
    assert "target: live" in cassette.read_text()
