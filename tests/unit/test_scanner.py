"""Unit tests of the secret scanner: table-driven cases, placeholders, layers, allowlist, real recordings."""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import random
import re
import struct
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest

import real_corpus
import secret_samples
from replaykit.errors import CassetteError, ConfigError
from replaykit.scrub import patterns as P
from replaykit.scrub import scanner
from replaykit.scrub.allowlist import Allowlist
from replaykit.scrub.scanner import (
    PLACEHOLDERS,
    Finding,
    UnscannableError,
    fingerprint_secret,
    scan_cassette_data,
    scan_file,
    scan_path,
    scan_text,
    scan_value,
)

CASES = Path(__file__).resolve().parents[1] / "cases" / "scan"
REAL = real_corpus.REAL_CASSETTES
LIVE_RULES = [r.id for r in P.RULES if r.id not in ("high-entropy-header", "detect-secrets")]
_MARKER = re.compile(r"«(secret|b64|url|jsonstr):([^«»]*)»")


# ---- table-driven cases -------------------------------------------------------------------------------------


def render(template: str, case: str) -> tuple[str, dict[str, str]]:
    """Expand the markers of a case template (innermost first); returns the text and the planted secrets."""
    secrets: dict[str, str] = {}

    def expand(m: re.Match[str]) -> str:
        op, arg = m.groups()
        if op == "secret":
            if arg not in secrets:
                secrets[arg] = secret_samples.sample_secret(arg.split("#")[0], random.Random(f"{case}:{arg}"))
            return secrets[arg]
        if op == "b64":
            return base64.b64encode(arg.encode()).decode()
        if op == "url":
            return quote(arg, safe="")
        return json.dumps(arg)[1:-1]

    while _MARKER.search(template):
        template = _MARKER.sub(expand, template)
    return template, secrets


def _cases() -> list[Path]:
    return sorted(CASES.glob("*.expected.json"))


@pytest.mark.parametrize("expected_file", _cases(), ids=lambda p: p.name.split(".")[0])
def test_case(expected_file: Path, tmp_path: Path) -> None:
    spec = json.loads(expected_file.read_text())
    text, secrets = render((CASES / spec["template"]).read_text(), spec["template"])
    target = tmp_path / spec.get("write_as", spec["template"])
    target.write_bytes(gzip.compress(text.encode()) if target.name.endswith(".gz") else text.encode())

    if spec.get("error"):
        # an unparsable cassette is an error of its own (exit 2); what its text shows is still reported
        with pytest.raises(UnscannableError, match=spec["error"]) as info:
            scan_path(target)
        findings = info.value.findings
    else:
        findings = scan_path(target)

    got = sorted((f.rule, f.location, f.exchange, f.fingerprint) for f in findings)
    want = sorted((e["rule"], e["location"], e["exchange"], fingerprint_secret(secrets[e["secret"]]))
                  for e in spec["findings"])
    assert got == want
    assert all(f.file == str(target) for f in findings)
    _assert_no_leak(findings, secrets.values())


def test_case_templates_hold_no_real_shaped_secret() -> None:
    # the templates are committed: they must pass the scanner themselves
    for path in CASES.iterdir():
        try:
            assert scan_path(path) == [], path.name
        except UnscannableError as exc:  # a template with markers is not always valid YAML before rendering
            assert exc.findings == [], path.name


