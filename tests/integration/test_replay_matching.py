"""Replay matching through the real openai and boto3 clients, against cassettes recorded from a local server.

Each cassette is recorded with ``use_cassette`` from a tiny HTTP server on 127.0.0.1 (its host mapped to the
provider's, as the sandbox's is) and replayed with clients pointed at the real provider endpoints: what matches,
what misses and what a miss says. The last test runs the same cases through plain vcrpy with replaykit's key as a
pairwise matcher, and requires the same outcome from the index.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import openai
import pytest
import vcr
import yaml
from botocore.config import Config as BotoConfig
from vcr.errors import CannotOverwriteExistingCassetteException

from replaykit.cassette.index import IndexedCassette
from replaykit.cassette.matching import vcr_matcher
from replaykit.config import Config
from replaykit.errors import NoMatchError
from replaykit.recorder import use_cassette
from replaykit.scrub.sanitize import Rules, scrub_request

# what a replay miss surfaces as in the SDK: openai re-raises the stub's refusal as is, or as a connection error
REFUSED = (CannotOverwriteExistingCassetteException, openai.APIConnectionError, NoMatchError)
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
OPENAI_BASE = "https://api.openai.com"
BEDROCK_BASE = "https://bedrock-runtime.us-east-1.amazonaws.com"


class Server:
    """Answers chat completions and Bedrock Converse with the prompt and a per-recording sequence number."""

    def __init__(self) -> None:
        self.seq = itertools.count()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                n = next(outer.seq)
                if self.path.startswith("/v1/chat/completions"):
                    text = f"{n}:{body['messages'][0]['content']}"
                    out = {
                        "id": f"chatcmpl-{n}",
                        "object": "chat.completion",
                        "created": 1,
                        "model": body["model"],
                        "choices": [
                            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
                        ],
                    }
                else:
                    text = f"{n}:{body['messages'][0]['content'][0]['text']}"
                    out = {
                        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                        "stopReason": "end_turn",
                        "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
                        "metrics": {"latencyMs": 1},
                    }
                data = json.dumps(out).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-amzn-RequestId", f"rid-{n}")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def reset(self) -> None:
        """Start numbering answers from 0 again (each recording sees the same ids)."""
        self.seq = itertools.count()

    @property
    def host_map(self) -> dict[str, str]:
        """Local bases → provider bases, as the sandbox maps them (longest first is replaykit's job)."""
        return {f"{self.base}/v1": f"{OPENAI_BASE}/v1", self.base: BEDROCK_BASE}


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def _openai(base: str | None = None) -> Any:
    kw: dict[str, Any] = {"api_key": "sk-replay-dummy", "max_retries": 0}
    if base:
        kw["base_url"] = base
    return openai.OpenAI(**kw)


def _bedrock(endpoint: str | None = None, **creds: str) -> Any:
    creds = creds or {"aws_access_key_id": "AKIAREPLAYDUMMY", "aws_secret_access_key": "replay-dummy-secret"}
    kw: dict[str, Any] = {"region_name": "us-east-1", "config": BotoConfig(retries={"total_max_attempts": 1}), **creds}
    if endpoint:
        kw["endpoint_url"] = endpoint
    return boto3.client("bedrock-runtime", **kw)


def _chat(client: Any, prompt: str, **kw: Any) -> str:
    out = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}], **kw)
    return out.choices[0].message.content


def _converse(client: Any, prompt: str) -> str:
    out = client.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": prompt}]}])
    return out["output"]["message"]["content"][0]["text"]


def _record(server: Server, path: Path, fn: Callable[[Any, Any], None]) -> None:
    server.reset()
    with use_cassette(path, "once", config=Config(), host_map=server.host_map):
        fn(_openai(f"{server.base}/v1"), _bedrock(server.base))


def _replay_misses(path: Path, fn: Callable[[], None]) -> str:
    """Run fn against the cassette in replay mode; the NoMatchError text it ends with."""
    with pytest.raises(NoMatchError) as info, use_cassette(path, "none", config=Config()):
        fn()
    return str(info.value)


TOOL_A = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "look a thing up",
        "parameters": {"type": "object", "required": ["q"], "properties": {"q": {"type": "string"}}},
    },
}
TOOL_B = {
    "function": {
        "parameters": {"properties": {"q": {"type": "string"}}, "required": ["q"], "type": "object"},
        "description": "look a thing up",
        "name": "lookup",
    },
    "type": "function",
}


def test_json_bodies_match_semantically_whatever_the_key_order(server, tmp_path):
    path = tmp_path / "order.yaml"
    _record(server, path, lambda oc, br: _chat(oc, "hello", tools=[TOOL_A], temperature=0.2))
    with use_cassette(path, "none", config=Config()) as cassette:
        assert _chat(_openai(), "hello", temperature=0.2, tools=[TOOL_B]) == "0:hello"
    assert cassette.play_count == 1


