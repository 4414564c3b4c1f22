"""Fault specs, selection (operation glob, nth, first N, seeded probability) and the shapes of injected responses."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from replaykit import faults
from replaykit.cassette import bodies
from replaykit.cassette.hooks import Call
from replaykit.cassette.persister import LazyResponse
from replaykit.codecs import eventstream, sse
from replaykit.errors import ConfigError
from replaykit.exchange import Body, Exchange, Request, Response
from replaykit.faults import _shapes as shapes


class FakeCassette:
    """Just what a fault plan reads through a ``Call``: the recorded exchanges, replaying."""

    write_protected = True

    def __init__(self, *exchanges: Exchange) -> None:
        self.exchanges = exchanges
        self.data = [(SimpleNamespace(uri=e.request.uri), LazyResponse(e)) for e in exchanges]

    def exchange(self, index: int) -> Exchange:
        return self.exchanges[index]


def _send(plan: faults.FaultPlan, cassette: FakeCassette, index: int = 0) -> Any:
    """What the plan answers for a call the recorded exchange ``index`` would answer (None: no fault)."""
    ex = cassette.exchanges[index]
    request = SimpleNamespace(uri=ex.request.uri, headers={"User-Agent": "Boto3/1.40 Botocore/1.40"})
    return plan.before_send(Call(cassette, request, ex.operation, index))


def _exchange(operation: str, body: Body, uri: str = "https://bedrock-runtime.us-east-1.amazonaws.com/x") -> Exchange:
    ctype = {"eventstream": eventstream.CONTENT_TYPE, "sse": sse.CONTENT_TYPE}.get(body.kind, "application/json")
    return Exchange(0, operation, Request("POST", uri), Response(200, "OK", {"Content-Type": [ctype]}, body))


CONVERSE = _exchange("bedrock-runtime.Converse", Body("json", {"output": {}}))


def _fire(plan: faults.FaultPlan, cassette: FakeCassette, times: int, index: int = 0) -> list[bool]:
    return [_send(plan, cassette, index) is not None for _ in range(times)]


def test_fault_validation():
    with pytest.raises(ConfigError, match="unknown fault kind"):
        faults.Fault("explode")
    with pytest.raises(ConfigError, match="nth"):
        faults.throttle(nth=0)
    with pytest.raises(ConfigError, match="probability"):
        faults.throttle(probability=1.5)
    with pytest.raises(ConfigError, match="Fault objects"):
        faults.plan().inject("throttle")  # type: ignore[arg-type]


def test_selectors_first_nth_and_every_call():
    cassette = FakeCassette(CONVERSE)
    assert _fire(faults.plan(faults.throttle(first=2)), cassette, 4) == [True, True, False, False]
    assert _fire(faults.plan(faults.throttle(nth=3)), cassette, 4) == [False, False, True, False]
    assert _fire(faults.plan(faults.throttle()), cassette, 3) == [True, True, True]


def test_operation_glob_only_counts_matching_calls():
    other = _exchange("openai.chat.completions", Body("json", {}), "https://api.openai.com/v1/chat/completions")
    cassette = FakeCassette(CONVERSE, other)
    plan = faults.plan(faults.throttle("bedrock-runtime.Conv*", nth=2))
    assert _fire(plan, cassette, 2, index=1) == [False, False]
    assert _fire(plan, cassette, 2, index=0) == [False, True]
    assert plan.calls == {"openai.chat.completions": 2, "bedrock-runtime.Converse": 2}
    assert plan.count() == 1 and plan.count("error", "bedrock-runtime.*") == 1 and plan.count("latency") == 0


def test_probability_is_reproducible_with_a_seed():
    cassette = FakeCassette(CONVERSE)
    runs = [_fire(faults.plan(faults.throttle(probability=0.5), seed=7), cassette, 40) for _ in range(2)]
    assert runs[0] == runs[1]
    assert 8 < sum(runs[0]) < 32
    other_seed = _fire(faults.plan(faults.throttle(probability=0.5, seed=8)), cassette, 40)
    assert other_seed != runs[0]


def test_first_matching_fault_wins_and_all_count_the_call():
    cassette = FakeCassette(CONVERSE)
    plan = faults.plan(faults.throttle(first=1), faults.unavailable(nth=2))
    statuses = [_send(plan, cassette)["status"]["code"] for _ in range(2)]
    assert statuses == [429, 503]
    assert [i.call for i in plan.injected] == [1, 2]


def test_clear_forgets_faults_and_calls():
    cassette = FakeCassette(CONVERSE)
    plan = faults.plan(faults.throttle())
    _fire(plan, cassette, 2)
    plan.clear()
    assert _fire(plan, cassette, 1) == [False] and plan.calls["bedrock-runtime.Converse"] == 1


def test_bedrock_error_shape():
    response = faults.plan().error_response("bedrock-runtime.Converse", faults.throttle())
    assert response["status"] == {"code": 429, "message": "Too Many Requests"}
    headers = response["headers"]
    assert headers["x-amzn-ErrorType"][0].split(":")[0] == "ThrottlingException"
    assert headers["Content-Type"] == ["application/json"] and headers["x-amzn-RequestId"][0]
    assert json.loads(response["body"]["string"]) == {"message": shapes.BEDROCK_MESSAGES["ThrottlingException"]}
    assert headers["Content-Length"] == [str(len(response["body"]["string"]))]


@pytest.mark.parametrize(
    ("fault", "status", "error_type"),
    [
        (faults.unavailable(), 503, "ServiceUnavailableException"),
        (faults.model_timeout(), 408, "ModelTimeoutException"),
        (faults.server_error(), 500, "InternalServerException"),
        (faults.error("ModelNotReadyException"), 429, "ModelNotReadyException"),
        (faults.error(400), 400, "ValidationException"),
    ],
)
def test_bedrock_status_and_exception_name_complete_each_other(fault, status, error_type):
    response = faults.plan().error_response("bedrock-runtime.InvokeModel", fault)
    assert response["status"]["code"] == status
    assert response["headers"]["x-amzn-ErrorType"][0].startswith(error_type + ":")


def test_openai_429_shape():
    response = faults.plan().error_response("openai.chat.completions", faults.throttle(retry_after=0.02))
    headers = response["headers"]
    assert response["status"]["code"] == 429
    assert headers["retry-after"] == ["0"] and headers["retry-after-ms"] == ["20"]
    assert {"x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-tokens"} <= set(headers)
    error = json.loads(response["body"]["string"])["error"]
    assert error["code"] == "rate_limit_exceeded" and error["type"] == "requests" and "Rate limit" in error["message"]


def test_openai_5xx_shape_and_s3_throttle():
    response = faults.plan().error_response("openai.embeddings", faults.unavailable(retry_after=None))
    assert response["status"]["code"] == 503 and "retry-after" not in response["headers"]
    assert json.loads(response["body"]["string"])["error"]["type"] == "server_error"
    s3 = faults.plan().error_response("s3.GetObject", faults.throttle())
    assert s3["status"]["code"] == 503 and b"<Code>SlowDown</Code>" in s3["body"]["string"]


def test_custom_message():
    response = faults.plan().error_response("bedrock-runtime.Converse", faults.throttle(message="slow down"))
    assert json.loads(response["body"]["string"]) == {"message": "slow down"}


STREAM = [
    {"event": "messageStart", "type": "event", "json": {"role": "assistant"}},
    {"event": "contentBlockDelta", "type": "event", "json": {"contentBlockIndex": 0, "delta": {"text": "a"}}},
    {"event": "contentBlockDelta", "type": "event", "json": {"contentBlockIndex": 0, "delta": {"text": "b"}}},
    {"event": "messageStop", "type": "event", "json": {"stopReason": "end_turn"}},
]


def test_bedrock_stream_break_frames_an_exception_with_valid_crcs():
    cassette = FakeCassette(_exchange("bedrock-runtime.ConverseStream", Body("eventstream", STREAM)))
    plan = faults.plan(faults.stream_break(after=2, error_type="throttlingException"))
    response = _send(plan, cassette)
    messages = eventstream.decode(response["body"]["string"])  # raises on a bad CRC
    assert [m.headers.get(":event-type") for m in messages[:2]] == ["messageStart", "contentBlockDelta"]
    last = messages[-1]
    assert len(messages) == 3
    assert last.headers[":message-type"] == "exception" and last.headers[":exception-type"] == "throttlingException"
    assert json.loads(last.payload)["message"]
    assert response["headers"]["Content-Length"] == [str(len(response["body"]["string"]))]


def test_sse_stream_break_ends_without_done():
    events = [{"data": {"choices": [{"delta": {"content": c}}]}} for c in "abc"] + [{"data": "[DONE]"}]
    cassette = FakeCassette(
        _exchange("openai.chat.completions", Body("sse", events), "https://api.openai.com/v1/chat/completions")
    )
    response = _send(faults.plan(faults.stream_break(after=2)), cassette)
    parsed = sse.decode(response["body"]["string"])
    assert len(parsed) == 2 and all(e.data != "[DONE]" for e in parsed)


def test_stream_break_leaves_non_streams_alone():
    cassette = FakeCassette(CONVERSE)
    plan = faults.plan(faults.stream_break())
    assert _send(plan, cassette) is None and plan.count() == 0


def test_latency_returns_the_recorded_response(monkeypatch):
    slept = []
    monkeypatch.setattr(faults.time, "sleep", slept.append)
    cassette = FakeCassette(CONVERSE)
    assert _send(faults.plan(faults.latency(1.5)), cassette) is None
    assert slept == [1.5]


def test_transport_faults_raise_the_calling_clients_own_errors():
    """The stack is chosen from the request the SDK sent (its User-Agent), never from the call stack."""
    import http.client

    import httpx2
    from urllib3.exceptions import NewConnectionError

    from replaykit.faults._transport import client_stack, httpx_module

    assert httpx_module("openai") is httpx2
    chat = _exchange("openai.chat.completions", Body("json", {}), "https://api.openai.com/v1/chat/completions")
    cases = [
        ("OpenAI/Python 3.54.0", chat, [httpx2.ConnectError, httpx2.ReadTimeout, httpx2.RemoteProtocolError]),
        ("Boto3/1.40 Botocore/1.40", CONVERSE, [NewConnectionError, TimeoutError, http.client.RemoteDisconnected]),
    ]
    for agent, ex, classes in cases:
        request = SimpleNamespace(uri=ex.request.uri, headers={"User-Agent": agent})
        assert client_stack(request, ex.operation.split(".")[0]) in ("openai", "urllib3")
        kinds = [faults.connection_error(), faults.read_timeout(), faults.disconnect()]
        for fault, cls in zip(kinds, classes, strict=True):
            with pytest.raises(cls):
                faults.plan(fault).before_send(Call(FakeCassette(ex), request, ex.operation, 0))


def test_recorded_shapes_are_indexed_by_provider_status_and_type(tmp_path):
    from replaykit.cassette.format import dump_document, exchange_to_doc, make_document

    err = Exchange(
        0,
        "openai.chat.completions",
        Request("POST", "https://api.openai.com/v1/chat/completions"),
        Response(
            429,
            "Too Many Requests",
            {"content-type": ["application/json"], "retry-after": ["20"]},
            Body("json", {"error": {"message": "recorded", "type": "tokens", "code": "rate_limit_exceeded"}}),
        ),
    )
    assert exchange_to_doc(err)
    path = tmp_path / "mod" / "test_x.yaml"
    path.parent.mkdir()
    path.write_text(dump_document(make_document([err], {"target": "sandbox"}), path))
    lib = shapes.ShapeLibrary(tmp_path)
    found = lib.find("openai", 429, "rate_limit_exceeded")
    assert found is not None and lib.find("openai", 500, None) is None
    response = shapes.from_recorded(found, 0.01)
    assert json.loads(bodies.encode(found.response.body))["error"]["message"] == "recorded"
    assert response["headers"]["retry-after"] == ["0"]  # the recorded 20 s wait is replaced by the fault's own