def _assert_no_leak(findings: list[Finding], secrets: object) -> None:
    dumped = json.dumps([f.to_dict() for f in findings])
    for secret in secrets:  # type: ignore[attr-defined]
        assert secret not in dumped
        assert secret[len(secret) // 2 - 6: len(secret) // 2 + 6] not in dumped


# ---- placeholders and real shapes ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PLACEHOLDERS))
def test_placeholder_constants_are_not_flagged(name: str) -> None:
    value = PLACEHOLDERS[name]
    contexts = [value, f"Bearer {value}", f"aws_secret_access_key={value}", f"X-Amz-Signature={value}",
                f"arn:aws:iam::{value}:role/x", f"Credential={value}/19700101/us-east-1/s3/aws4_request"]
    for text in contexts:
        assert scan_text(text, location="x") == [], text
    structured = {"headers": {"Authorization": [value], "X-Amz-Security-Token": [value], "x-api-key": [value],
                              "x-amz-expected-bucket-owner": [value], "x-unknown": [value]},
                  "SecretAccessKey": value, "SessionToken": value, "password": value, "account_id": value,
                  value: "as a key"}
    assert scan_value(structured) == []


def test_placeholder_access_key_id_does_not_match_the_live_pattern() -> None:
    regex = P.RULES_BY_ID["aws-access-key-id"].regex
    assert regex is not None and regex.search(scanner.PLACEHOLDER_ACCESS_KEY_ID) is None
    # nor the naive "AKIA + 16 of [A-Z0-9]" or "Credential=[A-Z0-9]{16,}/" greps other tools run on cassettes
    assert re.search(r"(AKIA|ASIA)[0-9A-Z]{16}", scanner.PLACEHOLDER_ACCESS_KEY_ID) is None
    assert re.search(r"Credential=[A-Z0-9]{16,}/", f"Credential={scanner.PLACEHOLDER_ACCESS_KEY_ID}/") is None


@pytest.mark.parametrize("value", [
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "**REDACTED**", "<REDACTED>",
    "<REDACTED_API_KEY>", "sk-REDACTED-abc123def456ghi789", "000000000000", "123456789012", "testing", "test",
    "XXXXXX", "sk-xxxxxxxxxxxxxxxxxxxxxxxx", "${OPENAI_API_KEY}", "{{ secrets.TOKEN }}", "OPENAI_API_KEY",
    "AKIAAAAAAAAAAAAAAAAA", "abcdefghijklmnopqrstuvwxyzABCDEFGH", "sk-test-1234567890abcdefghij",
])
def test_common_placeholders(value: str) -> None:
    assert P.is_placeholder(value)
    assert scan_value({"headers": {"Authorization": [f"Bearer {value}"], "x-api-key": [value]},
                       "aws_secret_access_key": value, "note": value}) == []


@pytest.mark.parametrize("rule", LIVE_RULES)
def test_real_shape_is_flagged_once(rule: str) -> None:
    secret = secret_samples.sample_secret(rule, random.Random(rule))
    text = secret_samples.sample_in_context(rule, secret)
    findings = scan_text(f"prefix {text} suffix", location="body")
    assert [(f.rule, f.fingerprint, f.location) for f in findings] == [(rule, fingerprint_secret(secret), "body")]
    assert secret not in findings[0].preview
    assert findings[0].severity == P.RULES_BY_ID[rule].severity


def test_high_entropy_header_only_in_unknown_headers() -> None:
    token = secret_samples.sample_secret("high-entropy-header", random.Random(7))
    hits = scan_value({"headers": {"x-upstream": [token], "x-amz-id-2": [token], "ETag": [token]}})
    assert [(f.rule, f.location) for f in hits] == [("high-entropy-header", "headers.x-upstream[0]")]
    # a header whose name says session/key/token/secret/auth is a credential whatever the value looks like
    hits = scan_value({"headers": {"x-session": [token]}})
    assert [(f.rule, f.location) for f in hits] == [("credential-field", "headers.x-session[0]")]
    assert scan_value({"json": {"p": token}}) == []  # bodies are not entropy-checked (stream padding, ids)


@pytest.mark.parametrize("value", [
    "1f3e5d7c-9b0a-4c2e-8d6f-1a3b5c7d9e0f", "req_0da443d9ee8333600069950a0635d881",
    "9b2cf535f27731c974343645a3985328e8d8ee0b7fbb2b5de4d2f5d7b2d7d6d1", "Mon, 23 Nov 2026 21:00:00 GMT",
    "anthropic.claude-3-haiku-20240307-v1:0", "application/vnd.amazon.eventstream", "gzip, deflate, br, zstd",
    "Root=1-67891233-abcdef012345678912345678", "max-age=31536000; includeSubDomains; preload",
])
def test_benign_unknown_header_values(value: str) -> None:
    assert scan_value({"headers": {"x-something": [value]}}) == []


def test_overlapping_rules_report_the_specific_one() -> None:
    key = secret_samples.sample_secret("openai-api-key", random.Random(1))
    findings = scan_value({"headers": {"Authorization": [f"Bearer {key}"]}})
    assert [f.rule for f in findings] == ["openai-api-key"]


def test_words_with_key_prefixes_are_not_keys() -> None:
    text = "use the sk-learn-compatible-estimator-interface and a Bearer authentication-token-scheme"
    assert scan_text(text, location="x") == []


def test_preview_and_fingerprint_never_reveal_the_secret() -> None:
    secret = secret_samples.sample_secret("aws-secret-access-key", random.Random(2))
    (finding,) = scan_value({"SecretAccessKey": secret})
    assert re.fullmatch(r"[0-9a-f]{16}", finding.fingerprint)
    assert finding.preview.startswith(secret[:4]) and secret[4:] not in finding.preview
    assert "[40]" in finding.preview and finding.fingerprint[:6] in finding.preview
    assert set(finding.to_dict()) == {"rule", "description", "location", "preview", "file", "exchange",
                                      "fingerprint", "severity"}
    with pytest.raises(AttributeError):
        finding.rule = "x"  # type: ignore[misc]


# ---- structure and layers ----------------------------------------------------------------------------------


def test_secret_key_is_located_by_position_not_by_name() -> None:
    akid = secret_samples.sample_secret("aws-access-key-id", random.Random(3))
    token = secret_samples.sample_secret("github-token", random.Random(3))
    findings = scan_value({"a": 1, akid: {"nested": token}}, location="doc")
    assert [(f.rule, f.location) for f in findings] == [
        ("aws-access-key-id", "doc.{key #1}"), ("github-token", "doc.{key #1}.nested")]
    _assert_no_leak(findings, [akid, token])


def test_url_encoded_and_base64_layers() -> None:
    secret = secret_samples.sample_secret("aws-secret-access-key", random.Random(4)).replace("A", "/")
    planted = f"aws_secret_access_key={secret}"
    value = {"q": "https://example.com/cb?state=" + quote(planted, safe=""),
             "b": base64.b64encode(planted.encode()).decode(),
             "j": json.dumps({"inner": [base64.b64encode(json.dumps({"k": planted}).encode()).decode()]})}
    got = [(f.rule, f.location) for f in scan_value(value)]
    assert got == [("aws-secret-access-key", "q<url>"), ("aws-secret-access-key", "b<base64>"),
                   ("aws-secret-access-key", "j<json>.inner[0]<base64><json>.k")]


def _frame(headers: dict[str, str], payload: bytes) -> bytes:
    """A minimal AWS event stream frame (string headers only)."""
    raw = b"".join(bytes([len(k)]) + k.encode() + b"\x07" + struct.pack(">H", len(v)) + v.encode()
                   for k, v in headers.items())
    total = 12 + len(raw) + len(payload) + 4
    prelude = struct.pack(">II", total, len(raw))
    prelude += struct.pack(">I", binascii.crc32(prelude))
    body = prelude + raw + payload
    return body + struct.pack(">I", binascii.crc32(body))


def test_raw_event_stream_frames_with_base64_chunks() -> None:
    key = secret_samples.sample_secret("openai-api-key", random.Random(5))
    inner = base64.b64encode(json.dumps({"delta": {"text": f"key {key}"}}).encode()).decode()
    frames = b"".join(_frame({":event-type": "chunk", ":message-type": "event"},
                             json.dumps({"bytes": b, "p": "abcdefghijklmnop"}).encode())
                      for b in (base64.b64encode(b'{"delta": {"text": "hello"}}').decode(), inner))
    doc = {"interactions": [{"request": {"uri": "https://x"}, "response": {"body": {"string": frames}}}]}
    findings = scan_cassette_data(doc, file="c.yaml")
    assert [(f.rule, f.location, f.exchange, f.file) for f in findings] == [
        ("openai-api-key", "interactions[0].response.body.string<base64><json>.delta.text", 0, "c.yaml")]


def test_deep_nesting_terminates() -> None:
    value = "Bearer " + secret_samples.sample_secret("bearer-token", random.Random(6))
    for _ in range(20):
        value = base64.b64encode(json.dumps({"v": value}).encode()).decode()
    assert scan_value({"x": value}) == []  # deeper than MAX_DEPTH: given up on, without recursion errors
    shallow = "Bearer " + secret_samples.sample_secret("bearer-token", random.Random(6))
    for _ in range(3):
        shallow = base64.b64encode(json.dumps({"v": shallow}).encode()).decode()
    assert [f.rule for f in scan_value({"x": shallow})] == ["bearer-token"]


def test_scan_text_lines_and_locations() -> None:
    key = secret_samples.sample_secret("github-token", random.Random(8))
    assert [f.location for f in scan_text(f"a\nb\n{key}\n")] == ["line 3"]
    assert [f.location for f in scan_text(f"a\nb\n{key}\n", location="body")] == ["body"]


def test_scan_cassette_data_metadata_and_exchanges() -> None:
    acct = secret_samples.sample_secret("aws-account-id", random.Random(9))
    doc = {"version": 1, "replaykit": {"profile": f"arn:aws:iam::{acct}:role/x"},
           "interactions": [{"request": {}}, {"response": {"headers": {"x-amz-account-id": [acct]}}}]}
    got = [(f.location, f.exchange) for f in scan_cassette_data(doc)]
    assert got == [("replaykit.profile", None), ("interactions[1].response.headers.x-amz-account-id[0]", 1)]


def test_binary_and_missing_files(tmp_path: Path) -> None:
    blob = tmp_path / "image.png"
    token = secret_samples.sample_secret("github-token", random.Random(1))
    blob.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + token.encode())
    assert scan_file(blob) == ([], False)
    with pytest.raises(CassetteError):
        scan_path(tmp_path / "missing.yaml")
    not_gz = tmp_path / "c.yaml.gz"
    not_gz.write_bytes(b"not gzip")
    with pytest.raises(CassetteError, match="c.yaml.gz: not a valid gzip file"):
        scan_file(not_gz)
    with pytest.raises(CassetteError, match="image.png: binary data"):
        scan_file(blob, strict=True)