def test_a_different_prompt_misses_naming_the_json_path(server, tmp_path):
    path = tmp_path / "prompt.yaml"
    _record(server, path, lambda oc, br: [_chat(oc, "first question"), _chat(oc, "second question")])

    def ask() -> None:
        with pytest.raises(REFUSED):
            _chat(_openai(), "second questions")

    message = _replay_misses(path, ask)
    assert "has no unplayed exchange for openai.chat.completions POST /v1/chat/completions" in message
    assert "closest: exchange #1" in message
    assert "differs at body $.messages[0].content: recorded 'second question', sent 'second questions'" in message


def test_identical_requests_replay_in_recorded_order(server, tmp_path):
    path = tmp_path / "repeat.yaml"
    _record(server, path, lambda oc, br: [_chat(oc, "again") for _ in range(3)] + [_converse(br, "again")])
    client, bedrock = _openai(), _bedrock()
    with use_cassette(path, "none", config=Config()):
        assert [_chat(client, "again") for _ in range(3)] == ["0:again", "1:again", "2:again"]
        assert _converse(bedrock, "again") == "3:again"

    def fourth() -> None:
        for _ in range(3):
            _chat(client, "again")
        with pytest.raises(REFUSED):
            _chat(client, "again")

    assert "already played" in _replay_misses(path, fourth)


def test_a_cassette_replayed_again_in_the_process_answers_the_same_and_follows_its_decoded_exchanges(
    server, tmp_path
):
    """Boto3 answers are built from the decoded exchange once per process; never stale, never shared mutably."""
    path = tmp_path / "twice.yaml"
    _record(server, path, lambda oc, br: [_converse(br, "again") for _ in range(2)])
    bedrock = _bedrock()
    for _ in range(3):  # the second and third loads share the decoded exchanges through the in-process memo
        with use_cassette(path, "none", config=Config()) as cassette:
            assert [_converse(bedrock, "again") for _ in range(2)] == ["0:again", "1:again"]
        assert cassette.play_count == 2
    # a decoded response given a new body (as a test editing a loaded cassette would): the replay serves the new one
    with use_cassette(path, "none", config=Config()) as cassette:
        response = cassette.exchange(1).response
        body = response.body
        value = json.loads(json.dumps(body.value))
        value["output"]["message"]["content"][0]["text"] = "edited"
        response.body = type(body)(body.kind, value)
        try:
            assert [_converse(bedrock, "again") for _ in range(2)] == ["0:again", "edited"]
        finally:
            response.body = body
    with use_cassette(path, "none", config=Config()):
        assert [_converse(bedrock, "again") for _ in range(2)] == ["0:again", "1:again"]


def test_sigv4_dates_and_sdk_telemetry_headers_are_ignored(server, tmp_path):
    path = tmp_path / "sigv4.yaml"
    _record(server, path, lambda oc, br: _converse(br, "signed"))
    text = path.read_text()
    assert "X-Amz-Date" not in text and "amz-sdk-invocation-id" not in text and "Signature=REDACTED" in text
    # other credentials, a session token and another user agent: every signature-related header differs
    other = _bedrock(aws_access_key_id="AKIAOTHERDUMMYKEY123", aws_secret_access_key="other", aws_session_token="tok")
    other.meta.config.user_agent_extra = "replay-test/2"
    with use_cassette(path, "none", config=Config()) as cassette:
        assert _converse(other, "signed") == "0:signed"
    assert cassette.play_count == 1


def test_bedrock_model_ids_match_with_colon_or_percent_3a(server, tmp_path):
    path = tmp_path / "colon.yaml"
    _record(server, path, lambda oc, br: _converse(br, "model id"))
    doc = yaml.safe_load(path.read_text())
    (item,) = doc["interactions"]
    assert "%3A0/converse" in item["request"]["uri"]  # as botocore sent it
    item["request"]["uri"] = item["request"]["uri"].replace("%3A", ":")  # as a hand-written cassette has it
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    with use_cassette(path, "none", config=Config()) as cassette:
        assert _converse(_bedrock(), "model id") == "0:model id"
    assert cassette.play_count == 1


def test_volatile_request_fields_are_ignored(server, tmp_path):
    path = tmp_path / "volatile.yaml"
    _record(server, path, lambda oc, br: _chat(oc, "who", user="alice", metadata={"run": "1"}))
    with pytest.raises(NoMatchError, match="already played"), use_cassette(path, "none", config=Config()):
        assert _chat(_openai(), "who", user="bob", metadata={"run": "2", "shard": "b"}) == "0:who"
        assert _chat_or_miss(_openai(), "who") == "MISS"  # played already: volatile fields never widen a match


