"""replaykit_env's plan: what each mode sets and removes, and what a real boto3/openai client then does."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from replaykit.environment import (
    DUMMY_AWS_ACCESS_KEY_ID,
    DUMMY_OPENAI_API_KEY,
    ReplaykitMode,
    plan_env,
)

ENDPOINTS = SimpleNamespace(
    bedrock_runtime="http://127.0.0.1:4010", s3="http://127.0.0.1:4011", openai="http://127.0.0.1:4010/v1"
)


def test_replay_sets_dummies_and_removes_every_endpoint_override_and_profile():
    environ = {
        "AWS_ENDPOINT_URL": "http://x",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://x",
        "AWS_ENDPOINT_URL_SQS": "http://x",
        "OPENAI_BASE_URL": "http://x",
        "ANTHROPIC_BEDROCK_BASE_URL": "http://x",
        "AWS_PROFILE": "prod",
        "AWS_SESSION_TOKEN": "t",
        "AWS_ACCESS_KEY_ID": "AKIAREALREALREALREAL",
    }
    plan = plan_env("replay", "us-east-1", environ)
    assert set(plan.unset) == set(environ) - {"AWS_ACCESS_KEY_ID"}
    assert plan.set["AWS_ACCESS_KEY_ID"] == DUMMY_AWS_ACCESS_KEY_ID  # a real key is never used to replay
    assert plan.set["OPENAI_API_KEY"] == DUMMY_OPENAI_API_KEY
    assert plan.set["AWS_EC2_METADATA_DISABLED"] == "true" and plan.set["AWS_DEFAULT_REGION"] == "us-east-1"


def test_replay_keeps_a_region_the_user_set():
    plan = plan_env("replay", "us-east-1", {"AWS_REGION": "eu-west-1"})
    assert "AWS_REGION" not in plan.set and "AWS_DEFAULT_REGION" not in plan.set


def test_sandbox_points_endpoints_and_fills_only_missing_credentials():
    plan = plan_env("sandbox", "us-east-1", {"OPENAI_API_KEY": "sk-mine"}, ENDPOINTS)
    assert plan.set["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] == ENDPOINTS.bedrock_runtime
    assert plan.set["ANTHROPIC_BEDROCK_BASE_URL"] == ENDPOINTS.bedrock_runtime
    assert plan.set["AWS_ENDPOINT_URL_S3"] == ENDPOINTS.s3 and plan.set["OPENAI_BASE_URL"] == ENDPOINTS.openai
    assert "OPENAI_API_KEY" not in plan.set and plan.set["AWS_ACCESS_KEY_ID"] == DUMMY_AWS_ACCESS_KEY_ID
    assert "AWS_ENDPOINT_URL" not in plan.set  # only once the sandbox serves every AWS service
    with_aws = SimpleNamespace(**vars(ENDPOINTS), aws="http://127.0.0.1:4012")
    assert plan_env("sandbox", "us-east-1", {}, with_aws).set["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4012"


def test_live_changes_nothing():
    plan = plan_env("live", "us-east-1", {"AWS_ENDPOINT_URL": "http://x"})
    assert plan.set == {} and plan.unset == ()


def test_real_clients_under_the_replay_plan_address_canonical_hosts(monkeypatch):
    import boto3
    import openai

    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://127.0.0.1:1")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    plan = plan_env("replay", "us-east-1", dict(__import__("os").environ))
    for name in plan.unset:
        monkeypatch.delenv(name, raising=False)
    for name, value in plan.set.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, "us-east-1")
    client = boto3.client("bedrock-runtime")
    assert client.meta.endpoint_url == "https://bedrock-runtime.us-east-1.amazonaws.com"
    assert client._request_signer._credentials.access_key == DUMMY_AWS_ACCESS_KEY_ID
    assert str(openai.OpenAI().base_url) == "https://api.openai.com/v1/"


@pytest.mark.parametrize(("mode", "replaying"), [("none", True), ("once", False), ("rewrite", False)])
def test_mode_says_whether_it_replays(mode, replaying):
    assert ReplaykitMode(mode, "sandbox").replaying is replaying
    assert ReplaykitMode(mode, "sandbox").recording is not replaying
