"""Client fixtures share immutable SDK state per process (botocore loader, SSL context), never per-test state.

Each test below mutates its client the ways a test might (event handlers, credentials, HTTP client headers,
config); the next test must see none of it, in replay and in record mode (sandbox).
"""

from __future__ import annotations

import pytest

ISOLATION = """
import botocore.credentials
import pytest
from botocore.awsrequest import AWSResponse

SEEN = {}
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def _leak(**kwargs):
    return "leaked"


@pytest.mark.parametrize("round", [0, 1])
def test_mutate_then_check(round, bedrock_runtime, s3, openai_client):
    if round == 1:
        # nothing test 0 did to its clients reaches these ones
        assert bedrock_runtime is not SEEN["bedrock"] and s3 is not SEEN["s3"]
        assert bedrock_runtime.meta.events is not SEEN["bedrock"].meta.events
        for client in (bedrock_runtime, s3):
            assert client.meta.events.emit_until_response("replaykit-test.leak") == (None, None)
            creds = client._request_signer._credentials
            assert creds.access_key != "MUTATED" and creds is not SEEN["creds"]
        assert openai_client is not SEEN["openai"]
        assert openai_client._client is not SEEN["openai"]._client
        assert "x-leak" not in openai_client._client.headers
        assert openai_client.api_key != "sk-mutated"
        return
    SEEN.update(bedrock=bedrock_runtime, s3=s3, openai=openai_client)
    for client in (bedrock_runtime, s3):
        client.meta.events.register("replaykit-test.leak", _leak)
    # a before-call handler answering instead of the service: proves registered handlers are live here
    answer = (AWSResponse("https://x", 200, {}, None), {"output": "from a handler"})
    bedrock_runtime.meta.events.register("before-call.bedrock-runtime.Converse", lambda **kw: answer)
    out = bedrock_runtime.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert out == {"output": "from a handler"}
    creds = bedrock_runtime._request_signer._credentials
    SEEN["creds"] = creds
    if isinstance(creds, botocore.credentials.Credentials):
        creds.access_key = "MUTATED"
    openai_client._client.headers["x-leak"] = "1"
    openai_client.api_key = "sk-mutated"
"""


@pytest.mark.parametrize("mode", ["none", "once"])
def test_no_state_leaks_between_tests_through_client_fixtures(pytester, mode):
    pytester.makepyfile(test_isolation=ISOLATION)
    result = pytester.runpytest_subprocess(f"--record-mode={mode}", "-p", "no:randomly")
    result.assert_outcomes(passed=2)


SAME_SDK_STATE = """
def test_one(bedrock_runtime, s3):
    import json, os
    with open(os.environ["OUT"], "a") as f:
        model = bedrock_runtime.meta.service_model._service_description
        f.write(json.dumps([id(model), id(bedrock_runtime)]) + "\\n")


def test_two(bedrock_runtime, s3):
    test_one(bedrock_runtime, s3)
"""


def test_service_models_are_loaded_once_per_process(pytester, monkeypatch):
    out = pytester.path / "ids.jsonl"
    monkeypatch.setenv("OUT", str(out))
    pytester.makepyfile(test_models=SAME_SDK_STATE)
    pytester.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=2)
    import json

    (model_a, client_a), (model_b, client_b) = (json.loads(line) for line in out.read_text().splitlines())
    assert client_a != client_b  # a new client per test ...
    assert model_a == model_b  # ... from the one parsed service description


ABOVE_URLLIB3 = """
import pytest

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def test_converse(bedrock_runtime):
    out = bedrock_runtime.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "hello"}]}])
    assert out["output"]["message"]["content"][0]["text"]
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200
    # replay answered above urllib3: no connection pool was ever opened for this client (recording opens one)
    pools = len(bedrock_runtime._endpoint.http_session._manager.pools)
    assert (pools == 0) == (pytest.REPLAY_MODE == "none"), pools


def test_object(s3):
    if pytest.REPLAY_MODE != "none":
        s3.create_bucket(Bucket="fast-path")
        s3.put_object(Bucket="fast-path", Key="k.txt", Body=b"exact bytes", ContentType="text/plain")
    got = s3.get_object(Bucket="fast-path", Key="k.txt")
    assert got["Body"].read() == b"exact bytes" and got["ContentLength"] == 11


def test_stream(bedrock_runtime):
    out = bedrock_runtime.converse_stream(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    events = list(out["stream"])
    assert any("contentBlockDelta" in e for e in events) and "metadata" in events[-1]
"""


def test_replayed_boto3_answers_come_from_above_urllib3_and_parse_as_recorded(pytester):
    pytester.makeconftest(
        "import pytest\n\ndef pytest_configure(config):\n"
        "    pytest.REPLAY_MODE = config.getoption('--record-mode') or 'none'\n"
    )
    pytester.makepyfile(test_fast=ABOVE_URLLIB3)
    pytester.runpytest_subprocess("--record-mode=once", "-p", "no:randomly").assert_outcomes(passed=3)
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*bedrock-runtime.Converse*1*0*"])


TLS = """
import ssl


def test_tls(openai_client, replaykit_mode):
    # the context httpx's connection pool would hand the TLS handshake
    ctx = openai_client._client._transport._pool._ssl_context
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    trusted = ctx.cert_store_stats()["x509_ca"]
    # replay never opens TLS: its clients load no CA bundle, and so could never verify (let alone skip) a peer
    assert (trusted == 0) if replaykit_mode.replaying else (trusted > 0)
"""


@pytest.mark.parametrize("mode", ["none", "once"])
def test_replay_clients_verify_tls_but_trust_no_ca(pytester, mode):
    pytester.makepyfile(test_tls=TLS)
    result = pytester.runpytest_subprocess(f"--record-mode={mode}", "--replaykit-target=sandbox", "-p", "no:randomly")
    result.assert_outcomes(passed=1)