# ---- allowlist ---------------------------------------------------------------------------------------------


def test_allowlist_by_fingerprint_pattern_and_rule(tmp_path: Path) -> None:
    acct = secret_samples.sample_secret("aws-account-id", random.Random(10))
    key = secret_samples.sample_secret("openai-api-key", random.Random(10))
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"interactions": [{"request": {"uri": f"arn:aws:iam::{acct}:root", "k": key}}]}))
    (fp_acct,) = [f.fingerprint for f in scan_path(path) if f.rule == "aws-account-id"]
    allow = Allowlist.from_data({"allow": [
        {"fingerprint": fp_acct, "rule": "aws-account-id", "reason": "public sample account"},
        {"pattern": re.escape(key[:12]) + ".*", "rule": "openai-api-key", "reason": "fixture key"}]})
    assert scan_path(path, allow) == []
    assert allow.allows(acct, "aws-account-id") and allow.allows(fp_acct, "aws-account-id")
    assert not allow.allows(fp_acct, "jwt") and allow.allows(fp_acct)
    assert allow.allows(key, "openai-api-key") and not allow.allows(fingerprint_secret(key), "openai-api-key")
    other = Allowlist.from_data([{"fingerprint": fp_acct, "rule": "jwt", "reason": "wrong rule"}])
    assert [f.rule for f in scan_path(path, other)] == ["aws-account-id", "openai-api-key"]
    assert other.filter(scan_path(path)) == scan_path(path)


