"""The match index: keys agree between live and recorded requests, queues replay repeats in order, misses explain."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vcr.request import Request as VcrRequest

from replaykit.cassette import matching
from replaykit.cassette.hooks import Call, CassetteHooks
from replaykit.cassette.index import IndexedCassette
from replaykit.cassette.matching import body_digest, request_key
from replaykit.cassette.persister import LazyResponse, RecordedRequest
from replaykit.errors import NoMatchError
from replaykit.exchange import Body, Exchange, Request, Response
from replaykit.scrub import sanitize
from replaykit.scrub.sanitize import Rules, scrub_request

CHAT = "https://api.openai.com/v1/chat/completions"


def _live(body: dict | bytes | None, uri: str = CHAT, method: str = "POST", headers: dict | None = None) -> VcrRequest:
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    return VcrRequest(method, uri, raw, headers or {"Content-Type": "application/json"})


def _exchange(i: int, prompt: str, uri: str = CHAT) -> Exchange:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]}
    return Exchange(
        i,
        "openai.chat.completions",
        Request("POST", uri, {"Content-Type": ["application/json"]}, Body("json", body)),
        Response(200, "OK", {"Content-Type": ["application/json"]}, Body("json", {"id": f"resp-{i}"})),
    )


def _cassette(exchanges: list[Exchange], **kw) -> IndexedCassette:
    rules = kw.pop("rules", Rules())
    kw.setdefault("before_record_request", lambda r: scrub_request(r, rules))
    cassette = IndexedCassette("/nonexistent/cassette.yaml", rules=rules, record_mode="none", **kw)
    cassette.load_recorded([RecordedRequest(ex) for ex in exchanges], [LazyResponse(ex) for ex in exchanges])
    cassette.loaded_count = len(cassette.data)
    cassette.rewound = True
    return cassette


def _ask(cassette: IndexedCassette, prompt: str, **extra) -> str | None:
    request = _live({"messages": [{"role": "user", "content": prompt}], "model": "gpt-4o-mini", **extra})
    try:
        if not cassette.can_play_response_for(request):
            return None
    except NoMatchError:
        return None
    return cassette.play_response(request).exchange.response.body.value["id"]


def test_identical_requests_replay_in_recorded_order_then_miss():
    cassette = _cassette([_exchange(0, "a"), _exchange(1, "b"), _exchange(2, "a"), _exchange(3, "a")])
    assert [_ask(cassette, "a") for _ in range(3)] == ["resp-0", "resp-2", "resp-3"]
    assert _ask(cassette, "b") == "resp-1"
    assert _ask(cassette, "a") is None
    assert "already played" in str(cassette.misses[-1])


def test_rewind_and_playback_repeats():
    cassette = _cassette([_exchange(0, "a"), _exchange(1, "a")])
    assert [_ask(cassette, "a") for _ in range(2)] == ["resp-0", "resp-1"]
    cassette.rewind()
    assert _ask(cassette, "a") == "resp-0"
    cassette.play_counts = type(cassette.play_counts)()  # replaced from outside: the cursor must notice
    assert _ask(cassette, "a") == "resp-0"
    repeats = _cassette([_exchange(0, "a"), _exchange(1, "a")], allow_playback_repeats=True)
    assert [_ask(repeats, "a") for _ in range(3)] == ["resp-0", "resp-0", "resp-0"]


def test_before_send_answer_does_not_consume_the_exchange():
    injected = {"status": {"code": 500, "message": "boom"}, "headers": {}, "body": {"string": b""}}
    calls: list[Call] = []

    def before_send(call: Call) -> dict | None:
        calls.append(call)
        return injected if len(calls) == 1 else None

    cassette = _cassette([_exchange(0, "a")], hooks=CassetteHooks().subscribe(before_send=before_send))
    first = _live({"messages": [{"role": "user", "content": "a"}], "model": "gpt-4o-mini"})
    assert cassette.can_play_response_for(first) and cassette.play_response(first) is injected
    retry = _live({"messages": [{"role": "user", "content": "a"}], "model": "gpt-4o-mini"})
    assert cassette.play_response(retry).exchange.index == 0
    assert cassette.play_counts[0] == 1
    # each request is decided once, however often vcrpy asks (urllib3 asks from connect() and getresponse())
    assert len(calls) == 2 and calls[0].operation == "openai.chat.completions" and calls[0].index == 0


def test_a_miss_raises_no_match_error_with_its_context():
    cassette = _cassette([_exchange(0, "a")])
    request = _live({"messages": [{"role": "user", "content": "z"}], "model": "gpt-4o-mini"})
    with pytest.raises(NoMatchError) as info:
        cassette.can_play_response_for(request)
    err = info.value
    assert err.operation == "openai.chat.completions" and err.closest_index == 0
    assert err.diffs and err.diffs[0].startswith("body $.messages[0].content")
    assert err.fix_mode == "rewrite" and cassette.misses == [err]
    with pytest.raises(NoMatchError):  # asked again (urllib3's connect, then getresponse): the same miss, once
        cassette.can_play_response_for(request)
    assert len(cassette.misses) == 1


def test_volatile_fields_and_key_order_do_not_matter():
    cassette = _cassette([_exchange(0, "a")], ignore_fields=("seed",))
    request = _live(
        {
            "model": "gpt-4o-mini",
            "user": "u-123",
            "metadata": {"run": "7"},
            "seed": 4,
            "messages": [{"content": "a", "role": "user"}],
        }
    )
    assert cassette.can_play_response_for(request)


def test_hooks_run_once_per_request_and_are_reused_by_append():
    seen = []

    def hook(request):
        seen.append(request)
        return scrub_request(request, Rules())

    cassette = _cassette([], before_record_request=hook)
    cassette.record_mode = "once"
    cassette.rewound = False
    request = _live({"messages": [], "model": "m"})
    assert not cassette.can_play_response_for(request)
    cassette.append(request, {"status": {"code": 200, "message": "OK"}, "headers": {}, "body": {"string": b"{}"}})
    assert len(seen) == 1 and len(cassette.data) == 1
    assert cassette.data[0][0] is not request  # the filtered copy is stored, never the live request


def test_hook_dropping_a_request_is_never_recorded():
    cassette = _cassette([], before_record_request=lambda r: None)
    request = _live({"a": 1})
    assert not cassette.can_play_response_for(request)
    cassette.append(request, {"status": {"code": 200, "message": "OK"}, "headers": {}, "body": {"string": b""}})
    assert cassette.data == []


def test_miss_names_the_closest_exchange_and_the_json_path():
    exchanges = [_exchange(i, f"prompt number {i}") for i in range(50)]
    exchanges.append(_exchange(50, "the one that differs only in temperature"))
    exchanges[50].request.body.value["temperature"] = 0.5
    cassette = _cassette(exchanges)
    assert _ask(cassette, "the one that differs only in temperature", temperature=0.7) is None
    (miss,) = cassette.misses
    message = str(miss)
    assert "closest: exchange #50" in message
    assert "body $.temperature: recorded 0.5, sent 0.7" in message
    assert "messages" not in message.split("closest", 1)[1]  # only the field that differs


def test_miss_message_never_echoes_a_secret_from_the_request():  # the diff compares scrubbed bodies
    cassette = _cassette([_exchange(0, "hello")])
    secret = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2"
    assert _ask(cassette, f"hello {secret}") is None
    assert secret not in str(cassette.misses[0])
    assert "sk-REDACTED" in str(cassette.misses[0])


def test_a_recorded_scrubbed_secret_still_matches_the_live_request_carrying_it():
    secret = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2"
    cassette = _cassette([_exchange(0, "key is sk-REDACTED")])
    assert _ask(cassette, f"key is {secret}") == "resp-0"


def test_new_and_rerecorded_interactions_are_computed_by_key():
    cassette = _cassette([_exchange(0, "a"), _exchange(1, "b")])
    cassette.record_mode = "all"
    fresh = _live({"messages": [{"role": "user", "content": "a"}], "model": "gpt-4o-mini"})
    other = _live({"messages": [{"role": "user", "content": "c"}], "model": "gpt-4o-mini"})
    for request in (fresh, other):
        cassette.append(request, {"status": {"code": 200, "message": "OK"}, "headers": {}, "body": {"string": b"{}"}})
    assert [cassette.key(r) for r, _ in cassette.new_interactions()] == [cassette.key(cassette.data[3][0])]
    kept = cassette.rerecorded_interactions()
    assert len(kept) == 3 and kept[0][0].exchange.index == 1  # "a" replaced, "b" kept, then the two new ones


def test_text_and_base64_bodies_digest_by_bytes():
    data = "line\x01with a control char"
    assert body_digest(data, "text") == body_digest(data.encode().hex(), "bytes")
    import base64

    recorded = RecordedRequest(
        Exchange(
            0,
            "s3.PutObject",
            Request("PUT", "https://b.s3.amazonaws.com/k", {}, Body("base64", base64.b64encode(data.encode()))),
            Response(200),
        )
    )
    live = VcrRequest("PUT", "https://b.s3.amazonaws.com/k", data.encode(), {})
    assert request_key(recorded) == request_key(live)


def test_bedrock_model_id_colon_and_percent_3a_are_one_key():
    base = "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1"
    body = {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}
    a = request_key(_live(body, f"{base}%3A0/converse"))
    b = request_key(_live(body, f"{base}:0/converse"))
    assert a == b and a.operation == "bedrock-runtime.Converse"


def test_vcr_matcher_agrees_with_the_index_and_explains():
    matcher = matching.vcr_matcher()
    recorded = RecordedRequest(_exchange(0, "a"))
    same = _live({"messages": [{"content": "a", "role": "user"}], "model": "gpt-4o-mini", "user": "x"})
    matcher(same, recorded)
    with pytest.raises(AssertionError, match=r"body \$\.messages\[0\]\.content: recorded 'a', sent 'b'"):
        matcher(_live({"messages": [{"content": "b", "role": "user"}], "model": "gpt-4o-mini"}), recorded)


# ---- a live body is scrubbed only when its key as sent finds nothing ------------------------------------------


def _count_scrubs(monkeypatch) -> list[object]:
    """Body scrubs for keys (the request hook's URI and header scrubbing is not what this is about)."""
    calls: list[object] = []
    real = matching.scrub_for_key
    monkeypatch.setattr(matching, "scrub_for_key", lambda v, rules=None: calls.append(v) or real(v, rules))
    return calls


def test_clean_requests_are_never_scrubbed_on_the_hot_path(monkeypatch):
    cassette = _cassette([_exchange(i, f"p{i}") for i in range(20)])
    calls = _count_scrubs(monkeypatch)
    assert [_ask(cassette, f"p{i}") for i in range(20)] == [f"resp-{i}" for i in range(20)]
    assert calls == []


def test_a_secret_in_the_request_is_scrubbed_then_matched(monkeypatch):
    secret = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2"
    recorded = sanitize.scrub_string(f"key is {secret}")
    assert secret not in recorded
    cassette = _cassette([_exchange(0, recorded)])
    calls = _count_scrubs(monkeypatch)
    assert _ask(cassette, f"key is {secret}") == "resp-0"
    assert calls  # the key as sent missed, the scrubbed one matched


def test_a_hand_written_cassette_holding_the_raw_value_still_matches():
    # not something replaykit writes (its writer scrubs, its scanner refuses survivors), but plain vcrpy and
    # hand-edited cassettes exist: the request as sent matches what they hold
    secret = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2"
    cassette = _cassette([_exchange(0, f"key is {secret}")])
    assert _ask(cassette, f"key is {secret}") == "resp-0"


def test_user_rules_apply_to_the_live_body():
    rules = Rules(regex=((re.compile(r"ticket-\d+"), "ticket-N"),))
    cassette = _cassette([_exchange(0, "see ticket-N")], rules=rules)
    assert _ask(cassette, "see ticket-42") == "resp-0"


_text = st.text(alphabet=st.sampled_from(list("abcsSkKI-_=:/+ AZ019eyJBearerSignature")), max_size=40)
SECRET_SHAPES = [
    "AKIAIOSFODNN7EXAMPLE",
    "sk-proj-abcdefghijklmnop1234",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTYifQ.SflKxwRJSMeKKF2QT4fwpMeJf36",
    "Bearer abcdefghijklmnop1234",
    "arn:aws:iam::123456789012:role/x",
]
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | _text | st.sampled_from(SECRET_SHAPES),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(_text | st.sampled_from(["password", "apiKey"]), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_text, _json, min_size=1, max_size=4))
def test_any_body_matches_the_exchange_recorded_from_it(body):
    # what the recorder writes for this body: scrubbed
    recorded = Exchange(
        0,
        "openai.chat.completions",
        Request("POST", CHAT, {}, Body("json", sanitize.scrub_value(body))),
        Response(200, "OK", {}, Body("json", {"id": "resp-0"})),
    )
    cassette = _cassette([recorded])
    request = _live(body)
    assert cassette.can_play_response_for(request)
    raw, scrubbed = matching.live_keys(request)
    assert scrubbed() == cassette.key(RecordedRequest(recorded))
    if sanitize.scrub_value(body) == body:
        assert raw == scrubbed()


