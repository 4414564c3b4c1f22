"""Property tests of the secret scanner: planted real-shaped secrets are found where they are; benign data is not."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import uuid
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import secret_samples
from replaykit.scrub import patterns as P
from replaykit.scrub.scanner import PLACEHOLDERS, fingerprint_secret, scan_cassette_data, scan_value

LIVE_RULES = [r.id for r in P.RULES if r.id not in ("high-entropy-header", "detect-secrets")]
KEYS = ["data", "items", "message", "content", "choices", "delta", "text", "meta", "usage", "output", "result",
        "value", "config", "extra", "notes", "tags", "input", "messages", "toolUse", "contentBlockDelta"]
WORDS = ("the model returned a short answer about Paris and the weather in San Francisco while the user asked "
         "for a summary of quarterly results with three bullet points please keep it brief thanks").split()
MODEL_IDS = ["anthropic.claude-3-haiku-20240307-v1:0", "us.amazon.nova-micro-v1:0", "gpt-4o-mini-2024-07-18",
             "amazon.titan-embed-text-v2:0", "us.anthropic.claude-sonnet-4-20250514-v1:0", "text-embedding-3-small"]
BENIGN_HEADERS = ["ETag", "x-amzn-RequestId", "Date", "Content-Type", "x-request-id", "x-amz-id-2", "cf-ray",
                  "x-correlation-id", "x-trace", "openai-processing-ms"]
SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _benign_leaf(rng: random.Random) -> Any:
    kind = rng.randrange(12)
    if kind == 0:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if kind == 1:
        return "req_" + rng.randbytes(16).hex()
    if kind == 2:
        return '"' + hashlib.sha256(rng.randbytes(8)).hexdigest() + '"'
    if kind == 3:
        return rng.choice(MODEL_IDS)
    if kind == 4:
        day = f"20{rng.randrange(10, 30)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        return f"{day}T12:{rng.randrange(60):02d}:00Z"
    if kind == 5:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randrange(3, 30))).capitalize() + "."
    if kind == 6:
        return rng.choice([rng.randrange(10**6), rng.random(), True, None])
    if kind == 7:
        return rng.choice(list(PLACEHOLDERS.values()))
    if kind == 8:
        return base64.b64encode(" ".join(rng.choice(WORDS) for _ in range(8)).encode()).decode()
    if kind == 9:
        return f"https://bedrock-runtime.us-east-1.amazonaws.com/model/{quote(rng.choice(MODEL_IDS), safe='')}/converse"
    if kind == 10:
        return "chatcmpl-" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz") for _ in range(29))
    return f"arn:aws:bedrock:us-east-1:{rng.choice(['000000000000', '123456789012'])}:guardrail/abc"


def _benign_tree(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth >= 4 or roll < 0.35:
        return _benign_leaf(rng)
    if roll < 0.7:
        return {k: _benign_tree(rng, depth + 1) for k in rng.sample(KEYS, rng.randrange(1, 5))}
    if roll < 0.85:
        return {"headers": {h: [str(_benign_leaf(rng))] for h in rng.sample(BENIGN_HEADERS, rng.randrange(1, 4))}}
    return [_benign_tree(rng, depth + 1) for _ in range(rng.randrange(0, 4))]


def _wrap(planted: str, how: str) -> tuple[str, tuple[str, ...]]:
    """The string to store and the location suffixes the finding may carry."""
    if how == "base64":
        return base64.b64encode(planted.encode()).decode(), ("<base64>",)
    if how == "url":
        return quote(planted, safe=""), ("", "<url>")
    if how == "url-query":
        return f"https://api.example.com/v1/callback?q={quote(planted, safe='')}&page=2", ("", "<url>")
    if how == "prose":
        return f"Sure! Here it is: {planted} and that is all.", ("",)
    return planted, ("",)


def _plant(value: Any, path: list[tuple[str, Any]], rng: random.Random, as_key: bool) -> tuple[Any, str]:
    """Nest ``value`` along ``path`` among benign siblings; returns the document and the value's location."""
    if as_key:
        siblings = rng.sample(KEYS, rng.randrange(0, 4))
        index = rng.randrange(len(siblings) + 1)
        items = [(k, _benign_leaf(rng)) for k in siblings]
        items.insert(index, (value, _benign_leaf(rng)))
        node: Any = dict(items)
        suffix = f".{{key #{index}}}"
    else:
        node, suffix = value, ""
    loc_parts: list[str] = []
    for kind, step in reversed(path):
        if kind == "k":
            others = [k for k in rng.sample(KEYS, rng.randrange(0, 3)) if k != step]
            node = {**{k: _benign_tree(rng, 3) for k in others}, step: node}
            loc_parts.append(f".{step}")
        else:
            after = [_benign_leaf(rng) for _ in range(rng.randrange(2))]
            node = [_benign_leaf(rng) for _ in range(step)] + [node] + after
            loc_parts.append(f"[{step}]")
    location = "doc" + "".join(reversed(loc_parts)) + suffix
    return node, location