def _chat_or_miss(client: Any, prompt: str, **kw: Any) -> str:
    try:
        return _chat(client, prompt, **kw)
    except REFUSED:
        return "MISS"


# ---- the vcrpy matcher path and the index agree -----------------------------------------------------------------

RECORDED = [
    ("chat", "a", {}),
    ("chat", "b", {"temperature": 0.1}),
    ("chat", "a", {}),
    ("converse", "c", {}),
    ("chat", "d", {"tools": [TOOL_A]}),
]
PROBES: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "same order": RECORDED,
    "repeat beyond recorded": [("chat", "a", {}), ("chat", "a", {}), ("chat", "a", {})],
    "key order": [("chat", "d", {"tools": [TOOL_B]})],
    "volatile fields": [("chat", "a", {"user": "zed", "metadata": {"k": "v"}})],
    "different prompt": [("chat", "e", {})],
    "different parameter": [("chat", "b", {"temperature": 0.2})],
    "extra parameter": [("chat", "a", {"temperature": 0.1})],
    "interleaved": [
        ("converse", "c", {}),
        ("chat", "b", {"temperature": 0.1}),
        ("chat", "a", {}),
        ("converse", "c", {}),
    ],
}


def _call(kind: str, prompt: str, kw: dict[str, Any], oc: Any, br: Any) -> str:
    if kind == "chat":
        return _chat_or_miss(oc, prompt, **kw)
    try:
        return _converse(br, prompt)
    except Exception as exc:  # botocore wraps the stub's refusal in its own error types
        if isinstance(exc, NoMatchError) or "has no unplayed exchange" in str(exc) or "cassette" in str(exc).lower():
            return "MISS"
        raise