@pytest.mark.parametrize("doc", [
    {"allow": [{"fingerprint": "0123456789abcdef"}]},
    {"allow": [{"fingerprint": "0123", "reason": "short"}]},
    {"allow": [{"pattern": "(", "reason": "bad regex"}]},
    {"allow": [{"pattern": "a", "fingerprint": "0123456789abcdef", "reason": "both"}]},
    {"allow": "nope"},
    ["just a string"],
])
def test_allowlist_rejects_malformed_entries(doc: object) -> None:
    with pytest.raises(ConfigError):
        Allowlist.from_data(doc)


def test_allowlist_load_and_discover(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    assert Allowlist.discover(tmp_path / "sub" / "deeper") is None
    (tmp_path / ".replaykit-allowlist.yaml").write_text(
        "allow:\n  - {fingerprint: 0123456789ABCDEF, reason: upper case is accepted}\n")
    found = Allowlist.discover(tmp_path / "sub" / "deeper")
    assert found is not None and len(found) == 1 and found.allows("0123456789abcdef")
    assert len(Allowlist.load(tmp_path / ".replaykit-allowlist.yaml")) == 1
    with pytest.raises(ConfigError):
        Allowlist.load(tmp_path / "absent.yaml")
    (tmp_path / "bad.yaml").write_text("allow: [unclosed\n")
    with pytest.raises(ConfigError):
        Allowlist.load(tmp_path / "bad.yaml")


# ---- the persister's write guard uses the scanner ----------------------------------------------------------


def test_persister_refuses_a_secret_without_echoing_it() -> None:
    persister = pytest.importorskip("replaykit.cassette.persister")
    from replaykit.errors import SecretFoundError

    key = secret_samples.sample_secret("openai-api-key", random.Random(11))
    doc = {"version": 1, "interactions": [{"request": {"headers": {"Authorization": [f"Bearer {key}"]}}}]}
    with pytest.raises(SecretFoundError) as err:
        persister.check_secrets(doc, Path("c.yaml"))
    assert key not in str(err.value) and "openai-api-key" in str(err.value)
    persister.check_secrets({"version": 1, "interactions": [
        {"request": {"headers": {"Authorization": [f"Bearer {scanner.PLACEHOLDER_OPENAI_KEY}"]}}}]}, Path("c.yaml"))


# ---- real recordings (read-only, outside the repo) ---------------------------------------------------------

# What the public cassettes in /work/shared/real-cassettes contain that replaykit's sanitizer would remove:
# OpenAI org/project ids in response headers (low; one org header is `XXXXXX`, a placeholder), a guardrail ARN
# with pydantic's account id (low) and a Cloudflare cookie pair in one request (credential-field). Everything
# else, including `**REDACTED**` headers, S3 x-amz-id-2 ids, stream padding and event-stream bodies, is clean.
REAL_EXPECTED = Counter({("openai-identifier", "openai-organization"): 5, ("openai-identifier", "openai-project"): 3,
                         ("aws-account-id", "guardrailArn"): 2, ("credential-field", "cookie[0]"): 2})


@real_corpus.requires_real
def test_real_cassettes_report() -> None:
    findings: list[Finding] = []
    files = [p for p in sorted(REAL.rglob("*")) if p.is_file()]
    for path in files:
        found, scanned = scan_file(path)
        assert scanned
        findings += found
    got = Counter((f.rule, re.sub(r"^.*\.", "", re.sub(r"\[0\]$", "", f.location))
                   if f.rule != "credential-field" else f.location.rsplit(".", 1)[1]) for f in findings)
    assert got == REAL_EXPECTED
    assert not [f for f in findings if "langchain" in (f.file or "") or "datalad" in (f.file or "")]
    assert all(f.exchange is not None for f in findings)


def test_approved_match_is_not_reported_again_by_name_context() -> None:
    key = secret_samples.sample_secret("openai-api-key", random.Random(12))
    doc = {"headers": {"Authorization": [f"Bearer {key}"]}, "api_key": key}
    allow = Allowlist.from_data([{"fingerprint": fingerprint_secret(key), "reason": "fixture"}])
    assert [f.rule for f in scan_value(doc)] == ["openai-api-key", "openai-api-key"]
    assert scan_value(doc, allowlist=allow) == []
