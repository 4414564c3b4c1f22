"""Rule coverage and precision (issue #13): each listed leak is found and scrubbed; each false positive stays."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import secret_samples
from replaykit.exchange import Body, Exchange, Request, Response
from replaykit.scrub import patterns as P
from replaykit.scrub.sanitize import scrub_exchange, scrub_headers, scrub_string, scrub_value
from replaykit.scrub.scanner import scan_text, scan_value

RNG = random.Random(1313)
HEX32 = "".join(RNG.choice("0123456789abcdef") for _ in range(32))
UUID = "3f6c2a9e-8d41-4b7a-9c0e-5f2d8a1b7e64"
B62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
AWS_SECRET = "".join(RNG.choice(B62) for _ in range(38)) + "/k"
AKID = "AKIA" + "Q7ZX2PLMN4R8T0V1"  # digits 0, 1, 8 are outside base32: the looser shape gitleaks flags
ACCOUNT = "731946285014"


# ---- leaks that must be found and scrubbed -----------------------------------------------------------------


@pytest.mark.parametrize("key", ["clientSecret", "accessToken", "apiSecret", "userPassword", "db_password",
                                 "DB-PASSWORD", "x-api-key", "githubToken", "privateKey", "SSECustomerKey"])
def test_credential_key_names_in_any_casing(key: str) -> None:
    doc = {"config": {key: "Zq81-h2Lr9x0TvMw", "name": "prod"}}
    assert [f.rule for f in scan_value(doc)] == ["credential-field"]
    scrubbed = scrub_value(doc)
    assert scrubbed["config"][key] == "REDACTED" and scrubbed["config"]["name"] == "prod"
    assert scan_value(scrubbed) == []


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Ocp-Apim-Subscription-Key", HEX32),
        ("DD-API-KEY", HEX32),
        ("X-Auth-Key", HEX32),
        ("X-Api-Token", UUID),
        ("x-amz-meta-apikey", HEX32),
        ("CF-Access-Client-Secret", HEX32),
        ("X-Session-Token", UUID),
    ],
)
def test_credential_header_names_whatever_the_value_shape(header: str, value: str) -> None:
    assert [f.rule for f in scan_value({"headers": {header: [value]}})] == ["credential-field"]
    out = scrub_headers({header: [value]}, request=False)
    assert out == {header: ["REDACTED"]}


@pytest.mark.parametrize(
    "header",
    ["x-amzn-bedrock-input-token-count", "x-amz-server-side-encryption-aws-kms-key-id",
     "x-amz-server-side-encryption-customer-key-md5", "x-amz-server-side-encryption-bucket-key-enabled",
     "x-ratelimit-remaining-tokens", "x-amz-meta-sha256"],
)
def test_header_names_that_hold_counts_ids_flags_and_digests_are_kept(header: str) -> None:
    value = "12"
    assert scrub_headers({header: [value]}, request=False) == {header: [value]}
    assert not P.is_credential_header(header)


def test_basic_credentials_outside_authorization() -> None:
    token = secret_samples.sample_secret("basic-auth", RNG)
    headers = {"X-Forwarded-Authorization": [f"Basic {token}"], "X-Note": [f"upstream said Basic {token}"]}
    assert [f.rule for f in scan_value({"headers": headers})] == ["basic-auth", "basic-auth"]
    out = scrub_headers(headers, request=False)
    assert out["X-Forwarded-Authorization"] == ["REDACTED"]
    assert out["X-Note"] == ["upstream said Basic REDACTED"]


@pytest.mark.parametrize("password", ["pw", "hunter2!", "Zq81-h2Lr9x0"])
def test_url_userinfo_password(password: str) -> None:
    text = f"connect to postgres://app:{password}@db.internal:5432/prod now"
    assert [f.rule for f in scan_text(text)] == ["url-userinfo"]
    assert scrub_string(text) == "connect to postgres://app:REDACTED@db.internal:5432/prod now"


@pytest.mark.parametrize(
    "layout",
    [
        "the key id is {akid} and the secret is {secret}, rotate them",
        "Access key ID,Secret access key\n{akid},{secret}\n",
        "User name,Password,Access key ID,Secret access key\nci,,{akid},{secret}",
    ],
)
def test_aws_secret_next_to_a_key_id_in_any_layout(layout: str) -> None:
    text = layout.format(akid=AKID, secret=AWS_SECRET)
    assert {f.rule for f in scan_text(text)} == {"aws-access-key-id", "aws-secret-near-key-id"}
    cleaned = scrub_string(text)
    assert AWS_SECRET not in cleaned and AKID not in cleaned
    assert scan_text(cleaned) == []


@pytest.mark.parametrize(
    "text",
    [
        f"User is not authorized: account {ACCOUNT} has no access",
        f"Account ID: {ACCOUNT}",
        f"s3://logs-{ACCOUNT}-us-east-1/2024/",
        f"https://sagemaker-us-east-1-{ACCOUNT}.s3.amazonaws.com/x",
        f"bucket cdk-hnb659fds-assets-{ACCOUNT}-eu-west-1 not found",
    ],
)
def test_account_ids_outside_arns(text: str) -> None:
    assert [f.rule for f in scan_text(text)] == ["aws-account-id"]
    assert ACCOUNT not in scrub_string(text)


@pytest.mark.parametrize("header", ["x-amzn-account", "X-Account-Id", "x-amz-account-id"])
def test_account_headers(header: str) -> None:
    assert [f.rule for f in scan_value({"headers": {header: [ACCOUNT]}})] == ["aws-account-id"]
    assert scrub_headers({header: [ACCOUNT]}, request=False) == {header: ["000000000000"]}


@pytest.mark.parametrize("akid", [AKID, "A3TQ" + "Q7ZX2PLMN4R8T0V1", "ASIA0123Q7ZX2PLMN4R8"])
def test_access_key_ids_in_the_breadth_other_scanners_flag(akid: str) -> None:
    assert [f.rule for f in scan_text(f"id={akid}")] == ["aws-access-key-id"]
    assert akid not in scrub_string(f"id={akid}")


@pytest.mark.parametrize("escape", ["\\n", "\\t", "\\r", "\\\\n"])
def test_secret_right_after_a_json_escape_in_unparsed_text(escape: str) -> None:
    arguments = '{"code": "line1' + escape + AKID + '"}'
    assert [f.rule for f in scan_text(arguments)] == ["aws-access-key-id"]
    assert AKID not in scrub_string(arguments)


@pytest.mark.parametrize(
    "rule", ["slack-token", "stripe-key", "huggingface-token", "npm-token", "google-oauth-token"]
)
def test_new_token_families(rule: str) -> None:
    token = secret_samples.sample_secret(rule, RNG)
    text = f"config: {token}\n"
    assert [f.rule for f in scan_text(text)] == [rule]
    cleaned = scrub_string(text)
    assert token not in cleaned and scan_text(cleaned) == []


# ---- precision: each listed false positive replays unchanged -------------------------------------------------

GIT_SHA = "9fceb02d0ae598e95dc970b74767f19372d61af8"
PRECISION_TEXT = [
    "You inherit the standard bearer responsibilities of the team.",
    "see https://example.org/docs/sk-learn-compatible-estimators/index.html",
    "model=sk-2024-finetuned-support-bot-v3",
    "account_id: 202401011230",
]


@pytest.mark.parametrize("text", PRECISION_TEXT)
def test_precision_text_unchanged(text: str) -> None:
    assert scrub_string(text) == text
    assert scan_text(text) == []


@pytest.mark.parametrize(
    "doc",
    [
        {"secret": GIT_SHA},
        {"account_id": "202401011230"},
        {"model": "sk-2024-finetuned-support-bot-v3"},
        {"text": "the standard bearer responsibilities"},
        {"NextToken": "eyJ2IjoxLCJwIjoiMTIzNDU2Nzg5MCJ9aGVsbG8gd29ybGQ", "maxTokens": 512, "Key": "a/b.txt"},
    ],
)
def test_precision_json_unchanged(doc: dict[str, object]) -> None:
    assert scrub_value(doc) == doc
    assert scan_value(doc) == []


def test_precision_digest_header_unchanged() -> None:
    headers = {
        "x-amz-meta-sha256": ["n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="],
        "Content-MD5": ["rL0Y20zC+Fzt72VPzMSk2A=="],
    }
    assert scrub_headers(headers, request=False) == headers
    assert scan_value({"headers": headers}) == []


def test_checksums_recomputed_when_the_body_was_scrubbed() -> None:
    leak = secret_samples.sample_secret("github-token", RNG)
    dirty_bytes = f"token {leak}".encode()
    headers = {
        "x-amz-checksum-crc32": ["AAAAAA=="],
        "x-amz-checksum-xxhash64": ["AAAAAAAAAAA="],  # an algorithm replaykit cannot compute: dropped
        "Content-MD5": ["rL0Y20zC+Fzt72VPzMSk2A=="],
        "ETag": [f'"{hashlib.md5(dirty_bytes).hexdigest()}"'],
    }
    req = Request("GET", "https://b.s3.amazonaws.com/k", {}, Body("empty"))
    dirty = Exchange(0, "s3.GetObject", req, Response(200, "OK", dict(headers), Body("text", f"token {leak}")))
    clean = Exchange(0, "s3.GetObject", req, Response(200, "OK", dict(headers), Body("text", "nothing here")))
    scrubbed = scrub_exchange(dirty).response
    served = scrubbed.body.value.encode()
    assert served != dirty_bytes
    assert scrubbed.headers == {
        "x-amz-checksum-crc32": [base64.b64encode((zlib.crc32(served) & 0xFFFFFFFF).to_bytes(4, "big")).decode()],
        "Content-MD5": [base64.b64encode(hashlib.md5(served).digest()).decode()],
        "ETag": [f'"{hashlib.md5(served).hexdigest()}"'],
    }
    assert scrub_exchange(clean).response.headers == headers


# ---- properties: casings, separators and escapes -------------------------------------------------------------

RNGS = st.integers(0, 2**64 - 1).map(random.Random)
PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WORDS = st.sampled_from([("client", "secret"), ("access", "token"), ("api", "secret"), ("user", "password"),
                         ("db", "password"), ("auth", "token"), ("private", "key"), ("refresh", "token")])


def _style(words: tuple[str, ...], style: int, prefix: str) -> str:
    parts = ([prefix] if prefix else []) + list(words)
    if style == 0:
        return parts[0] + "".join(p.title() for p in parts[1:])
    if style == 1:
        return "".join(p.title() for p in parts)
    if style == 2:
        return "-".join(parts)
    if style == 3:
        return "_".join(parts).upper()
    return "_".join(parts)


@PROPS
@given(words=WORDS, style=st.integers(0, 4), prefix=st.sampled_from(["", "my", "prod", "x"]),
       rng=RNGS)
def test_credential_names_any_style(words: tuple[str, ...], style: int, prefix: str, rng: random.Random) -> None:
    name = _style(words, style, prefix)
    value = secret_samples.sample_secret("credential-field", rng)
    doc = {"outer": {name: value}}
    assert [f.rule for f in scan_value(doc)] == ["credential-field"], name
    assert scan_value(scrub_value(doc)) == []
    assert value not in json.dumps(scrub_value(doc))


@PROPS
@given(word=st.sampled_from(["key", "token", "secret", "auth", "session", "password", "signature"]),
       prefix=st.sampled_from(["x", "x-custom", "dd", "ocp-apim-subscription", "x-amz-meta"]),
       upper=st.booleans(), rng=RNGS)
def test_credential_header_names_any_style(word: str, prefix: str, upper: bool, rng: random.Random) -> None:
    name = f"{prefix}-{word}"
    name = name.upper() if upper else name.title()
    value = rng.choice([UUID, HEX32, secret_samples.sample_secret("high-entropy-header", rng)])
    assert scrub_headers({name: [value]}, request=False) == {name: ["REDACTED"]}
    assert [f.rule for f in scan_value({"headers": {name: [value]}})] == ["credential-field"]


@PROPS
@given(rule=st.sampled_from(["aws-access-key-id", "github-token", "openai-api-key", "slack-token", "stripe-key",
                             "npm-token", "google-api-key", "jwt"]),
       escape=st.sampled_from(["\\n", "\\t", "\\r", "\\b", "\\f"]), rng=RNGS)
def test_escape_before_any_secret(rule: str, escape: str, rng: random.Random) -> None:
    secret = secret_samples.sample_secret(rule, rng)
    text = '{"arguments": "{\\"a\\": \\"x' + escape + secret + '\\"}"}'
    assert rule in [f.rule for f in scan_text(text)]
    assert secret not in scrub_string(text)


def test_name_predicates_are_memoised_without_sharing_mutable_results():
    from replaykit.scrub import patterns as P

    tokens = P.name_tokens("clientSecret")
    tokens.append("mutated")  # a caller's list is its own: the memo keeps an immutable copy
    assert P.name_tokens("clientSecret") == ["client", "secret"]
    assert P.is_credential_name("clientSecret") is P.is_credential_name("clientSecret") is True
    assert P.is_account_name("x-amzn-account-id") and not P.is_account_name("x-amzn-requestid")