def _outcomes(run: Callable[[], Any], probe: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    oc, br = _openai(), _bedrock()
    out: list[str] = []
    try:
        with run():
            out = [_call(kind, prompt, kw, oc, br) for kind, prompt, kw in probe]
    except NoMatchError:
        pass
    return out


@pytest.mark.parametrize("probe", list(PROBES))
def test_vcrpy_matcher_and_index_agree(server, tmp_path, probe):
    record = lambda oc, br: [_call(k, p, kw, oc, br) for k, p, kw in RECORDED]  # noqa: E731
    ours = tmp_path / "replaykit.yaml"
    _record(server, ours, record)

    # plain vcrpy: its own cassette format, persister and linear scan; replaykit's key as its only matcher
    rules = Rules(host_map=server.host_map)
    index = IndexedCassette(str(tmp_path / "unused.yaml"), rules=rules)
    plain_vcr = vcr.VCR(match_on=["replaykit"], before_record_request=lambda r: scrub_request(r, rules))
    plain_vcr.register_matcher("replaykit", _keys_equal(index))
    theirs = tmp_path / "vcrpy.yaml"
    server.reset()
    with plain_vcr.use_cassette(str(theirs), record_mode="once"):
        record(_openai(f"{server.base}/v1"), _bedrock(server.base))
    assert "api.openai.com" in theirs.read_text()

    # vcr_matcher is the same comparison packaged for users: it must decide every case the same way
    packaged = vcr.VCR(match_on=["replaykit"])
    packaged.register_matcher("replaykit", vcr_matcher())

    steps = PROBES[probe]
    expected = _outcomes(lambda: plain_vcr.use_cassette(str(theirs), record_mode="none"), steps)
    assert expected and all(o == "MISS" or ":" in o for o in expected)
    assert _outcomes(lambda: packaged.use_cassette(str(theirs), record_mode="none"), steps) == expected
    assert _outcomes(lambda: use_cassette(ours, "none", config=Config()), steps) == expected


def _keys_equal(index: IndexedCassette) -> Callable[[Any, Any], None]:
    """The matcher the issue asks for, literally: two requests match when their IndexedCassette keys are equal."""

    def replaykit(r1: Any, r2: Any) -> None:
        # keys are cached on request objects; vcrpy hands the matcher fresh filtered copies, which carry none
        k1, k2 = index.key(r1), index.key(r2)
        if k1 != k2:
            raise AssertionError(f"{k1} != {k2}")

    return replaykit


# -- vcrpy's stubs are built once per process and swapped in only while a cassette is active -----------------------


def _http_library_attributes() -> dict[str, Any]:
    """What vcrpy patches, as each owner holds it (absent: the owner only inherits it)."""
    import http.client

    import httpx2
    import urllib3.connectionpool as cpool
    from botocore.httpsession import URLLib3Session

    owners = {
        "http.client.HTTPConnection": (http.client, "HTTPConnection"),
        "httpx2.HTTPTransport.handle_request": (httpx2.HTTPTransport, "handle_request"),
        "urllib3 HTTPSConnectionPool._get_conn": (cpool.HTTPSConnectionPool, "_get_conn"),
        "urllib3 HTTPSConnectionPool.ConnectionCls": (cpool.HTTPSConnectionPool, "ConnectionCls"),
        "botocore URLLib3Session.send": (URLLib3Session, "send"),
    }
    return {label: vars(owner).get(name, "absent") for label, (owner, name) in owners.items()}


def test_outside_cassettes_the_http_libraries_are_the_real_ones_again(server, tmp_path):
    path = tmp_path / "real-again.yaml"
    before = _http_library_attributes()
    _record(server, path, lambda oc, br: [_chat(oc, "real"), _converse(br, "real")])
    for _ in range(2):
        with use_cassette(path, "none", config=Config()):
            inside = _http_library_attributes()
            assert _chat(_openai(), "real") == "0:real"
            assert _converse(_bedrock(), "real") == "1:real"
        assert all(inside[label] is not before[label] for label in before), inside
        assert _http_library_attributes() == before
    # and the network works as usual outside every cassette: the local server answers directly
    server.reset()
    assert _chat(_openai(f"{server.base}/v1"), "live") == "0:live"
    assert _converse(_bedrock(server.base), "live") == "1:live"


def test_a_client_shared_across_cassettes_talks_to_the_real_host_outside_them(server, tmp_path):
    """A client the tests share keeps pooled connections across cassettes; outside every cassette they are real."""
    openai_client, bedrock = _openai(f"{server.base}/v1"), _bedrock(server.base)
    server.reset()
    with use_cassette(tmp_path / "shared.yaml", "once", config=Config(), host_map=server.host_map):
        assert _chat(openai_client, "inside") == "0:inside"
        assert _converse(bedrock, "inside") == "1:inside"
    for _ in range(2):  # outside: the local server answers, through the connections the cassette left pooled
        server.reset()
        assert _chat(openai_client, "outside") == "0:outside"
        assert _converse(bedrock, "outside") == "1:outside"
        with use_cassette(tmp_path / "shared.yaml", "none", config=Config()):
            assert _converse(_bedrock(), "inside") == "1:inside"


def test_nested_cassettes_answer_from_the_innermost_then_the_outer_again(server, tmp_path):
    outer_path, inner_path = tmp_path / "outer.yaml", tmp_path / "inner.yaml"
    _record(server, outer_path, lambda oc, br: [_chat(oc, "outer"), _converse(br, "outer"), _chat(oc, "outer")])
    _record(server, inner_path, lambda oc, br: [_chat(oc, "inner"), _converse(br, "inner")])
    client, bedrock = _openai(), _bedrock()
    with use_cassette(outer_path, "none", config=Config()) as outer:
        assert _chat(client, "outer") == "0:outer"
        with use_cassette(inner_path, "none", config=Config()) as inner:
            assert _chat(client, "inner") == "0:inner"
            assert _converse(bedrock, "inner") == "1:inner"
        assert _converse(bedrock, "outer") == "1:outer"
        assert _chat(client, "outer") == "2:outer"
    assert (outer.play_count, inner.play_count) == (3, 2)

    # inside the inner cassette only the inner one answers, as with vcrpy's own nesting
    with use_cassette(outer_path, "none", config=Config()), pytest.raises(NoMatchError):  # noqa: SIM117
        with use_cassette(inner_path, "none", config=Config()):
            _chat(client, "outer")


def test_stubs_are_built_once_for_many_cassettes(server, tmp_path, monkeypatch):
    from vcr.patch import CassettePatcherBuilder

    path = tmp_path / "built-once.yaml"
    _record(server, path, lambda oc, br: [_chat(oc, "once"), _converse(br, "once")])
    builds: list[int] = []
    real_build = CassettePatcherBuilder.build

    def build(self: Any) -> Any:
        builds.append(1)
        return real_build(self)

    monkeypatch.setattr(CassettePatcherBuilder, "build", build)
    for _ in range(3):
        with use_cassette(path, "none", config=Config()):
            assert _chat(_openai(), "once") == "0:once"
            assert _converse(_bedrock(), "once") == "1:once"
    assert builds == []


def test_a_cassettes_own_custom_patches_apply_inside_it_only(server, tmp_path):
    import types

    path = tmp_path / "custom.yaml"
    _record(server, path, lambda oc, br: _chat(oc, "custom"))
    owner = types.SimpleNamespace(hook="real")
    with use_cassette(path, "none", config=Config(), custom_patches=((owner, "hook", "patched"),)):
        assert owner.hook == "patched"
        assert _chat(_openai(), "custom") == "0:custom"
    assert owner.hook == "real"
