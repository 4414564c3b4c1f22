"""Adversarial: plant secrets of every family everywhere a provider or SDK can put them, record through the
real SDKs, and prove none survives in the written cassette — and that the placeholders still replay."""

from __future__ import annotations

import base64
import json
import os
import re
import string
from pathlib import Path

import boto3
import openai
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from replaykit.config import Config
from replaykit.recorder import use_cassette

B32 = string.ascii_uppercase + "234567"
ALNUM = string.ascii_letters + string.digits
TOKEN = ALNUM + "_-"


def _s(alphabet: str, n: int) -> st.SearchStrategy[str]:
    # real keys are random: a degenerate all-zeros "secret" would collide with the placeholders themselves
    return st.text(alphabet=alphabet, min_size=n, max_size=n).filter(lambda s: len(set(s)) >= min(8, n // 2))


# (family, strategy giving (secret core that must vanish, text as planted))
FAMILIES = {
    "aws-access-key-id": st.tuples(st.sampled_from(["AKIA", "ASIA", "AGPA", "AIDA", "AROA"]), _s(B32, 16)).map(
        lambda t: (t[0] + t[1], t[0] + t[1])),
    "aws-secret-access-key": _s(ALNUM + "/+", 40).map(lambda s: (s, f"aws_secret_access_key={s}")),
    "sts-session-token": _s(ALNUM + "/+", 120).map(lambda s: ("FwoGZXIvYXdzE" + s, "FwoGZXIvYXdzE" + s)),
    "openai-key": st.tuples(st.sampled_from(["sk-", "sk-proj-", "sk-svcacct-", "sk-admin-"]), _s(TOKEN, 40)).map(
        lambda t: (t[1], t[0] + t[1])),
    "anthropic-key": _s(TOKEN, 60).map(lambda s: (s, "sk-ant-api03-" + s)),
    "bearer-token": _s(ALNUM, 32).map(lambda s: (s, f"Bearer {s}")),
    "jwt": st.tuples(_s(TOKEN, 20), _s(TOKEN, 30), _s(TOKEN, 40)).map(
        lambda t: (f"{t[1]}.{t[2]}", f"eyJ{t[0]}.eyJ{t[1]}.{t[2]}")),
    # documented example accounts (123456789012, 012345678901, …) are placeholders, not secrets
    "account-id-in-arn": _s(string.digits, 12).filter(
        lambda d: d not in ("000000000000", "123456789012", "012345678901", "210987654321")).map(
        lambda d: (d, f"arn:aws:iam::{d}:role/deployer")),
}
LOCATIONS = ["request-header", "query", "message-text", "nested-array", "json-key", "response-echo", "sse-stream",
             "error-message", "bedrock-stream", "invoke-chunk-bytes"]


def _clean(text: str, core: str, path: Path) -> None:
    """The core of the secret is nowhere in the file, not even inside base64 runs."""
    assert core not in text, f"{core[:6]}… survived in {path}"
    for run in re.findall(r"[A-Za-z0-9+/=]{24,}", text):
        try:
            decoded = base64.b64decode(run + "=" * (-len(run) % 4)).decode("utf-8", "ignore")
        except ValueError:
            continue
        assert core not in decoded, f"{core[:6]}… survived base64-wrapped in {path}"


def _drive(location: str, planted: str, oa: openai.OpenAI, br) -> None:
    msg = [{"role": "user", "content": "hello"}]
    if location == "request-header":
        oa.chat.completions.create(model="m", messages=msg, extra_headers={"X-Api-Key": planted,
                                                                           "X-Trace": planted})
    elif location == "query":
        oa.chat.completions.create(model="m", messages=msg, extra_query={"token": planted, "q": planted})
    elif location == "message-text":
        oa.chat.completions.create(model="m", messages=[{"role": "user", "content": f"my key is {planted} ok"}])
    elif location == "nested-array":
        oa.chat.completions.create(model="m", messages=msg, extra_body={"meta": [{"deep": [[planted]]}]})
    elif location == "json-key":
        oa.chat.completions.create(model="m", messages=msg, extra_body={"labels": {planted: "v"}})
    elif location in ("response-echo", "sse-stream", "error-message"):
        if location == "sse-stream":
            assert "".join(c.choices[0].delta.content or "" for c in oa.chat.completions.create(
                model="m", messages=msg, stream=True) if c.choices)
        elif location == "error-message":
            with pytest.raises(openai.AuthenticationError):
                oa.chat.completions.create(model="error", messages=msg)
        else:
            assert oa.chat.completions.create(model="m", messages=msg).choices[0].message.content
    elif location == "bedrock-stream":
        events = list(br.converse_stream(modelId="anthropic.claude-3-haiku-20240307-v1:0",
                                         messages=[{"role": "user", "content": [{"text": planted}]}])["stream"])
        assert "metadata" in events[-1]
    elif location == "invoke-chunk-bytes":
        chunks = list(br.invoke_model_with_response_stream(
            modelId="anthropic.claude-3-haiku-20240307-v1:0", body=json.dumps({"prompt": planted}))["body"])
        assert json.loads(chunks[0]["chunk"]["bytes"])["delta"]["text"]


def _clients(base: str | None):
    kw = {"base_url": base + "/v1"} if base else {}
    oa = openai.OpenAI(api_key="sk-test-dummy", max_retries=0, **kw)
    br = boto3.client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="AKIADUMMYDUMMYDUMMY2",
                      aws_secret_access_key="dummy", **({"endpoint_url": base} if base else {}))
    return oa, br


# REPLAYKIT_SECURITY_EXAMPLES=1000 for a deeper hunt than the suite's default
EXAMPLES = int(os.environ.get("REPLAYKIT_SECURITY_EXAMPLES", "40"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(family=st.sampled_from(sorted(FAMILIES)), location=st.sampled_from(LOCATIONS), data=st.data())
def test_planted_secret_never_reaches_the_cassette_and_replay_still_works(hostile_server, planted, tmp_path_factory,
                                                                          family, location, data):
    core, secret = data.draw(FAMILIES[family])
    planted["secret"] = secret
    path = tmp_path_factory.mktemp("sec") / "c.yaml"
    host_map = {hostile_server + "/v1": "https://api.openai.com/v1",
                hostile_server: "https://bedrock-runtime.us-east-1.amazonaws.com"}
    oa, br = _clients(hostile_server)
    with use_cassette(path, "once", config=Config(), host_map=host_map, target="sandbox"):
        _drive(location, secret, oa, br)
    _clean(path.read_text(), core, path)
    event(f"{family} @ {location}")  # `pytest --hypothesis-show-statistics` tallies families x locations
    # the placeholders still replay: the same calls, offline, against canonical hosts
    oa2, br2 = _clients(None)
    with use_cassette(path, "none", config=Config()) as cassette:
        _drive(location, secret, oa2, br2)
    assert cassette.play_count >= 1 and not cassette.misses


def test_secrets_in_s3_keys_metadata_and_presigned_urls(tmp_path):
    import httpx
    from moto.server import ThreadedMotoServer

    akid = "AKIA" + "Q3ZT7RWXK2PLM5NB"
    token = "sk-proj-" + "x7Hq2LmN9pQr4StUv8WyZa1Bc3De5Fg7"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        base = f"http://{host}:{port}"
        path = tmp_path / "s3.yaml"
        c = boto3.client("s3", endpoint_url=base, region_name="us-east-1", aws_access_key_id=akid,
                         aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETKEY")

        def drive(client):
            client.create_bucket(Bucket="sec-bucket")
            client.put_object(Bucket="sec-bucket", Key=f"keys/{akid}.txt", Body=f"body {token}".encode(),
                              Metadata={"owner-token": token})
            url = client.generate_presigned_url("get_object", Params={"Bucket": "sec-bucket",
                                                                      "Key": f"keys/{akid}.txt"})
            return httpx.get(url).content

        with use_cassette(path, "once", config=Config(), host_map={base: "https://s3.amazonaws.com"},
                          target="sandbox"):
            assert drive(c) == f"body {token}".encode()
    finally:
        server.stop()
    text = path.read_text()
    for core in (akid, token[8:], "wJalrXUtnFEMI"):
        _clean(text, core, path)
    replay = boto3.client("s3", region_name="us-east-1", aws_access_key_id=akid, aws_secret_access_key="x" * 40)
    with use_cassette(path, "none", config=Config()) as cassette:
        drive(replay)
    assert not cassette.misses
