"""The secret scanner's rule table: regexes, key/header context names, placeholder and entropy tests.

Every rule's regex has one named group ``s``: the secret itself (what is fingerprinted, never printed).
Rules are listed in priority order; when two matches overlap inside one string the earlier rule wins, so an
OpenAI key after ``Bearer`` is reported once, as ``openai-api-key``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
from collections import Counter
from dataclasses import dataclass
from urllib.parse import unquote

HIGH, MEDIUM, LOW = "high", "medium", "low"


@dataclass(frozen=True)
class Rule:
    """One secret family: id, one-line description, severity and (for text rules) the compiled regex."""

    id: str
    description: str
    severity: str = HIGH
    regex: re.Pattern[str] | None = None
    # the secret must contain a letter and a digit: keeps words like "sk-learn-compatible-estimators" out
    needs_mixed: bool = False


_SEP = r"[\"']?\s*(?:[:=]|>|%3[Dd])\s*[\"']?"  # key/value separator in JSON, YAML, ini, env, XML and query strings


def _rx(pattern: str) -> re.Pattern[str]:
    """Compile a rule; a secret right after a JSON escape (a backslash-n before ``AKIA…``) still matches."""
    # every left boundary that refuses a letter would refuse the ``n`` of ``\\n``: it also accepts a JSON escape
    return re.compile(_LEFT_BOUNDARY.sub(lambda m: f"(?:{m.group(0)}|(?<=\\\\[nrtbf]))", pattern))


_LEFT_BOUNDARY = re.compile(r"\(\?<!\[(?:\\w|[^\]]*a-z)[^\]]*\]\)")


RULES: tuple[Rule, ...] = (
    Rule("private-key", "PEM private key block (-----BEGIN … PRIVATE KEY-----)"),
    Rule(
        "aws-access-key-id",
        "AWS access key id (AKIA/ASIA/A3T… + 16 chars)",
        # the breadth gitleaks and detect-secrets flag: any [A-Z0-9] after the prefix, and A3T…
        regex=_rx(
            r"(?<![A-Za-z0-9])(?P<s>(?:A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16})"
            r"(?![A-Za-z0-9])"
        ),
    ),
    Rule(
        "aws-sigv4-credential",
        "access key id in a SigV4 Credential= scope (Authorization header or presigned URL)",
        regex=_rx(r"(?i:(?<![A-Za-z0-9-])(?:X-Amz-)?Credential(?:=|%3D))(?P<s>[A-Z0-9]{16,128})(?=/|%2[Ff])"),
    ),
    Rule(
        "aws-session-token",
        "AWS STS session token (FwoGZXIvYXdz…/IQoJb3JpZ2lu… or an X-Amz-Security-Token value)",
        regex=_rx(
            r"(?<![A-Za-z0-9/+])(?P<s>(?:FwoGZXIvYXdz|IQoJb3JpZ2lu)[A-Za-z0-9/+=]{40,})(?![A-Za-z0-9/+=%])"
            r"|(?i:X-Amz-Security-Token|(?:aws_?)?session_?token|security_?token)"
            + _SEP
            + r"(?P<s2>[A-Za-z0-9/+=%]{16,})(?![A-Za-z0-9/+=%])"
        ),
    ),
    Rule(
        "aws-secret-access-key",
        "AWS secret access key (40 chars) next to a secret-key name",
        # group s: an AWS-specific name; s2: a bare "secret", which holds a git sha as often as a key
        regex=_rx(
            r"(?i:aws[_-]?secret(?:[_-]?access)?(?:[_-]?key)?|secret[_-]?access(?:[_-]?key)?|secret[_-]?key)"
            + _SEP
            + r"(?P<s>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
            + r"|(?i:secret)"
            + _SEP
            + r"(?P<s2>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
        ),
    ),
    Rule(
        "aws-signature",
        "AWS request signature (X-Amz-Signature=, SigV4 Signature=<hex64>, SigV2 Signature=)",
        regex=_rx(
            r"(?i:(?<![A-Za-z0-9-])(?:X-Amz-)?Signature(?:=|%3D))(?P<s>[0-9a-f]{64})(?![0-9a-f])"
            r"|(?:[?&]|&amp;)Signature=(?P<s2>[A-Za-z0-9%+/]{27,}={0,2})(?![A-Za-z0-9%+/=])"
        ),
    ),
    Rule(
        "aws-secret-near-key-id",
        "AWS secret access key (40 chars) after an access key id, in any layout (prose, credentials CSV)",
        regex=_rx(
            r"(?<![A-Za-z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])"
            r"[^\n]{1,160}?(?<![A-Za-z0-9/+=])(?P<s>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        ),
    ),
    Rule(
        "anthropic-api-key",
        "Anthropic API key (sk-ant-…)",
        needs_mixed=True,
        regex=_rx(r"(?<![A-Za-z0-9_-])(?P<s>sk-ant-[A-Za-z0-9_-]{20,})(?![A-Za-z0-9_-])"),
    ),
    Rule(
        "openai-api-key",
        "OpenAI API key (sk-, sk-proj-, sk-svcacct-, sk-admin-)",
        needs_mixed=True,
        regex=_rx(r"(?<![A-Za-z0-9_-])(?P<s>sk-(?!ant-)[A-Za-z0-9_-]{20,})(?![A-Za-z0-9_-])"),
    ),
    Rule(
        "github-token",
        "GitHub token (ghp_/gho_/ghu_/ghs_/ghr_/github_pat_)",
        regex=_rx(
            r"(?<![A-Za-z0-9_])(?P<s>gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255})(?![A-Za-z0-9_])"
        ),
    ),
    Rule(
        "google-api-key",
        "Google API key (AIza…)",
        regex=_rx(r"(?<![A-Za-z0-9_-])(?P<s>AIza[0-9A-Za-z_-]{35})(?![A-Za-z0-9_-])"),
    ),
    Rule(
        "jwt",
        "JSON Web Token (eyJ….eyJ….signature)",
        regex=_rx(
            r"(?<![A-Za-z0-9_-])(?P<s>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{10,})(?![A-Za-z0-9_-])"
        ),
    ),
    Rule(
        "slack-token",
        "Slack token (xoxb-/xoxa-/xoxp-/xoxr-/xoxs-)",
        regex=_rx(r"(?<![A-Za-z0-9_-])(?P<s>xox[baprs]-[A-Za-z0-9-]{10,})(?![A-Za-z0-9_-])"),
    ),
    Rule(
        "stripe-key",
        "Stripe live secret or restricted key (sk_live_/rk_live_)",
        regex=_rx(r"(?<![A-Za-z0-9_])(?P<s>[sr]k_live_[A-Za-z0-9]{16,})(?![A-Za-z0-9_])"),
    ),
    Rule(
        "huggingface-token",
        "Hugging Face access token (hf_…)",
        regex=_rx(r"(?<![A-Za-z0-9_])(?P<s>hf_[A-Za-z]{30,40})(?![A-Za-z0-9_])"),
    ),
    Rule(
        "npm-token",
        "npm access token (npm_…)",
        regex=_rx(r"(?<![A-Za-z0-9_])(?P<s>npm_[A-Za-z0-9]{36})(?![A-Za-z0-9_])"),
    ),
    Rule(
        "google-oauth-token",
        "Google OAuth access token (ya29.…)",
        regex=_rx(r"(?<![A-Za-z0-9_.-])(?P<s>ya29\.[A-Za-z0-9_-]{20,})(?![A-Za-z0-9_-])"),
    ),
    Rule(
        "basic-auth",
        "HTTP Basic credentials (Basic <base64 of user:password>), in any header or text",
        regex=_rx(r"(?i:(?<![A-Za-z0-9])Basic)\s+(?P<s>[A-Za-z0-9+/]{6,}={0,2})(?![A-Za-z0-9+/=])"),
    ),
    Rule(
        "url-userinfo",
        "password in a URL's userinfo (scheme://user:password@host)",
        regex=_rx(
            r"(?i:(?<![A-Za-z0-9+.-])[a-z][a-z0-9+.-]{1,20}://)[^\s/:@'\"<>]{1,128}:(?P<s>[^\s/@'\"<>]{1,256})@"
            r"(?=[A-Za-z0-9\[])"
        ),
    ),
    Rule(
        "bearer-token",
        "Bearer token of 16+ chars that is not a placeholder",
        needs_mixed=True,
        regex=_rx(r"(?i:(?<![A-Za-z0-9])Bearer)\s+(?P<s>[A-Za-z0-9._~+/=-]{16,})(?![A-Za-z0-9._~+/=-])"),
    ),
    Rule(
        "credential-field",
        "value of a credential-named key, header or query parameter (password, api_key, "
        "x-api-key, cookie, client_secret, …)",
        needs_mixed=True,
        regex=_rx(
            r"(?i:(?<![A-Za-z0-9])(?:api[_-]?key|access[_-]?token|auth[_-]?token|refresh[_-]?token|"
            r"client[_-]?secret|password|passwd))" + _SEP + r"(?P<s>[^\s\"'&,;<>]{8,})"
        ),
    ),
    Rule(
        "aws-account-id",
        "AWS account id in an ARN, an account-scoped host/URL or an account field",
        LOW,
        regex=_rx(
            r"arn(?::|%3[Aa])aws[a-z-]*(?::|%3[Aa])[a-z0-9-]+(?::|%3[Aa])[a-z0-9-]*(?::|%3[Aa])"
            r"(?P<s>\d{12})(?=:|%3[Aa])"
            r"|(?<![\w-])(?P<s2>\d{12})\.(?:dkr\.ecr|s3-control|s3-outposts|s3-object-lambda)\."
            r"|(?<![0-9])(?P<s3>\d{12})(?![0-9])(?=[a-z0-9-]*(?:\.s3-accesspoint)?\.s3[.-][a-z0-9.-]*amazonaws\.com)"
            r"|amazonaws\.com(?:\.cn)?/(?:[a-z0-9.-]*?[.-])?(?P<s4>\d{12})(?![0-9])(?=[-/.?#]|$)"
            r"|(?i:<Account>|[\"']?(?:aws_?)?account_?id[\"']?\s*[:=]\s*[\"']?|[\"']Account[\"']\s*:\s*[\"'])"
            r"(?P<s5>\d{12})(?![0-9])"
            # error text: "account 123456789012", "Account ID: 123456789012", "account #123456789012"
            r"|(?i:(?<![A-Za-z])account(?:[\s_-]?(?:id|number))?)[\s:=#'\"]{1,4}(?P<s6>\d{12})(?![0-9])"
            # bucket-name segments: logs-123456789012-us-east-1, sagemaker-us-east-1-123456789012
            # (the segment before is a word with a non-hex letter, or a region: not the tail of a UUID)
            r"|(?<![0-9A-Za-z])(?:(?=[a-z]*[g-z])[a-z]{2,}|[a-z]{2}-[a-z]+-\d)-(?P<s7>\d{12})(?![0-9])"
            r"(?=[-./\s\"']|$)"
        ),
    ),
    Rule(
        "openai-identifier",
        "OpenAI organization/project id (org-…, proj_…, OpenAI-Organization/-Project header)",
        LOW,
        regex=_rx(r"(?<![A-Za-z0-9_-])(?P<s>org-[A-Za-z0-9]{24}|proj_[A-Za-z0-9]{24})(?![A-Za-z0-9_-])"),
    ),
    Rule("high-entropy-header", "high-entropy token (24+ chars) in a header not known to be benign", MEDIUM),
    Rule("detect-secrets", "found by detect-secrets (second opinion): see the plugin named in the description"),
)
RULES_BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
TEXT_RULES: tuple[Rule, ...] = tuple(r for r in RULES if r.regex is not None)
PRIORITY: dict[str, int] = {r.id: i for i, r in enumerate(RULES)}

# ---- private keys: matched by hand because the body may be long, \n-escaped, or cut off -------------------

PEM_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
PEM_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
PEM_BODY_CHARS = re.compile(r"[A-Za-z0-9+/=]")
PEM_ESCAPES = re.compile(r"\\+[nrt]")  # \n, \\n… left by JSON/YAML escaping inside the block

# ---- context: key, header and query names that make a value a secret --------------------------------------


def norm_name(name: str) -> str:
    """Header/key name folded for lookup: lower case, ``-`` → ``_``, no leading ``:`` (event stream headers)."""
    return name.strip().lstrip(":").lower().replace("-", "_")


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


_NAME_LIKE = re.compile(r"^:?[A-Za-z][A-Za-z0-9_.-]{0,63}$")


# names repeat (every request carries the same header names, every body the same keys) and these predicates are
# pure functions of the name: each is computed once per name (a replayed request's scrub was ~40% name tokenising)
_names_cache = functools.lru_cache(maxsize=4096)


def name_tokens(name: str) -> list[str]:
    """A key or header name as lower-case words: ``clientSecret`` or ``CLIENT-SECRET`` → client, secret."""
    return list(_name_tokens(name))


@_names_cache
def _name_tokens(name: str) -> tuple[str, ...]:
    return tuple(t for t in re.split(r"[^a-z0-9]+", _CAMEL.sub("_", name.strip().lstrip(":")).lower()) if t)


@_names_cache
def squash(name: str) -> str:
    """A name with case and separators folded away: ``Secret-Access_Key`` → ``secretaccesskey``."""
    return "".join(_name_tokens(name))


def name_in(name: str, names: frozenset[str]) -> bool:
    """Whether a name is one of ``names`` in any casing or separator style."""
    return squash(name) in _squashed(names)


_SQUASHED: dict[int, frozenset[str]] = {}


def _squashed(names: frozenset[str]) -> frozenset[str]:
    got = _SQUASHED.get(id(names))
    if got is None:
        got = _SQUASHED[id(names)] = frozenset(squash(n) for n in names)
    return got


# the last word(s) of a name that make its value a credential: db_password, userPassword, apiSecret, accessToken
_CREDENTIAL_LAST = frozenset({"password", "passwd", "pwd", "passphrase", "apikey", "credential", "credentials"})
_CREDENTIAL_TOKEN_QUALIFIERS = frozenset(
    {
        "access",
        "auth",
        "refresh",
        "id",
        "api",
        "bearer",
        "session",
        "security",
        "oauth",
        "private",
        "personal",
        "bot",
        "user",
        "app",
        "secret",
        "client",
        "service",
        "github",
        "slack",
        "npm",
        "hf",
        "csrf",
        "xsrf",
    }
)
_CREDENTIAL_KEY_QUALIFIERS = frozenset(
    {"api", "private", "secret", "auth", "subscription", "signing", "master", "access", "customer"}
)
# names that say token/key/secret but hold counters, ids, digests, flags or pagination cursors
_NOT_CREDENTIAL_LAST = frozenset(
    {
        "count",
        "counts",
        "id",
        "ids",
        "md5",
        "sha256",
        "sha1",
        "enabled",
        "type",
        "algorithm",
        "length",
        "version",
        "remaining",
        "limit",
        "reset",
        "used",
        "name",
        "arn",
        "ref",
        "expiry",
        "expires",
        "expiration",
        "usage",
        "hint",
        "prefix",
        "url",
        "uri",
        "path",
        "scope",
        "scopes",
        "policy",
    }
)
_NOT_CREDENTIAL_TOKENS = frozenset({"next", "continuation", "pagination", "page", "idempotency", "request", "cursor"})


@_names_cache
def is_credential_name(name: str) -> bool:
    """Whether a key name says its value is a credential, in any casing (``clientSecret``, ``DB_PASSWORD``…).

    A bare ``secret`` or ``token`` is not enough: those name references and hashes more often than credentials.
    """
    tokens = name_tokens(name) if _NAME_LIKE.match(name.strip()) else []
    if not tokens:
        return False
    if squash(name) in _squashed(CREDENTIAL_NAMES) or squash(name) in _squashed(SESSION_TOKEN_NAMES):
        return True
    last = tokens[-1]
    if last in _NOT_CREDENTIAL_LAST or _NOT_CREDENTIAL_TOKENS.intersection(tokens):
        return False
    if last in _CREDENTIAL_LAST:
        return True
    before = set(tokens[:-1])
    if last in ("secret", "secrets") and before:
        return True
    if last == "token" and before & _CREDENTIAL_TOKEN_QUALIFIERS:
        return True
    return last == "key" and bool(before & _CREDENTIAL_KEY_QUALIFIERS)


_HEADER_CREDENTIAL_WORDS = frozenset(
    {
        "key",
        "apikey",
        "token",
        "secret",
        "auth",
        "authorization",
        "session",
        "password",
        "passwd",
        "signature",
        "cookie",
        "credential",
        "credentials",
    }
)


@_names_cache
def is_credential_header(name: str) -> bool:
    """Whether a header's name says it carries a credential, whatever its value looks like.

    The words: key, token, secret, auth, session, password, signature (``DD-API-KEY``, ``X-Auth-Key``,
    ``CF-Access-Client-Secret``). Names that end in a counter, id, digest or flag (``x-amzn-bedrock-input-token-count``,
    ``x-amz-server-side-encryption-aws-kms-key-id``, ``…-customer-key-md5``) are not credentials.
    """
    tokens = name_tokens(name) if _NAME_LIKE.match(name.strip()) else []
    if not tokens or tokens[-1] in _NOT_CREDENTIAL_LAST or _NOT_CREDENTIAL_TOKENS.intersection(tokens):
        return False
    return bool(_HEADER_CREDENTIAL_WORDS.intersection(tokens))


_DIGEST_WORDS = frozenset(
    {"sha256", "sha1", "sha512", "md5", "crc32", "crc32c", "crc64nvme", "checksum", "hash", "digest", "etag"}
)


@_names_cache
def is_account_name(name: str) -> bool:
    """Whether a key or header name says it holds an AWS account id (``AccountId``, ``x-amzn-account``…)."""
    return name_in(name, ACCOUNT_NAMES) or (bool(_NAME_LIKE.match(name.strip())) and "account" in name_tokens(name))


@_names_cache
def is_digest_name(name: str) -> bool:
    """Whether a header or key name says its value is a digest (``x-amz-meta-sha256``, ``Content-MD5``)."""
    return bool(_DIGEST_WORDS.intersection(name_tokens(name)))


SECRET_KEY_NAMES = frozenset(
    {
        "aws_secret_access_key",
        "secret_access_key",
        "secretaccesskey",
        "aws_secret_key",
        "secret_key",
        "secretkey",
        "secret",
        "aws_secret",
    }
)
SESSION_TOKEN_NAMES = frozenset(
    {
        "aws_session_token",
        "session_token",
        "sessiontoken",
        "x_amz_security_token",
        "security_token",
        "securitytoken",
    }
)
CREDENTIAL_NAMES = frozenset(
    {
        "password",
        "passwd",
        "api_key",
        "apikey",
        "x_api_key",
        "api_token",
        "auth_token",
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "private_key",
        "proxy_authorization",
        "x_goog_api_key",
        "x_amz_server_side_encryption_customer_key",
        "x_auth_token",
        "private_token",
        "openai_api_key",
        "anthropic_api_key",
        "cookie",
        "set_cookie",
        "aws_secret_access_key",
        "secret_access_key",
        "secretaccesskey",
        "aws_secret_key",
        "secret_key",
        "secretkey",
    }
)  # not a bare "secret": that key names secrets (Secrets Manager ids, config refs) more often than it holds one
AUTHORIZATION_NAMES = frozenset({"authorization"})
ACCOUNT_NAMES = frozenset(
    {
        "account",
        "account_id",
        "accountid",
        "aws_account_id",
        "awsaccountid",
        "x_amz_expected_bucket_owner",
        "x_amz_source_account",
        "x_amz_account_id",
        "owner_account_id",
        "x_amzn_account",
        "x_amzn_account_id",
        "x_account_id",
        "account_number",
    }
)
OPENAI_ID_NAMES = frozenset({"openai_organization", "openai_project"})

# Headers whose values are ids, hashes, dates or protocol noise: never entropy-checked (regex rules still run).
BENIGN_HEADERS = frozenset(
    norm_name(h)
    for h in (
        "content-type",
        "content-length",
        "content-encoding",
        "content-md5",
        "content-range",
        "content-disposition",
        "content-language",
        "date",
        "etag",
        "last-modified",
        "expires",
        "cache-control",
        "age",
        "server",
        "via",
        "vary",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "accept",
        "accept-encoding",
        "accept-ranges",
        "accept-language",
        "user-agent",
        "x-amz-user-agent",
        "host",
        "strict-transport-security",
        "alt-svc",
        "x-amzn-requestid",
        "x-amzn-request-id",
        "x-amz-request-id",
        "x-amz-id-2",
        "x-amz-version-id",
        "x-amz-cf-id",
        "x-amz-cf-pop",
        "x-amzn-trace-id",
        "x-amz-apigw-id",
        "x-amz-date",
        "x-amz-content-sha256",
        "x-amz-server-side-encryption",
        "x-amz-server-side-encryption-customer-key-md5",
        "x-amz-server-side-encryption-customer-algorithm",
        "x-amz-server-side-encryption-aws-kms-key-id",
        "x-amz-server-side-encryption-context",
        "x-amz-expiration",
        "x-amz-restore",
        "x-amz-storage-class",
        "x-amz-mp-parts-count",
        "x-amz-delete-marker",
        "x-amz-replication-status",
        "x-amz-bucket-region",
        "x-amz-copy-source-version-id",
        "x-amz-decoded-content-length",
        "x-amz-trailer",
        "x-amzn-errortype",
        "x-amzn-query-error",
        "amz-sdk-invocation-id",
        "amz-sdk-request",
        "x-request-id",
        "request-id",
        "openai-processing-ms",
        "openai-version",
        "openai-model",
        "traceparent",
        "tracestate",
        "retry-after",
        "retry-after-ms",
        "x-should-retry",
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
        "content-security-policy",
        "link",
        "event-type",
        "message-type",
        "exception-type",
        "error-code",
        "x-envoy-upstream-service-time",
        "x-cloud-trace-context",
        "expect",
    )
)
BENIGN_HEADER_PREFIXES = tuple(
    norm_name(p)
    for p in (
        "access-control-",
        "x-ratelimit-",
        "x-stainless-",
        "x-amzn-bedrock-",
        "x-amz-checksum-",
        "x-amz-object-lock-",
        "x-envoy-",
        "anthropic-ratelimit-",
        "cf-",
        "openai-",
    )
)

# ---- placeholders: what sanitizers (ours and others') write in place of a secret ---------------------------

_PLACEHOLDER_SUBSTRINGS = (
    "redacted",
    "example",
    "placeholder",
    "dummy",
    "changeme",
    "xxxx",
    "****",
    "your_",
    "your-",
    "yourkey",
    "<",
    ">",
    "${",
    "{{",
    "...",
    "…",
    "%s",
    "scrubbed",
    "filtered",
    "masked",
    "removed",
    "hidden",
)
_PLACEHOLDER_WORDS = re.compile(
    r"(?i)(?:^|[^a-z])(?:fake|mock|test|testing|sample|invalid|notreal|none|null)"
    r"(?:[^a-z]|$)"
)
_PLACEHOLDER_EXACT = frozenset(
    {
        "123456789012",
        "210987654321",
        "012345678901",
        "secret",
        "password",
        "changeme",
        "token",
        "apikey",
        "none",
        "null",
        "true",
        "false",
    }
)
_ENV_NAME = re.compile(r"^\$?[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_KNOWN_PREFIX = re.compile(
    r"^(?:sk-(?:ant-|proj-|svcacct-|admin-)?|AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA|"
    r"gh[pousr]_|github_pat_|AIza|Bearer\s+|org-|proj_)"
)


def is_placeholder(secret: str) -> bool:
    """True for values that only stand in for a secret: REDACTED, EXAMPLE keys, 000000000000, xxxx, runs."""
    s = secret.strip()
    low = s.lower()
    if not s or low in _PLACEHOLDER_EXACT or any(p in low for p in _PLACEHOLDER_SUBSTRINGS):
        return True
    if _PLACEHOLDER_WORDS.search(s) or _ENV_NAME.match(s):
        return True
    core = _KNOWN_PREFIX.sub("", s)
    chars = [c for c in core if c.isalnum()]
    if len(set(chars)) < 5:  # 000000000000, sk-aaaa…, AKIAAAAA…, ********
        return True
    # alphabet/digit runs such as abcdefgh…, 0123456789… (Bedrock's stream padding is one)
    steps = sum(1 for a, b in zip(chars, chars[1:], strict=False) if ord(b) - ord(a) == 1)
    return len(chars) > 8 and steps / (len(chars) - 1) > 0.6


def is_placeholder_text(value: str) -> bool:
    """True for values written as a placeholder (REDACTED, ${VAR}, <password>, ****); short real ones are not."""
    low = value.strip().lower()
    return not low or low in _PLACEHOLDER_EXACT or any(p in low for p in _PLACEHOLDER_SUBSTRINGS)


def basic_credentials(token: str) -> str | None:
    """The ``user:password`` a Basic token encodes, or None when it does not decode to one."""
    raw = b64decode_loose(token)
    text = printable_text(raw) if raw is not None else None
    return text if text is not None and ":" in text else None


_TIMESTAMP = re.compile(r"^(?:19[7-9]\d|20\d\d)(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?:[01]\d|2[0-3])[0-5]\d$")


def looks_like_timestamp(digits: str) -> bool:
    """True for 12 digits that read as YYYYMMDDhhmm (a build or batch id, not an AWS account)."""
    return bool(_TIMESTAMP.match(digits))


def has_random_segment(body: str) -> bool:
    """True when a hyphen/underscore-separated value has a generated-looking part (8+ chars, mixed classes)."""
    for part in re.split(r"[-_]", body):
        if len(part) >= 8 and (looks_mixed(part) or (part.lower() != part and part.upper() != part)):
            return True
    return False


_DIGEST = re.compile(r"^(?:[0-9a-f]{40}|[0-9A-F]{40}|[0-9a-f]{64})$")


def looks_like_digest(value: str) -> bool:
    """True for a hex sha1/sha256 (a git sha, a content hash) in one letter case."""
    return bool(_DIGEST.match(value)) and not value.isdigit()


def looks_like_aws_secret(value: str) -> bool:
    """40 base64 chars with upper and lower case: a secret key, not a hex digest (a git sha is lower-case hex)."""
    return any(c.isupper() for c in value) and any(c.islower() for c in value)


def looks_mixed(secret: str) -> bool:
    """True when a value has both a letter and a digit, as generated keys do and English words do not."""
    return any(c.isdigit() for c in secret) and any(c.isalpha() for c in secret)


def normalise(secret: str) -> str:
    """The form of a secret that is fingerprinted: URL-decoded, so quoted and plain copies share a fingerprint."""
    return unquote(secret) if "%" in secret else secret


def b64decode_loose(run: str) -> bytes | None:
    """Decode standard or URL-safe base64 with or without padding; None when it is not base64."""
    run = run.rstrip("=")
    if len(run) % 4 == 1:
        return None
    padded = run + "=" * (-len(run) % 4)
    try:
        if "-" in run or "_" in run:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def printable_text(raw: bytes) -> str | None:
    """The bytes as text when they are printable UTF-8 (newlines and tabs allowed), else None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if all(c.isprintable() or c in "\r\n\t" for c in text) else None