def _counting_scrub(rules: Rules) -> tuple[list[object], object]:
    seen: list[object] = []

    def hook(request):
        seen.append(request)
        return scrub_request(request, rules)

    return seen, hook


def test_match_as_sent_answers_a_clean_request_without_running_the_request_hooks():
    seen, hook = _counting_scrub(Rules())
    cassette = _cassette([_exchange(i, f"p{i}") for i in range(5)], before_record_request=hook, match_as_sent=True)
    assert [_ask(cassette, f"p{i}") for i in range(5)] == [f"resp-{i}" for i in range(5)]
    assert seen == []
    assert _ask(cassette, "p0") is None  # played already: the full path runs and explains the miss
    assert len(seen) == 1 and "already played" in str(cassette.misses[-1])


def test_match_as_sent_still_scrubs_a_request_whose_uri_carries_a_secret():
    # a presigned-style query holds a signature: as sent it keys differently from the stored (scrubbed) URI
    rules = Rules()
    signed = CHAT + "?X-Amz-Signature=" + "ab12" * 16
    stored = scrub_request(_live({"x": 1}, uri=signed), rules).uri
    assert stored != signed
    seen, hook = _counting_scrub(rules)
    cassette = _cassette([_exchange(0, "a", uri=stored)], before_record_request=hook, match_as_sent=True)
    assert _ask_uri(cassette, "a", signed) == "resp-0"
    assert len(seen) == 1  # the key as sent missed; the hooks ran and the scrubbed URI matched