# a seeded stdlib Random: the samples draw hundreds of characters, too many for hypothesis' own randoms()
_rngs = st.integers(0, 2**64 - 1).map(random.Random)
_paths = st.lists(st.one_of(st.tuples(st.just("k"), st.sampled_from(KEYS)),
                            st.tuples(st.just("i"), st.integers(0, 3))), max_size=6)


@SETTINGS
@given(rule=st.sampled_from(LIVE_RULES), rng=_rngs, path=_paths,
       how=st.sampled_from(["plain", "prose", "base64", "url", "url-query", "key"]))
def test_planted_secret_is_found_exactly_at_its_location(rule: str, rng: random.Random, path: list, how: str) -> None:
    secret = secret_samples.sample_secret(rule, rng)
    stored, suffixes = _wrap(secret_samples.sample_in_context(rule, secret), "plain" if how == "key" else how)
    doc, location = _plant(stored, path, rng, as_key=how == "key")

    findings = scan_value(doc, location="doc")

    assert len(findings) == 1, [(f.rule, f.location) for f in findings]
    (finding,) = findings
    assert finding.rule == rule
    assert finding.fingerprint == fingerprint_secret(secret)
    assert finding.location in {location + s for s in suffixes}
    assert secret not in json.dumps(finding.to_dict())


@SETTINGS
@given(rule=st.sampled_from(LIVE_RULES), rng=_rngs,
       exchange=st.integers(0, 3), side=st.sampled_from(["request", "response"]))
def test_planted_secret_in_a_header_of_a_cassette(rule: str, rng: random.Random, exchange: int, side: str) -> None:
    secret = secret_samples.sample_secret(rule, rng)
    interactions = [{"request": {"uri": "https://api.openai.com/v1/chat/completions", "headers": {}},
                     "response": {"headers": {"Content-Type": ["application/json"]}}} for _ in range(4)]
    interactions[exchange][side]["headers"]["x-note"] = [secret_samples.sample_in_context(rule, secret)]

    findings = scan_cassette_data({"version": 1, "interactions": interactions}, file="c.yaml")

    assert [(f.rule, f.location, f.exchange, f.fingerprint) for f in findings] == [
        (rule, f"interactions[{exchange}].{side}.headers.x-note[0]", exchange, fingerprint_secret(secret))]


@SETTINGS
@given(rng=_rngs, benign=st.booleans())
def test_high_entropy_token_only_in_unknown_headers(rng: random.Random, benign: bool) -> None:
    token = secret_samples.sample_secret("high-entropy-header", rng)
    name = rng.choice(BENIGN_HEADERS[:7]) if benign else rng.choice(["x-upstream", "x-custom-thing", "x-trace-extra"])
    findings = scan_value({"headers": {name: [token]}})
    if benign:
        assert findings == []
    else:
        # 95% of random 24-char tokens reach the entropy threshold; longer ones always do
        assert [f.location for f in findings] in ([f"headers.{name}[0]"], []) if len(token) < 32 else \
            [f.location for f in findings] == [f"headers.{name}[0]"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rng=_rngs)
def test_benign_documents_have_no_findings(rng: random.Random) -> None:
    doc = _benign_tree(rng)
    assert scan_value(doc) == []
    assert scan_value(json.dumps(doc)) == []
