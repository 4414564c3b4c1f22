"""Builders for synthetic drift exchanges, and the generator of the case cassettes next to this file.

Regenerate the cases with ``.venv/bin/python tests/cases/drift/builders.py`` (they are committed; tests only read
them). Each case directory holds ``old.yaml`` and ``new.yaml`` in the replaykit cassette format; ``tree/`` holds two
cassette directories.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from replaykit.exchange import Body, Exchange, Request, Response

HERE = Path(__file__).resolve().parent
BEDROCK = "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1:0"
NOVA = "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.amazon.nova-micro-v1:0"
OPENAI = "https://api.openai.com/v1"
JSON = {"Content-Type": ["application/json"]}
EVENTSTREAM = {"Content-Type": ["application/vnd.amazon.eventstream"]}
SSE = {"Content-Type": ["text/event-stream; charset=utf-8"]}
RATE = {
    "x-ratelimit-limit-requests": ["10000"],
    "x-ratelimit-remaining-requests": ["9999"],
    "x-ratelimit-remaining-tokens": ["199950"],
}


def exchange(
    operation: str,
    uri: str,
    request: Any,
    response: Any,
    *,
    status: int = 200,
    index: int = 0,
    headers: dict[str, list[str]] | None = None,
    kind: str = "json",
    method: str = "POST",
) -> Exchange:
    """An exchange with a JSON request and a response body of ``kind``."""
    req_body = Body("json", request) if request is not None else Body()
    resp_headers = dict(JSON if headers is None else headers)
    return Exchange(
        index,
        operation,
        Request(method, uri, {"Content-Type": ["application/json"]}, req_body),
        Response(status, "OK" if status < 400 else "Error", resp_headers, Body(kind, response)),
    )


def converse_request(text: str = "What is the capital of France?", max_tokens: int = 64) -> dict[str, Any]:
    """A Converse request body."""
    return {
        "messages": [{"role": "user", "content": [{"text": text}]}],
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {"maxTokens": max_tokens},
    }


def converse_response(
    text: str = "Paris.", tokens: tuple[int, int] = (13, 3), latency: int = 159, stop: str = "end_turn"
) -> dict[str, Any]:
    """A Converse response body."""
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop,
        "usage": {"inputTokens": tokens[0], "outputTokens": tokens[1], "totalTokens": sum(tokens)},
        "metrics": {"latencyMs": latency},
    }


def converse(index: int = 0, *, request: Any = None, response: Any = None, **kw: Any) -> Exchange:
    """A bedrock-runtime.Converse exchange."""
    return exchange(
        "bedrock-runtime.Converse",
        f"{BEDROCK}/converse",
        request or converse_request(),
        response or converse_response(),
        index=index,
        **kw,
    )


def converse_stream_events(
    words: list[str],
    *,
    pad: str = "abcdefgh",
    stop: str = "end_turn",
    tokens: tuple[int, int] = (12, 5),
    latency: int = 300,
) -> list[dict[str, Any]]:
    """ConverseStream events: one contentBlockDelta per word, padded like Bedrock does."""

    def ev(name: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "event": name,
            "type": "event",
            "headers": {":content-type": "application/json"},
            "json": {**payload, "p": pad},
        }

    events = [ev("messageStart", {"role": "assistant"})]
    events += [ev("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": w}}) for w in words]
    events += [
        ev("contentBlockStop", {"contentBlockIndex": 0}),
        ev("messageStop", {"stopReason": stop}),
        ev(
            "metadata",
            {
                "usage": {"inputTokens": tokens[0], "outputTokens": tokens[1], "totalTokens": sum(tokens)},
                "metrics": {"latencyMs": latency},
            },
        ),
    ]
    return events


def converse_stream(index: int = 0, *, events: list[dict[str, Any]] | None = None, **kw: Any) -> Exchange:
    """A bedrock-runtime.ConverseStream exchange."""
    return exchange(
        "bedrock-runtime.ConverseStream",
        f"{NOVA}/converse-stream",
        converse_request(),
        events if events is not None else converse_stream_events(["Par", "is."]),
        index=index,
        headers=dict(EVENTSTREAM),
        kind="eventstream",
        **kw,
    )


def chat_response(
    text: str = "Paris.",
    *,
    cid: str = "chatcmpl-A1",
    created: int = 1732400000,
    tokens: tuple[int, int] = (20, 2),
    finish: str = "stop",
    fp: str | None = "fp_1",
) -> dict[str, Any]:
    """An OpenAI chat completion body."""
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": {"prompt_tokens": tokens[0], "completion_tokens": tokens[1], "total_tokens": sum(tokens)},
        "service_tier": "default",
        "system_fingerprint": fp,
    }


def chat(
    index: int = 0,
    *,
    response: Any = None,
    headers: dict[str, list[str]] | None = None,
    status: int = 200,
    kind: str = "json",
    request: Any = None,
) -> Exchange:
    """An openai.chat.completions exchange."""
    req = request or {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Capital of France?"}],
        "max_completion_tokens": 32,
    }
    return exchange(
        "openai.chat.completions",
        f"{OPENAI}/chat/completions",
        req,
        response if response is not None else chat_response(),
        index=index,
        status=status,
        kind=kind,
        headers=headers if headers is not None else {**JSON, **RATE},
    )


def chat_stream_events(
    words: list[str], *, cid: str = "chatcmpl-S1", created: int = 1732400000, tokens: tuple[int, int] = (20, 2)
) -> list[dict[str, Any]]:
    """OpenAI chat completion chunks (with a final usage chunk and [DONE])."""

    def chunk(delta: dict[str, Any], finish: str | None = None, usage: Any = None, choices: bool = True) -> Any:
        return {
            "data": {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": "gpt-4o-mini-2024-07-18",
                "system_fingerprint": "fp_1",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}] if choices else [],
                "usage": usage,
            }
        }

    out = [chunk({"role": "assistant", "content": "", "refusal": None})]
    out += [chunk({"content": w}) for w in words]
    out += [
        chunk({}, "stop"),
        chunk(
            {},
            None,
            {"prompt_tokens": tokens[0], "completion_tokens": tokens[1], "total_tokens": sum(tokens)},
            choices=False,
        ),
        {"data": "[DONE]"},
    ]
    return out


def chat_stream(index: int = 0, *, events: list[dict[str, Any]] | None = None) -> Exchange:
    """A streaming openai.chat.completions exchange."""
    req = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Capital of France?"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    return exchange(
        "openai.chat.completions",
        f"{OPENAI}/chat/completions",
        req,
        events if events is not None else chat_stream_events(["Par", "is."]),
        index=index,
        headers={**SSE, **RATE},
        kind="sse",
    )


def list_objects(
    index: int = 0, *, query: str = "list-type=2&prefix=data%2F", keys: tuple[str, ...] = ("a",), etag: str = "abc"
) -> Exchange:
    """An s3.ListObjectsV2 exchange with an XML body."""
    contents = "".join(
        f"<Contents><Key>data/{k}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>"
        f"<ETag>&quot;{etag}{k}&quot;</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass>"
        f"</Contents>"
        for k in keys
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/'
        f'2006-03-01/"><Name>bucket</Name><Prefix>data/</Prefix><KeyCount>{len(keys)}</KeyCount>'
        f"<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>{contents}</ListBucketResult>"
    )
    ex = exchange(
        "s3.ListObjectsV2",
        f"https://bucket.s3.us-east-1.amazonaws.com/?{query}",
        None,
        xml,
        index=index,
        headers={"Content-Type": ["application/xml"]},
        kind="text",
        method="GET",
    )
    ex.request.headers = {}
    return ex


def reindexed(exchanges: list[Exchange]) -> list[Exchange]:
    """Copies with ``index`` set to their position."""
    out = []
    for i, ex in enumerate(exchanges):
        ex = copy.deepcopy(ex)
        ex.index = i
        out.append(ex)
    return out


# -- sandbox profiles ------------------------------------------------------------------------------------------------

PROFILE_CHECKS = {
    "field_added": "response-field-added",
    "field_removed": "response-field-removed",
    "type_changed": "response-type-changed",
    "enum_value_added": "enum-value-added",
    "event_added": "stream-event-added",
}


def profile_change_found(change: Any, findings: list[Any]) -> bool:
    """Whether a drift report has the finding a sandbox ``ProfileChange`` should produce."""
    check = PROFILE_CHECKS[change.kind]
    path = change.path.replace("[]", "[*]")
    for f in findings:
        if f.check != check or f.operation != change.operation:
            continue
        if change.kind == "event_added":
            if f.where == f"event:{change.path}":
                return True
        elif change.where == "response":
            if f.where == "response.body" and f.path == path:
                return True
        elif (
            f.where.startswith("event:")
            and f.path == path
            and (change.event is None or f.where == f"event:{change.event}")
        ):
            return True
    return False


def apply_profile(exchanges: list[Exchange], profile: Any) -> list[Exchange]:
    """Copies of default-profile exchanges with a sandbox profile's changes applied, as the sandbox would serve."""
    out = []
    for ex in exchanges:
        ex = copy.deepcopy(ex)
        body = ex.response.body
        if body.kind == "json":
            body.value = profile.apply_response(ex.operation, body.value)
        elif body.kind in ("eventstream", "sse") and isinstance(body.value, list):
            key = "json" if body.kind == "eventstream" else "data"
            pairs = [(ev.get("event"), ev.get(key)) for ev in body.value]
            changed = profile.apply_stream(ex.operation, pairs)
            by_name = {ev.get("event"): ev for ev in body.value}
            events = []
            for name, payload in changed:
                template = by_name.get(name) or {"event": name, "type": "event", "headers": {}}
                events.append({**template, key: payload} if name or body.kind == "eventstream" else {key: payload})
            body.value = events
        out.append(ex)
    return out