def test_without_match_as_sent_every_request_goes_through_the_hooks():
    # a user's before_record_request may drop or rewrite anything: the key as sent is never trusted then
    seen, hook = _counting_scrub(Rules())
    cassette = _cassette([_exchange(0, "a")], before_record_request=hook)
    assert _ask(cassette, "a") == "resp-0"
    assert len(seen) == 1
    dropping = _cassette([_exchange(0, "a")], before_record_request=lambda r: None)
    assert _ask(dropping, "a") is None  # dropped by the hook: vcrpy leaves it alone, the cassette never answers


def _ask_uri(cassette: IndexedCassette, prompt: str, uri: str) -> str | None:
    request = _live({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]}, uri=uri)
    if not cassette.can_play_response_for(request):
        return None
    return cassette.play_response(request).exchange.response.body.value["id"]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, True),
        ({"filter_headers": ["authorization"], "filter_query_parameters": ["key"]}, True),
        ({"before_record_request": lambda r: r}, False),
        ({"ignore_hosts": ["api.openai.com"]}, False),
        ({"ignore_localhost": True}, False),
    ],
)
def test_vcrpy_chains_that_only_rewrite_allow_matching_as_sent(options, expected):
    from vcr import VCR

    from replaykit.cassette._vcr import rewrites_only

    assert rewrites_only(VCR(), options) is expected
    assert rewrites_only(VCR(**options), {}) is expected  # set on the VCR (vcr_config) or per marker alike
