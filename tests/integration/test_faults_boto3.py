"""Injected faults are indistinguishable from real ones for boto3: same exception classes, error codes and
``RetryAttempts`` whether the scripted 127.0.0.1 server really fails or ``replaykit.faults`` injects it on replay.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError, EventStreamError
from test_faults_support import (
    BEDROCK,
    MESSAGES,
    MODEL,
    STREAM_EVENTS,
    bedrock_client,
    fast_backoff,
    happy_cassette,
    replay,
    reply,
    scripted,
    stream_event,
    with_,
)

from replaykit import faults
from replaykit.codecs import eventstream
from replaykit.config import Config
from replaykit.faults import _shapes as shapes
from replaykit.recorder import Setup, use_cassette

__all__ = ["fast_backoff", "happy_cassette", "scripted"]  # fixtures used by name


def _observe_bedrock(client: Any, stream: bool = False) -> tuple[Any, ...]:
    attempts = []
    client.meta.events.register("before-send.bedrock-runtime.*", lambda **kw: attempts.append(1))
    try:
        if stream:
            got = []
            try:
                for event in client.converse_stream(modelId=MODEL, messages=MESSAGES)["stream"]:
                    got.append(next(iter(event)))
            except EventStreamError as exc:
                return ("EventStreamError", exc.response["Error"]["Code"], got, len(attempts))
            return ("ok", got, len(attempts))
        out = client.converse(modelId=MODEL, messages=MESSAGES)
        return ("ok", out["output"]["message"]["content"][0]["text"], out["ResponseMetadata"]["RetryAttempts"])
    except ClientError as exc:
        meta = exc.response["ResponseMetadata"]
        err = exc.response["Error"]
        return (type(exc).__name__, err["Code"], err["Message"], meta["HTTPStatusCode"], meta["RetryAttempts"])
    except Exception as exc:  # transport errors: compare the class botocore raised and the attempts made
        return (type(exc).__name__, len(attempts))


BEDROCK_ERRORS = {
    "throttle": faults.throttle("bedrock-runtime.Converse"),
    "unavailable": faults.unavailable("bedrock-runtime.Converse"),
    "model_timeout": faults.model_timeout("bedrock-runtime.Converse"),
    "server_error": faults.server_error("bedrock-runtime.Converse"),
}


@pytest.mark.parametrize("times", [2, 5], ids=["recovers", "exhausted"])
@pytest.mark.parametrize("name", sorted(BEDROCK_ERRORS))
def test_bedrock_error_faults_match_real_errors(scripted, happy_cassette, name, times):
    fault = BEDROCK_ERRORS[name]
    injected_plan = faults.plan()
    real = shapes.built_in(
        "bedrock-runtime", *shapes.resolve("bedrock-runtime", fault.status, _etype(fault)), None, None
    )
    scripted.script = [reply(real)] * times
    real_seen = _observe_bedrock(bedrock_client(scripted.base))
    scripted.script = []
    injected_plan.inject(with_(fault, first=times))
    with use_cassette(happy_cassette, "none", config=Config(), faults=injected_plan) as c:
        injected_seen = _observe_bedrock(bedrock_client())
    assert injected_seen == real_seen
    status, code = shapes.resolve("bedrock-runtime", fault.status, _etype(fault))
    if name == "model_timeout":  # 408 is not a transient status for botocore: never retried
        assert real_seen == (code, code, shapes.BEDROCK_MESSAGES[code], 408, 0)
    elif times == 2:
        assert real_seen == ("ok", "pong", 2)  # RetryAttempts counts the two faults botocore retried ...
        assert c.play_count == 1  # ... and the recorded answer was played once, after them
    else:
        assert real_seen[0] == real_seen[1] == code and real_seen[3:] == (status, 3)  # modeled class, 3 retries


def _etype(fault: faults.Fault) -> str | None:
    return "ThrottlingException" if fault.error_type == faults.THROTTLE else fault.error_type


@pytest.mark.parametrize("kind", ["disconnect", "read_timeout"])
@pytest.mark.parametrize("times", [2, 5], ids=["recovers", "exhausted"])
def test_bedrock_transport_faults_match_real_ones(scripted, happy_cassette, kind, times):
    scripted.script = ["drop" if kind == "disconnect" else "stall"] * times
    real_seen = _observe_bedrock(bedrock_client(scripted.base))
    scripted.script = []
    fault = faults.disconnect() if kind == "disconnect" else faults.read_timeout()
    with replay(happy_cassette, with_(fault, first=times)):
        injected_seen = _observe_bedrock(bedrock_client())
    assert injected_seen == real_seen
    expected = {"disconnect": "ConnectionClosedError", "read_timeout": "ReadTimeoutError"}[kind]
    assert real_seen == (("ok", "pong", times) if times < 4 else (expected, 4))


def test_bedrock_connection_refused_matches_a_closed_port(happy_cassette):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    real_seen = _observe_bedrock(bedrock_client(closed))
    with replay(happy_cassette, faults.connection_error("bedrock-runtime.*")):
        injected_seen = _observe_bedrock(bedrock_client())
    assert injected_seen == real_seen == ("EndpointConnectionError", 4)


def test_bedrock_stream_break_matches_a_real_mid_stream_exception(scripted, happy_cassette):
    broken = eventstream.encode(
        STREAM_EVENTS[:3]
        + [stream_event("modelStreamErrorException", {"message": "boom", "originalStatusCode": 500}, "exception")]
    )
    scripted.script = [(200, {"Content-Type": eventstream.CONTENT_TYPE}, broken)]
    real_seen = _observe_bedrock(bedrock_client(scripted.base), stream=True)
    with replay(happy_cassette, faults.stream_break(after=3, operation="bedrock-runtime.ConverseStream")) as c:
        injected_seen = _observe_bedrock(bedrock_client(), stream=True)
    assert injected_seen == real_seen
    assert real_seen[:2] == ("EventStreamError", "modelStreamErrorException")
    assert real_seen[2] == ["messageStart", "contentBlockDelta", "contentBlockDelta"]
    assert c.play_count == 0  # the broken stream was injected: the recorded one is still there for a retry


def test_latency_delays_the_recorded_response(happy_cassette):
    with replay(happy_cassette, faults.latency(0.2, "bedrock-runtime.Converse")) as c:
        start = time.perf_counter()
        seen = _observe_bedrock(bedrock_client())
        elapsed = time.perf_counter() - start
    assert seen == ("ok", "pong", 0) and c.play_count == 1
    assert elapsed >= 0.2


def test_recorded_error_shape_is_reused(scripted, tmp_path):
    """An error recorded under the happy_cassette dir (here a custom-message throttle) is what the fault injects."""
    recorded = shapes.bedrock_error(429, "ThrottlingException", "Rate exceeded for this account (recorded).")
    scripted.script = [reply(recorded)]
    err_dir = tmp_path / "cassettes"
    with use_cassette(
        err_dir / "errors" / "throttled.yaml", "once", config=Config(), host_map={scripted.base: BEDROCK}
    ):
        assert _observe_bedrock(bedrock_client(scripted.base, retries=0))[1] == "ThrottlingException"
    plan = faults.plan(faults.throttle(first=1), cassette_dir=err_dir)
    response = plan.error_response("bedrock-runtime.Converse", plan.faults[0])
    assert json.loads(response["body"]["string"]) == {"message": "Rate exceeded for this account (recorded)."}
    assert response["headers"]["x-amzn-ErrorType"][0].startswith("ThrottlingException:")


def test_with_faults_chains_onto_a_setup(happy_cassette):
    own = faults.plan(faults.throttle("bedrock-runtime.Converse", first=1))
    timeout = faults.read_timeout("bedrock-runtime.*", first=1)
    setup = faults.with_faults(Setup(Config()).with_subscribers(own), [timeout])
    with use_cassette(happy_cassette, "none", setup=setup) as c:
        assert _observe_bedrock(bedrock_client()) == (
            "ok",
            "pong",
            2,
        )  # a throttle, then a read timeout, then the answer
    assert own.count() == 1 and c.play_count == 1
    assert faults.as_plan(own) is own and len(faults.as_plan(faults.latency(1)).faults) == 1