# -- case cassettes -------------------------------------------------------------------------------------------------


def _noise_pair() -> tuple[list[Exchange], list[Exchange]]:
    old = [converse(), converse_stream(), chat(), chat_stream(), list_objects()]
    new = [
        converse(response=converse_response("The capital is Paris.", (13, 6), 248)),
        converse_stream(
            events=converse_stream_events(
                ["The", " capital", " is", " Paris."], pad="xyzXYZ0123", tokens=(12, 9), latency=512
            )
        ),
        chat(response=chat_response("It is Paris.", cid="chatcmpl-B2", created=1760000000, tokens=(20, 4), fp=None)),
        chat_stream(
            events=chat_stream_events(
                ["It", " is", " Par", "is."], cid="chatcmpl-T9", created=1760000000, tokens=(20, 4)
            )
        ),
        list_objects(keys=("a", "b"), etag="def"),
    ]
    return old, new


def _mutated(base: Exchange, fn: Any) -> Exchange:
    ex = copy.deepcopy(base)
    fn(ex)
    return ex


def cases() -> dict[str, tuple[list[Exchange], list[Exchange]]]:
    """Every file-pair case: name -> (old exchanges, new exchanges)."""
    c = converse()
    resp = c.response.body.value

    def add_field(ex: Exchange) -> None:
        ex.response.body.value["usage"]["serverToolUsage"] = {}

    def drop_metrics(ex: Exchange) -> None:
        del ex.response.body.value["metrics"]

    def stringly_tokens(ex: Exchange) -> None:
        ex.response.body.value["usage"]["inputTokens"] = "13"

    def new_stop(ex: Exchange) -> None:
        ex.response.body.value["stopReason"] = "model_context_window_exceeded"

    def request_drift(ex: Exchange) -> None:
        ex.request.body.value["performanceConfig"] = {"latency": "optimized"}
        del ex.request.body.value["system"]

    events = converse_stream_events(["Par", "is."])
    with_citation = (
        events[:3]
        + [
            {
                "event": "citationsDelta",
                "type": "event",
                "headers": {":content-type": "application/json"},
                "json": {"contentBlockIndex": 0, "delta": {"citation": {"title": "x"}}, "p": "abc"},
            }
        ]
        + events[3:]
    )
    without_metadata = events[:-1]
    error_body = {
        "error": {"message": "Rate limit reached", "type": "requests", "param": None, "code": "rate_limit_exceeded"}
    }
    bedrock_error = {"message": "The provided model identifier is invalid."}
    denied = {"message": "You don't have access to the model with the specified model ID."}
    rate_less = {k: v for k, v in RATE.items() if k != "x-ratelimit-remaining-tokens"}
    return {
        "noise": _noise_pair(),
        "field_added": ([c], [_mutated(c, add_field)]),
        "field_removed": ([c], [_mutated(c, drop_metrics)]),
        "type_changed": ([c], [_mutated(c, stringly_tokens)]),
        "enum_value": ([c], [_mutated(c, new_stop)]),
        "stream_event_added": ([converse_stream()], [converse_stream(events=with_citation)]),
        "stream_event_removed": ([converse_stream()], [converse_stream(events=without_metadata)]),
        "status_changed": (
            [chat()],
            [chat(status=429, response=error_body, headers={**JSON, **RATE, "retry-after": ["20"]})],
        ),
        "content_type_changed": (
            [chat()],
            [
                chat(
                    response="<html><body>Bad gateway</body></html>",
                    headers={"Content-Type": ["text/html"], **RATE},
                    kind="text",
                )
            ],
        ),
        "request_drift": (
            [c, list_objects(1)],
            [_mutated(c, request_drift), list_objects(1, query="list-type=2&prefix=data%2F&fetch-owner=true")],
        ),
        "one_sided": (
            reindexed([c, converse(response=resp)]),
            reindexed(
                [
                    c,
                    exchange(
                        "bedrock-runtime.CountTokens",
                        f"{BEDROCK}/count-tokens",
                        {"input": {"converse": converse_request()}},
                        {"inputTokens": 13},
                    ),
                ]
            ),
        ),
        "headers": (
            [
                chat(),
                exchange(
                    "bedrock-runtime.Converse",
                    f"{BEDROCK}/converse",
                    converse_request(),
                    bedrock_error,
                    index=1,
                    status=400,
                    headers={**JSON, "x-amzn-ErrorType": ["ValidationException:http://x/"]},
                ),
            ],
            [
                chat(headers={**JSON, **rate_less, "retry-after": ["1"]}),
                exchange(
                    "bedrock-runtime.Converse",
                    f"{BEDROCK}/converse",
                    converse_request(),
                    denied,
                    index=1,
                    status=400,
                    headers={**JSON, "x-amzn-ErrorType": ["AccessDeniedException:http://x/"]},
                ),
            ],
        ),
    }


