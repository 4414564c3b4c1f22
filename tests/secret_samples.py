"""Real-shaped fake secrets for the tests: never real credentials, never placeholders (test-only: not shipped)."""

from __future__ import annotations

import base64
import json
import random
from typing import Any

from replaykit.scrub.patterns import RULES_BY_ID, is_placeholder, looks_mixed

_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_B64 = _B62 + "+/"
_URLSAFE = _B62 + "-_"
_AKID_PREFIXES = ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "ABIA", "ACCA")


def _pick(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _draw(rule_id: str, rng: random.Random) -> str:
    if rule_id == "private-key":
        body = "\n".join(_pick(rng, _B64, 64) for _ in range(4))
        kind = rng.choice(("RSA ", "EC ", "OPENSSH ", ""))
        return f"-----BEGIN {kind}PRIVATE KEY-----\n{body}\n-----END {kind}PRIVATE KEY-----"
    if rule_id == "aws-access-key-id":
        return rng.choice(_AKID_PREFIXES) + _pick(rng, _B32, 16)
    if rule_id == "aws-sigv4-credential":  # a key id outside the AKIA/ASIA families (digit first)
        return rng.choice("0189") + _pick(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 19)
    if rule_id == "aws-session-token":
        return rng.choice(("IQoJb3JpZ2lu", "FwoGZXIvYXdz")) + _pick(rng, _B64, rng.randrange(120, 400))
    if rule_id == "aws-secret-access-key":
        return _pick(rng, _B64, 40)
    if rule_id == "aws-signature":
        return _pick(rng, "0123456789abcdef", 64)
    if rule_id == "anthropic-api-key":
        return "sk-ant-api03-" + _pick(rng, _URLSAFE, 93) + "AA"
    if rule_id == "openai-api-key":
        prefix = rng.choice(("sk-", "sk-proj-", "sk-svcacct-", "sk-admin-"))
        return prefix + _pick(rng, _URLSAFE, rng.randrange(20, 74)) + "T3BlbkFJ" + _pick(rng, _URLSAFE, 20)
    if rule_id == "github-token":
        return rng.choice(("ghp_", "gho_", "ghs_")) + _pick(rng, _B62, 36)
    if rule_id == "google-api-key":
        return "AIza" + _pick(rng, _URLSAFE, 35)
    if rule_id == "jwt":
        head = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = {"sub": _pick(rng, _B62, 12), "iat": rng.randrange(1_600_000_000, 1_800_000_000)}
        return f"{head}.{_b64url(json.dumps(claims).encode())}.{_b64url(rng.randbytes(32))}"
    if rule_id == "aws-secret-near-key-id":
        return _pick(rng, _B62, 38) + rng.choice("aA") + rng.choice("7/+")
    if rule_id == "slack-token":
        return (
            rng.choice("baprs").join(("xox", "-"))
            + "-".join(_pick(rng, "0123456789", 12) for _ in range(2))
            + ("-" + _pick(rng, _B62, 24))
        )
    if rule_id == "stripe-key":
        return rng.choice(("sk_live_", "rk_live_")) + _pick(rng, _B62, rng.randrange(24, 99))
    if rule_id == "huggingface-token":
        return "hf_" + _pick(rng, _B62[:52], 34)
    if rule_id == "npm-token":
        return "npm_" + _pick(rng, _B62, 36)
    if rule_id == "google-oauth-token":
        return "ya29." + _pick(rng, _URLSAFE, rng.randrange(60, 160))
    if rule_id == "basic-auth":
        user = _pick(rng, "abcdefghijklmnopqrstuvwxyz", rng.randrange(3, 10))
        return base64.b64encode(f"{user}:{_pick(rng, _B62 + '!@#$', rng.randrange(8, 24))}".encode()).decode()
    if rule_id == "url-userinfo":
        return _pick(rng, _B62, rng.randrange(10, 30))
    if rule_id in ("bearer-token", "high-entropy-header"):
        return _pick(rng, _B62, rng.randrange(24, 64))
    if rule_id == "credential-field":
        return _pick(rng, _B62 + "!@#$^*", rng.randrange(12, 32))
    if rule_id == "aws-account-id":
        return str(rng.randrange(100_000_000_000, 999_999_999_999))
    if rule_id == "openai-identifier":
        return rng.choice(("org-", "proj_")) + _pick(rng, _B62, 24)
    raise KeyError(rule_id)


def sample_secret(rule_id: str, rng: random.Random) -> str:
    """A fake secret of the real shape of a rule's family (random, never a placeholder), for tests."""
    while True:
        secret = _draw(rule_id, rng)
        core = secret.split("-----")[2] if rule_id == "private-key" else secret
        if not is_placeholder(core) and (looks_mixed(core) or not RULES_BY_ID[rule_id].needs_mixed):
            return secret


def sample_in_context(rule_id: str, secret: str) -> str:
    """The text a secret is found in: the context its rule needs (``Bearer ``, ``X-Amz-Signature=``, …)."""
    return {
        "aws-sigv4-credential": f"Credential={secret}/20240101/us-east-1/s3/aws4_request",
        "aws-secret-access-key": f"aws_secret_access_key={secret}",
        "aws-secret-near-key-id": f"AKIAIOSFODNN7EXAMPLE,{secret}",
        "basic-auth": f"Basic {secret}",
        "url-userinfo": f"postgres://app:{secret}@db.internal:5432/prod",
        "aws-signature": f"https://bucket.s3.amazonaws.com/key.txt?X-Amz-Expires=60&X-Amz-Signature={secret}",
        "bearer-token": f"Bearer {secret}",
        "credential-field": f"password={secret}",
        "aws-account-id": f"arn:aws:iam::{secret}:role/deploy",
    }.get(rule_id, secret)


def joined_by_path(value: Any, path: str = "", out: dict[str, list[str]] | None = None) -> dict[str, str]:
    """Every string of the YAML joined with the others at the same path, list positions ignored: a stream's deltas
    (``...sse.data.choices.delta.content``) read in order, as a reader of the cassette would join them."""
    out = {} if out is None else out
    if isinstance(value, dict):
        for key, item in value.items():
            joined_by_path(item, f"{path}.{key}", out)
    elif isinstance(value, list):
        for item in value:
            joined_by_path(item, path, out)
    elif isinstance(value, str):
        out.setdefault(path, []).append(value)
    return {p: "".join(parts) for p, parts in out.items()}
