"""Cassettes recorded by other projects against the real providers load, and replay through boto3 / openai."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import openai
import pytest

from replaykit.cassette import iter_cassettes, load_exchanges
from replaykit.config import Config
from replaykit.plugin.clients import REPLAY_OPENAI_KEY
from replaykit.recorder import use_cassette


def _all(real: Path) -> list[Path]:
    return list(iter_cassettes(real))


def test_every_real_cassette_loads(real_cassettes):
    paths = _all(real_cassettes)
    assert len(paths) >= 20
    ops = {e.operation for p in paths for e in load_exchanges(p)}
    assert {"bedrock-runtime.Converse", "bedrock-runtime.ConverseStream", "bedrock-runtime.InvokeModel",
            "bedrock-runtime.InvokeModelWithResponseStream", "openai.chat.completions", "openai.embeddings",
            "openai.responses", "s3.GetObject"} <= ops


def test_real_event_streams_decode_to_events(real_cassettes):
    streams = [e for p in _all(real_cassettes) for e in load_exchanges(p) if e.response.body.kind == "eventstream"]
    assert streams
    for ex in streams:
        names = [ev.get("event") for ev in ex.response.body.value]
        assert names and all(names)


def _replayable(real: Path, provider: str) -> list[tuple[Path, int]]:
    out = []
    for p in _all(real):
        if p.suffix == ".gz":
            continue  # langchain's format redacts every header and body type: not replayable by design
        for ex in load_exchanges(p):
            if ex.provider == provider and ex.request.body.kind == "json" and ex.response.status == 200:
                out.append((p, ex.index))
    return out


def _blobs_to_bytes(value):
    """botocore base64-encodes blob members itself: hand it bytes, as user code would."""
    import base64

    if isinstance(value, dict):
        return {k: base64.b64decode(v) if k == "bytes" and isinstance(v, str) else _blobs_to_bytes(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_blobs_to_bytes(v) for v in value]
    return value


def _bedrock_kwargs(uri: str, body: dict) -> tuple[str, str, dict]:
    from urllib.parse import unquote

    path = unquote(uri.split(".amazonaws.com", 1)[1])
    model = path[len("/model/"):].rsplit("/", 1)[0]
    op = path.rsplit("/", 1)[1]
    return model, op, _blobs_to_bytes(body) if op.startswith("converse") else body


def test_real_bedrock_exchanges_replay_through_boto3(real_cassettes):
    cases = _replayable(real_cassettes, "bedrock-runtime")
    assert len(cases) >= 10
    client = boto3.client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="AKIAREPLAYDUMMY",
                          aws_secret_access_key="dummy")
    replayed = 0
    for path, index in cases:
        ex = load_exchanges(path)[index]
        model, op, body = _bedrock_kwargs(ex.request.uri, ex.request.body.value)
        with use_cassette(path, "none", config=Config()) as cassette:
            # only this exchange is asked for; the cassette may hold more
            if op == "converse":
                out = client.converse(modelId=model, **body)
                assert out["output"] and out["stopReason"]
            elif op == "converse-stream":
                events = list(client.converse_stream(modelId=model, **body)["stream"])
                assert "messageStart" in events[0] and "metadata" in events[-1]
            elif op == "invoke":
                out = json.loads(client.invoke_model(modelId=model, body=json.dumps(body))["body"].read())
                assert out == ex.response.body.value
            elif op == "invoke-with-response-stream":
                chunks = list(client.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))["body"])
                assert chunks and "chunk" in chunks[0]
            elif op == "count-tokens":
                assert client.count_tokens(modelId=model, **body)["inputTokens"] > 0
            else:
                continue
            assert cassette.play_count >= 1
            replayed += 1
    assert replayed == len(cases)


def test_real_openai_exchanges_replay_through_openai(real_cassettes):
    cases = _replayable(real_cassettes, "openai")
    assert len(cases) >= 4
    client = openai.OpenAI(api_key=REPLAY_OPENAI_KEY, max_retries=0)
    for path, index in cases:
        ex = load_exchanges(path)[index]
        body = dict(ex.request.body.value)
        endpoint = ex.operation
        with use_cassette(path, "none", config=Config()) as cassette:
            if endpoint == "openai.chat.completions":
                if body.get("stream"):
                    chunks = list(client.chat.completions.create(**body))
                    assert chunks
                else:
                    assert client.chat.completions.create(**body).choices
            elif endpoint == "openai.embeddings":
                assert client.embeddings.create(**body).data
            elif endpoint == "openai.responses":
                if body.get("stream"):
                    assert list(client.responses.create(**body))
                else:
                    assert client.responses.create(**body).output
            else:
                pytest.fail(f"unexpected endpoint {endpoint}")
            assert cassette.play_count == 1


def test_real_s3_get_replays(real_cassettes):
    path = next(p for p in _all(real_cassettes) if p.name == "test_anonymous_s3.yaml")
    from botocore import UNSIGNED
    from botocore.config import Config as BotoConfig

    client = boto3.client("s3", region_name="us-east-1", config=BotoConfig(signature_version=UNSIGNED))
    with use_cassette(path, "none", config=Config(), allow_playback_repeats=True):
        body = client.get_object(Bucket="openneuro.org", Key="ds000001/dataset_description.json")["Body"].read()
    assert json.loads(body)["Name"]
