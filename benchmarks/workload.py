"""Synthetic workloads for the benchmarks: N distinct exchanges as replaykit and plain-vcrpy cassettes.

Every exchange is distinct (a different prompt or object key), so a matcher that ignores bodies would hand back the
wrong response for some other test order; all URLs of one kind are the same, so vcrpy's default matchers (method,
scheme, host, port, path, query) see every OpenAI exchange as a candidate for every OpenAI request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replaykit.cassette.bodies import encode
from replaykit.cassette.format import dump_document, make_document, write_atomic
from replaykit.exchange import Body, Exchange, Request, Response

OPENAI_URL = "https://api.openai.com/v1/chat/completions"
OPENAI_MODEL = "gpt-4o-mini"
BEDROCK_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
BEDROCK_URL = (
    "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream"
)
S3_BUCKET = "bench-bucket"
S3_BASE = f"https://{S3_BUCKET}.s3.amazonaws.com"


@dataclass(frozen=True)
class Call:
    """What the client side sends for one exchange (the benchmark drives the SDKs with these)."""

    kind: str  # "openai" | "converse_stream" | "s3_get"
    prompt: str  # the prompt, or the S3 key


def prompt(i: int) -> str:
    """The i-th distinct prompt (a realistic length: most chat prompts are a sentence or two)."""
    return f"Request {i}: summarise the quarterly report for region {i % 17} in two sentences, please."


def mix(n: int, kinds: str = "openai") -> list[Call]:
    """The calls of a workload: all OpenAI chat completions, or a 70/20/10 OpenAI/ConverseStream/S3 GET mix."""
    if kinds == "openai":
        return [Call("openai", prompt(i)) for i in range(n)]
    out = []
    for i in range(n):
        slot = i % 10
        if slot < 7:
            out.append(Call("openai", prompt(i)))
        elif slot < 9:
            out.append(Call("converse_stream", prompt(i)))
        else:
            out.append(Call("s3_get", f"objects/{i:06d}.txt"))
    return out


# ---- exchanges ------------------------------------------------------------------------------------------------


def openai_request_body(text: str) -> dict[str, Any]:
    """The JSON the openai SDK sends for ``chat.completions.create(model=..., messages=[user text])``."""
    return {"messages": [{"role": "user", "content": text}], "model": OPENAI_MODEL}


def openai_response_body(i: int, text: str) -> dict[str, Any]:
    """A chat.completion answer of realistic size."""
    return {
        "id": f"chatcmpl-bench{i:08d}",
        "object": "chat.completion",
        "created": 1_760_000_000 + i,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": f"Answer {i}: the report for {text[-40:]} shows steady growth and lower costs.",
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 21,
            "completion_tokens": 17,
            "total_tokens": 38,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_bench",
    }


def converse_request_body(text: str) -> dict[str, Any]:
    """The JSON boto3 sends for ``converse_stream(modelId, messages=[user text], inferenceConfig)``."""
    return {"messages": [{"role": "user", "content": [{"text": text}]}], "inferenceConfig": {"maxTokens": 64}}


def converse_events(i: int) -> list[dict[str, Any]]:
    """A short ConverseStream answer: start, three deltas, stop, metadata (decoded event stream form)."""

    def ev(name: str, payload: dict[str, Any]) -> dict[str, Any]:
        # a fresh headers dict per event, as the recorder makes them (a shared one would dump as a YAML alias)
        headers = {":content-type": "application/json"}
        return {"event": name, "type": "event", "headers": headers, "json": {**payload, "p": "abcdefghij"}}

    words = [f"Answer {i}:", " steady", " growth."]
    return [
        ev("messageStart", {"role": "assistant"}),
        *(ev("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": w}}) for w in words),
        ev("contentBlockStop", {"contentBlockIndex": 0}),
        ev("messageStop", {"stopReason": "end_turn"}),
        ev(
            "metadata",
            {"usage": {"inputTokens": 21, "outputTokens": 7, "totalTokens": 28}, "metrics": {"latencyMs": 312}},
        ),
    ]


def s3_object(key: str) -> str:
    """The text of a benchmark S3 object."""
    return f"object {key}\n" + "line of object data\n" * 8


def exchange(i: int, call: Call) -> Exchange:
    """The recorded exchange answering ``call`` (request headers as the SDKs' scrubbed requests keep them)."""
    json_ct = {"Content-Type": ["application/json"]}
    if call.kind == "openai":
        req = Request("POST", OPENAI_URL, dict(json_ct), Body("json", openai_request_body(call.prompt)))
        resp = Response(
            200,
            "OK",
            {"Content-Type": ["application/json"], "x-request-id": [f"req_{i:08d}"]},
            Body("json", openai_response_body(i, call.prompt)),
        )
        return Exchange(i, "openai.chat.completions", req, resp)
    if call.kind == "converse_stream":
        req = Request("POST", BEDROCK_URL, dict(json_ct), Body("json", converse_request_body(call.prompt)))
        resp = Response(
            200,
            "OK",
            {"Content-Type": ["application/vnd.amazon.eventstream"], "x-amzn-RequestId": [f"rid-{i:08d}"]},
            Body("eventstream", converse_events(i)),
        )
        return Exchange(i, "bedrock-runtime.ConverseStream", req, resp)
    data = s3_object(call.prompt)
    req = Request("GET", f"{S3_BASE}/{call.prompt}", {}, Body("empty"))
    resp = Response(
        200,
        "OK",
        {"Content-Type": ["text/plain"], "ETag": [f'"etag{i:08d}"'], "x-amz-request-id": [f"S3RID{i:08d}"]},
        Body("text", data),
    )
    return Exchange(i, "s3.GetObject", req, resp)


def exchanges(calls: list[Call]) -> list[Exchange]:
    """The recorded exchanges of a workload, in order."""
    return [exchange(i, c) for i, c in enumerate(calls)]


META = {"recorded_at": "2026-01-01T00:00:00Z", "target": "sandbox", "versions": {}}


def write_replaykit(path: Path, exs: list[Exchange]) -> None:
    """A replaykit cassette (YAML or JSON by suffix), written the way the persister writes them."""
    write_atomic(path, dump_document(make_document(exs, META), path))


def write_vcrpy(path: Path, exs: list[Exchange]) -> None:
    """A plain vcrpy cassette of the same exchanges (bodies as wire strings), written by vcrpy's own serializer."""
    from vcr.request import Request as VcrRequest
    from vcr.serialize import serialize
    from vcr.serializers import yamlserializer

    requests, responses = [], []
    for ex in exs:
        raw = encode(ex.request.body) or None
        headers = {k: ", ".join(v) for k, v in ex.request.headers.items()}
        requests.append(VcrRequest(ex.request.method, ex.request.uri, raw, headers))
        body = encode(ex.response.body)
        rh = {k: list(v) for k, v in ex.response.headers.items()}
        rh["Content-Length"] = [str(len(body))]
        responses.append(
            {
                "status": {"code": ex.response.status, "message": ex.response.reason},
                "headers": rh,
                "body": {"string": body},
            }
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(serialize({"requests": requests, "responses": responses}, yamlserializer), encoding="utf-8")


def wire_response(ex: Exchange) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body bytes) of a recorded response, as an in-memory mock or a live server sends it."""
    body = encode(ex.response.body)
    headers = {k: ", ".join(v) for k, v in ex.response.headers.items()}
    headers["Content-Length"] = str(len(body))
    return ex.response.status, headers, body


def request_identity(method: str, path: str, body: bytes) -> str:
    """How the floor mocks and the live server find the answer to a request: the prompt or the S3 key."""
    if method == "GET":
        return path[1:] if path.startswith("/") else path
    doc = json.loads(body)
    msg = doc["messages"][0]["content"]
    return msg if isinstance(msg, str) else msg[0]["text"]