def tree() -> dict[str, dict[str, list[Exchange]]]:
    """The directory case: side -> relative cassette path -> exchanges."""
    old_noise, new_noise = _noise_pair()
    c = converse()
    added = copy.deepcopy(c)
    added.response.body.value["usage"]["serverToolUsage"] = {}
    return {
        "old": {
            "bedrock/test_converse.yaml": [c],
            "noise/test_mixed.yaml": reindexed(old_noise),
            "test_retired.yaml": [chat()],
        },
        "new": {
            "bedrock/test_converse.yaml": [added],
            "noise/test_mixed.yaml": reindexed(new_noise),
            "test_brand_new.yaml": [chat()],
        },
    }


def write_all() -> None:
    """(Re)write every case cassette under this directory."""
    from replaykit.cassette.format import dump_document, make_document

    meta = {"recorded_at": "2026-11-23T21:00:00Z", "target": "sandbox", "profile": "default"}
    for name, (old, new) in cases().items():
        for side, exs in (("old", old), ("new", new)):
            path = HERE / name / f"{side}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(dump_document(make_document(reindexed(exs), meta), path), encoding="utf-8")
    for side, cassettes in tree().items():
        for rel, exs in cassettes.items():
            path = HERE / "tree" / side / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(dump_document(make_document(reindexed(exs), meta), path), encoding="utf-8")


if __name__ == "__main__":
    write_all()