# ---- entropy --------------------------------------------------------------------------------------------

ENTROPY_TOKEN = re.compile(r"[A-Za-z0-9+/=_~-]{24,}")
_UUIDISH = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S*")
_WORD_SEP = re.compile(r"[/+=_~-]")
# provider object ids (OpenAI, Anthropic, Bedrock): identifiers echoed in headers, never credentials
_ID_PREFIX = re.compile(
    r"^(?:chatcmpl|cmpl|resp|msg|req|call|toolu|tooluse|run|thread|asst|file|batch|evt|ft|"
    r"ftjob|vs|step|modr|embd|rs|fc|ws|srvtoolu|compl)[-_][A-Za-z0-9]+$"
)
_HAS_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# hex (optionally behind a short word prefix: req_…, sha256-…) is a digest or an id far more often than a key
_HEXISH = re.compile(r"^(?:[A-Za-z]{1,12}[_-])?[0-9a-fA-F]+$")
ENTROPY_MIN_BITS = 4.0  # bits/char; 95% of random 24-char base64 tokens reach it, English-ish ids do not


def shannon_entropy(text: str) -> float:
    """Shannon entropy of a string in bits per character."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def high_entropy_tokens(value: str) -> list[str]:
    """Tokens of a header value that look like random credentials (not ids, hashes, dates, URLs or placeholders)."""
    out = []
    # URLs are skipped: their paths are words and ids; credentials in them are the regex rules' job (presigned)
    for m in ENTROPY_TOKEN.finditer(_URL.sub(" ", value)):
        tok = m.group(0)
        if (
            _UUIDISH.match(tok)
            or _HAS_UUID.search(tok)
            or _HEXISH.match(tok)
            or _ID_PREFIX.match(tok)
            or is_placeholder(tok)
        ):
            continue
        parts = [part for part in _WORD_SEP.split(tok) if part]
        if len(parts) > 1 and all((part.isalpha() and len(part) <= 16) or part.isdigit() for part in parts):
            continue  # words joined by / - _ (paths, slugs), not a random token
        raw = b64decode_loose(tok)
        if raw is not None and printable_text(raw) is not None:
            continue  # base64 of text: an encoding, not random bytes (the decoded text is scanned on its own)
        classes = sum((any(c.isupper() for c in tok), any(c.islower() for c in tok), any(c.isdigit() for c in tok)))
        if classes >= 2 and shannon_entropy(tok) >= ENTROPY_MIN_BITS:
            out.append(tok)
    return out


@_names_cache
def is_benign_header(name: str) -> bool:
    """True for headers whose values are never credentials (ids, hashes, dates, rate limits)."""
    if is_credential_header(name):
        return False  # CF-Access-Client-Secret: a benign prefix never excuses a credential name
    n = norm_name(name)
    return n in BENIGN_HEADERS or n.startswith(BENIGN_HEADER_PREFIXES) or is_digest_name(name)


# ---- matching ------------------------------------------------------------------------------------------


def secret_spans(text: str) -> list[tuple[str, int, int, str]]:
    """(rule id, start, end, secret) of every non-placeholder match, by offset; overlaps go to the earlier rule.

    The scanner reports these; the sanitizer replaces exactly these spans, so what one flags the other scrubs.
    """
    cands: list[tuple[int, int, int, Rule, str]] = []
    for rule in TEXT_RULES:
        assert rule.regex is not None
        for m in rule.regex.finditer(text):
            group = next(g for g, val in m.groupdict().items() if val is not None)
            start, end = m.span(group)
            if rule.id == "aws-secret-access-key" and group == "s2" and looks_like_digest(m.group(group)):
                continue  # {"secret": "<git sha>"}
            cands.append((PRIORITY[rule.id], start, end, rule, m.group(group)))
    for start, end, secret in private_keys(text):
        cands.append((PRIORITY["private-key"], start, end, RULES_BY_ID["private-key"], secret))
    cands.sort(key=lambda c: (c[0], c[1]))
    kept: list[tuple[int, int, Rule, str]] = []
    for _prio, start, end, rule, secret in cands:
        if not any(start < k_end and k_start < end for k_start, k_end, _r, _s in kept):
            kept.append((start, end, rule, secret))
    out = []
    for start, end, rule, secret in sorted(kept, key=lambda k: k[0]):
        plain = normalise(secret)
        if rule.id == "aws-account-id":
            # any 12 digits can be a real account: only the documented placeholders and timestamps are skipped
            if plain in _PLACEHOLDER_EXACT or len(set(plain)) == 1 or looks_like_timestamp(plain):
                continue
        elif rule.id in ("basic-auth", "url-userinfo"):
            # short passwords are real passwords: only a written placeholder (REDACTED, ${VAR}, …) is skipped
            shown = basic_credentials(plain) if rule.id == "basic-auth" else plain
            if shown is None or is_placeholder_text(shown):
                continue
        elif rule.id != "private-key" and is_placeholder(plain):
            continue
        elif rule.id == "openai-api-key" and not has_random_segment(plain[3:]):
            continue  # sk-learn-compatible-…, sk-2024-finetuned-…: hyphenated words, not a key
        elif rule.id == "aws-secret-near-key-id" and not looks_like_aws_secret(plain):
            continue
        if rule.needs_mixed and not looks_mixed(plain):
            continue
        out.append((rule.id, start, end, secret))
    return out


def text_matches(text: str) -> list[tuple[str, str, int]]:
    """(rule id, secret, offset) of every non-placeholder match; overlapping matches go to the earlier rule."""
    return [(rule_id, secret, start) for rule_id, start, _end, secret in secret_spans(text)]


def private_keys(text: str) -> list[tuple[int, int, str]]:
    r"""PEM private key blocks with a real body (32+ base64 chars); cut-off blocks count too.

    The secret is the block rebuilt from its base64 characters only, so the same key has one fingerprint
    whether it appears raw, JSON-escaped (``\\n``) or folded by YAML.
    """
    out = []
    for m in PEM_BEGIN.finditer(text):
        end_m = PEM_END.search(text, m.end(), m.end() + 16384)
        stop = end_m.end() if end_m else min(len(text), m.end() + 4096)
        body = PEM_ESCAPES.sub("", text[m.end() : end_m.start() if end_m else stop])
        if "redacted" in body.lower():
            continue
        chars = "".join(PEM_BODY_CHARS.findall(body))
        if len(chars) >= 32:
            out.append((m.start(), stop, f"{m.group(0)}{chars}"))
    return out


def canonical_secret(secret: str) -> str:
    """The form of a secret that is fingerprinted: URL-decoded; a PEM block reduced to its base64 characters."""
    m = PEM_BEGIN.match(secret)
    if m:
        blocks = private_keys(secret)
        return blocks[0][2] if blocks else secret
    return normalise(secret)
