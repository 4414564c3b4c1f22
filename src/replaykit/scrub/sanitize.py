"""Scrub rules: what replaykit removes or replaces before an exchange can reach a cassette.

Two layers. ``scrub_request`` runs on every request as vcrpy sees it (record *and* match time), so the
canonical host, dropped signature noise and placeholders are identical on both sides of a match.
``scrub_exchange`` runs on the decoded exchange just before it is written: every header, the URI, JSON at
any depth (keys too), event stream payloads and headers, SSE data, base64-wrapped payloads and text bodies.
The secret scanner then checks the result; a survivor refuses the write.
"""

from __future__ import annotations

import base64
import binascii
import copy
import dataclasses
import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from replaykit.cassette import bodies
from replaykit.codecs import charset as _charset
from replaykit.codecs import checksums, compression
from replaykit.codecs.safe import load_json
from replaykit.errors import CodecError
from replaykit.exchange import Body, Exchange
from replaykit.providers import PLACEHOLDER_ACCOUNT, canonical_uri, rewrite_to_canonical, s3, scrub_accounts, selectors
from replaykit.scrub import patterns as P
from replaykit.scrub import streams
from replaykit.scrub.scanner import (
    PLACEHOLDER_ACCESS_KEY_ID,
    PLACEHOLDER_ANTHROPIC_KEY,
    PLACEHOLDER_JWT,
    PLACEHOLDER_OPENAI_KEY,
    PLACEHOLDER_PRIVATE_KEY,
    PLACEHOLDER_SECRET,
)

REDACTED = PLACEHOLDER_SECRET
Edit = streams.Edit

# request headers that are pure noise (dates, invocation ids, telemetry) and are not stored at all
DROP_REQUEST_HEADERS = frozenset(
    h.lower()
    for h in (
        "X-Amz-Date",
        "amz-sdk-invocation-id",
        "amz-sdk-request",
        "User-Agent",
        "X-Amz-User-Agent",
        "X-Amz-Content-SHA256",
        "Expect",
        "Content-Length",
        "Transfer-Encoding",
        "X-Amz-Decoded-Content-Length",
        "X-Amz-Trailer",
        "Connection",
        "Accept-Encoding",
        "Host",
    )
)
# request header families that are SDK telemetry, dropped by prefix: the openai and anthropic SDKs (Stainless-
# generated) add new x-stainless-* headers release by release (-timeout, -stream-helper, ...)
DROP_REQUEST_HEADER_PREFIXES = ("x-stainless-",)
# a response Server header naming a local Python server (moto's Werkzeug, the sandbox's http.server) says
# nothing about the provider and would tell a reader the cassette came from 127.0.0.1
_LOCAL_SERVER = re.compile(r"(?i)werkzeug|python/|replaykit-sandbox|basehttp")
# headers whose whole value is a credential or an identity echo (plus the scanner's credential names)
SECRET_HEADERS = frozenset(
    h.lower()
    for h in (
        "Authorization",
        "X-Amz-Security-Token",
        "Cookie",
        "Set-Cookie",
        "OpenAI-Organization",
        "OpenAI-Project",
        "x-api-key",
        "api-key",
        "Proxy-Authorization",
        "x-amz-server-side-encryption-customer-key",
    )
)
SECRET_QUERY = frozenset(
    q.lower()
    for q in (
        "X-Amz-Credential",
        "X-Amz-Signature",
        "X-Amz-Security-Token",
        "AWSAccessKeyId",
        "Signature",
        "api_key",
        "api-key",
        "key",
        "token",
        "access_token",
    )
)
_AWS_SECRET_SHAPE = re.compile(r"^[A-Za-z0-9/+=]{40}$")
_ACCOUNT_SHAPE = re.compile(r"^\d{12}$")
_B64 = re.compile(r"^[A-Za-z0-9+/]{16,}={0,2}$")

# what each scanner rule's secret is replaced with: same family, visibly fake, never flagged again
_REPLACEMENT: dict[str, str] = {
    "private-key": PLACEHOLDER_PRIVATE_KEY,
    "aws-access-key-id": PLACEHOLDER_ACCESS_KEY_ID,
    "aws-sigv4-credential": PLACEHOLDER_ACCESS_KEY_ID,
    "anthropic-api-key": PLACEHOLDER_ANTHROPIC_KEY,
    "openai-api-key": PLACEHOLDER_OPENAI_KEY,
    "jwt": PLACEHOLDER_JWT,
    "aws-account-id": PLACEHOLDER_ACCOUNT,
}


def _replacement(rule_id: str, secret: str) -> str:
    if rule_id == "openai-identifier":
        return "org-REDACTED" if secret.startswith("org-") else "proj_REDACTED"
    return _REPLACEMENT.get(rule_id, REDACTED)


@dataclass
class Rules:
    """User scrub rules from ``[tool.replaykit.sanitize]``: added to the built-in provider rules."""

    headers: frozenset[str] = frozenset()
    query: frozenset[str] = frozenset()
    json_paths: tuple[str, ...] = ()
    regex: tuple[tuple[re.Pattern[str], str], ...] = ()
    host_map: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, cfg: dict[str, Any], host_map: dict[str, str] | None = None) -> Rules:
        """Build rules from the ``sanitize`` table of the configuration."""
        return cls(
            headers=frozenset(h.lower() for h in cfg.get("headers", ())),
            query=frozenset(q.lower() for q in cfg.get("query", ())),
            json_paths=tuple(cfg.get("json_paths", ())),
            regex=tuple((re.compile(r["pattern"]), r.get("replacement", REDACTED)) for r in cfg.get("regex", ())),
            # the live dict, not a copy: the plugin fills it when the sandbox starts, after cassettes exist
            host_map=host_map if host_map is not None else {},
        )


# stricter than the scanner on purpose: any "Bearer <token>" goes, even an all-digit token the scanner would skip
_BEARER = re.compile(r"(?i)(?<![A-Za-z0-9])(Bearer\s+)(?!REDACTED\b|sk-REDACTED\b)([A-Za-z0-9._~+/=-]{16,})")


def _bearer(m: re.Match[str]) -> str:
    token = m.group(2)
    # "the standard bearer responsibilities": a single-case word after "bearer" is prose, not a token
    if token.isalpha() and (token.islower() or token.isupper()):
        return m.group(0)
    return m.group(1) + REDACTED


# AWS's documented example key ids (AKIAIOSFODNN7EXAMPLE, which moto and docs hand out) are placeholders to the
# scanner, but other scanners (detect-secrets) flag their shape: a cassette carries replaykit's placeholder instead
_EXAMPLE_KEY_ID = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{9}EXAMPLE(?![A-Z0-9])")


def _bearer_edits(text: str) -> list[Edit]:
    if "earer" not in text and "EARER" not in text:
        return []
    return [(m.start(2), m.end(2), REDACTED) for m in _BEARER.finditer(text) if _bearer(m) != m.group(0)]


def _example_edits(text: str) -> list[Edit]:
    if "EXAMPLE" not in text:
        return []
    return [(m.start(), m.end(), PLACEHOLDER_ACCESS_KEY_ID) for m in _EXAMPLE_KEY_ID.finditer(text)]


def _secret_edits(text: str) -> list[Edit]:
    return [(start, end, _replacement(rule_id, secret)) for rule_id, start, end, secret in P.secret_spans(text)]


# the built-in passes, in order: each reads the text the previous one wrote (example key ids last: a secret
# next to one is found by the key id)
_PASSES = (_bearer_edits, _secret_edits, _example_edits)


def _replace_spans(text: str) -> str:
    for find in _PASSES:
        edits = find(text)
        if edits:
            text = streams.apply_edits(text, edits)
    return text


# header values and URLs repeat on every request of a run: remember the short ones (measured 70 → 19 µs/request)
_replace_spans_cached = lru_cache(maxsize=16384)(_replace_spans)


def scrub_string(text: str, rules: Rules | None = None) -> str:
    """Replace every secret the scanner's rule table finds in a string (and each user regex) with a placeholder."""
    if not text:
        return text
    text = _replace_spans_cached(text) if len(text) <= 2048 else _replace_spans(text)
    if rules:
        for pattern, repl in rules.regex:
            text = pattern.sub(repl, text)
    return text


def scrub_passes(text: str, rules: Rules | None = None) -> tuple[str, list[list[Edit]]]:
    """What ``scrub_value`` makes of a string, and the edits of each pass that made it.

    Each pass's offsets are in the text that pass read. ``replaykit.scrub.streams.split_edits`` maps them onto
    the fragments a stream split the text into.
    """
    original = text
    expected = _scrub_base64(scrub_string(original, rules), rules)
    if expected == original:
        return original, []
    passes: list[list[Edit]] = []
    finders: list[Callable[[str], list[Edit]]] = list(_PASSES)
    for pattern, repl in rules.regex if rules else ():
        finders.append(functools.partial(_regex_edits, pattern, repl))
    for find in finders:
        edits = find(text)
        if edits:
            text = streams.apply_edits(text, edits)
            passes.append(edits)
    wrapped = _scrub_base64(text, rules)
    if wrapped != text:
        passes.append([(0, len(text), wrapped)])
        text = wrapped
    if text != expected:  # the passes and scrub_string disagree (a user regex's template): trust scrub_string
        return expected, [streams.diff_edit(original, expected)]
    return text, passes


def _regex_edits(pattern: re.Pattern[str], repl: str, text: str) -> list[Edit]:
    return [(m.start(), m.end(), m.expand(repl)) for m in pattern.finditer(text)]


def _scrub_base64(text: str, rules: Rules | None) -> str:
    if len(text) < 16 or not _B64.match(text):
        return text
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text
    cleaned = scrub_bytes(raw, rules)
    return text if cleaned is None else base64.b64encode(cleaned).decode("ascii")


_MAX_LAYERS = 8  # payloads inside payloads followed, as the scanner follows them


def scrub_bytes(raw: bytes, rules: Rules | None = None, depth: int = 0) -> bytes | None:
    """Binary data with the secrets inside scrubbed and re-encoded as it was; None when nothing changed.

    Opens what the scanner opens: UTF-8/16/32 text (JSON scrubbed as JSON), gzip, zlib, raw deflate, brotli and
    zstd payloads, zip archives (a docx) member by member, and whole gzip/zstd streams inside other data (a file
    in a multipart upload), then compresses and encodes each layer back. A payload that cannot be re-encoded
    (a truncated stream) is left alone: the scanner still reads it, so a secret inside refuses the write.
    """
    found = _charset.detect(raw)
    if found is not None and (found[1].plain_utf8 or _charset.is_printable(found[0])):
        text, cs = found
        cleaned = _scrub_text_or_json(text, rules)
        return None if cleaned == text else cs.encode(cleaned)
    if depth >= _MAX_LAYERS or len(raw) < 8:
        return None
    try:
        opened = compression.unpack(raw, is_text=_is_text)
    except compression.TooLargeError:
        return None  # a decompression bomb is kept as it is
    if opened is not None:
        kind, content = opened
        if isinstance(content, dict):
            members = {name: scrub_bytes(data, rules, depth + 1) for name, data in content.items()}
            if all(v is None for v in members.values()):
                return None
            merged = {name: new if new is not None else content[name] for name, new in members.items()}
            return _repacked(kind, merged, raw)
        inner = scrub_bytes(content, rules, depth + 1)
        return None if inner is None else _repacked(kind, inner, raw)
    changed = False
    out = bytearray()
    last = 0
    for start, end, kind, content in compression.embedded(raw):
        inner = scrub_bytes(content, rules, depth + 1)
        packed = None if inner is None else _repacked(kind, inner, raw[start:end])
        if packed is not None:
            out += raw[last:start] + packed
            last, changed = end, True
    return bytes(out + raw[last:]) if changed else None


def _repacked(kind: str, content: bytes | dict[str, bytes], original: bytes) -> bytes | None:
    """The payload compressed back; None when it cannot be (a zip method Python cannot write).

    Then it is left as it was, and the scanner, which still reads it, refuses the write.
    """
    try:
        return compression.repack(kind, content, original)
    except Exception:  # noqa: BLE001 - any codec's refusal means "cannot be encoded back"
        return None


def _is_text(raw: bytes) -> bool:
    return _charset.printable_text(raw) is not None


def _scrub_text_or_json(text: str, rules: Rules | None) -> str:
    stripped = text.strip()
    if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
        try:
            doc = load_json(stripped)
        except ValueError:
            doc = None
        if isinstance(doc, (dict, list)):
            cleaned = scrub_value(doc, rules)
            return text if cleaned == doc else json.dumps(cleaned, separators=(",", ":"), ensure_ascii=False)
    return scrub_string(text, rules)


def scrub_value(value: Any, rules: Rules | None = None, path: str = "$") -> Any:
    """Scrub a JSON value at any depth: strings, dict keys, secret-named fields, base64-wrapped text."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            new_key = scrub_string(key, rules) if isinstance(key, str) else key
            child = f"{path}.{key}"
            if isinstance(key, str) and isinstance(item, str) and item and _secret_by_name(key, item):
                out[new_key] = PLACEHOLDER_ACCOUNT if _ACCOUNT_SHAPE.match(item) else REDACTED
            elif rules and _path_matches(child, rules.json_paths):
                out[new_key] = _placeholder_like(item)
            else:
                out[new_key] = scrub_value(item, rules, child)
        return out
    if isinstance(value, list):
        return [scrub_value(v, rules, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str):
        return _scrub_base64(scrub_string(value, rules), rules)
    return value


def _secret_by_name(key: str, value: str) -> bool:
    """Whether a key names its string value as a credential (or an account id), as the scanner judges it."""
    if P.is_placeholder(value):
        return False
    if P.is_credential_name(key):
        return True
    if P.name_in(key, P.SECRET_KEY_NAMES):
        bare_digest = P.squash(key) == "secret" and P.looks_like_digest(value)  # {"secret": "<git sha>"}
        return bool(_AWS_SECRET_SHAPE.match(value)) and not bare_digest
    return P.is_account_name(key) and bool(_ACCOUNT_SHAPE.match(value)) and not P.looks_like_timestamp(value)


def _placeholder_like(value: Any) -> Any:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return type(value)(0)
    if isinstance(value, list):
        return []
    if isinstance(value, dict):
        return {}
    return REDACTED


def _path_matches(path: str, patterns: tuple[str, ...]) -> bool:
    if not patterns:
        return False
    plain = re.sub(r"\[\d+\]", "[*]", path)
    return any(plain == ("$." + p.lstrip("$.") if not p.startswith("$") else p) for p in patterns)


def scrub_uri(uri: str, rules: Rules | None = None) -> str:
    """Canonical host, presigned/credential query parameters replaced, account ids scrubbed."""
    if rules and rules.host_map:
        uri = rewrite_to_canonical(uri, rules.host_map)
    parts = urlsplit(uri)
    secret = SECRET_QUERY | (rules.query if rules else frozenset())
    if parts.query:
        # values are scrubbed decoded: a secret in a query value is percent-encoded on the wire
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        cleaned = [
            (
                k,
                REDACTED
                if k.lower() in secret
                else "19700101T000000Z"
                if k.lower() == "x-amz-date"
                else scrub_string(v, rules),
            )
            for k, v in pairs
        ]
        if cleaned != pairs:
            parts = parts._replace(query=urlencode(cleaned, safe="/:"))
    path = scrub_accounts(parts.path) if "arn" in parts.path else parts.path
    if "%3A" in path and "arn%3Aaws" in path:
        path = re.sub(
            r"(arn%3Aaws[a-z-]*%3A[a-z0-9-]+%3A[a-z0-9-]*%3A)\d{12}(?=%3A)", r"\g<1>" + PLACEHOLDER_ACCOUNT, path
        )
    return scrub_string(urlunsplit(parts._replace(path=path)), rules)


def scrub_authorization(value: str) -> str:
    """Keep what a SigV4 header says (scheme, region, service, signed headers), drop key, date and signature."""
    m = re.match(
        r"AWS4-HMAC-SHA256 Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request,\s*SignedHeaders=([^,]+)", value
    )
    if m:
        region, service, signed = m.groups()
        # headers the cassette drops are not listed as signed either (anthropic's SDK signs its x-stainless-*)
        signed = ";".join(h for h in signed.split(";") if not h.startswith(DROP_REQUEST_HEADER_PREFIXES))
        return (
            f"AWS4-HMAC-SHA256 Credential={PLACEHOLDER_ACCESS_KEY_ID}/19700101/{region}/{service}/aws4_request, "
            f"SignedHeaders={signed}, Signature={REDACTED}"
        )
    if value.lower().startswith("bearer "):
        return "Bearer " + PLACEHOLDER_OPENAI_KEY
    return REDACTED


def scrub_headers(headers: dict[str, list[str]], *, request: bool, rules: Rules | None = None) -> dict[str, list[str]]:
    """Drop noise headers (requests), replace credential headers, scrub secret shapes in the rest."""
    extra = rules.headers if rules else frozenset()
    out: dict[str, list[str]] = {}
    for name, values in headers.items():
        lname = name.lower()
        if request and (lname in DROP_REQUEST_HEADERS or lname.startswith(DROP_REQUEST_HEADER_PREFIXES)):
            continue
        if not request and lname == "server" and any(_LOCAL_SERVER.search(v) for v in values):
            continue
        if lname == "authorization":
            out[name] = [scrub_authorization(v) for v in values]
        elif lname in SECRET_HEADERS or lname in extra or P.is_credential_name(name) or P.is_credential_header(name):
            out[name] = [v if P.is_placeholder_text(v) else REDACTED for v in values]
        else:
            out[name] = [_scrub_header_value(name, v, rules) for v in values]
    return out


def _scrub_header_value(name: str, value: str, rules: Rules | None) -> str:
    value = scrub_string(value, rules)
    if P.is_account_name(name) and _ACCOUNT_SHAPE.match(value) and not P.looks_like_timestamp(value):
        return PLACEHOLDER_ACCOUNT
    if P.is_benign_header(name):
        return value
    # random-looking tokens in unknown headers are credentials until proven otherwise (the scanner agrees)
    for token in P.high_entropy_tokens(value):
        value = value.replace(token, REDACTED)
    return value


def normalise_header_values(headers: Any) -> dict[str, list[str]]:
    """Header mapping with str names and lists of str values (botocore hands vcrpy bytes)."""
    out: dict[str, list[str]] = {}
    items = headers.items() if hasattr(headers, "items") else headers
    for name, value in items:
        key = name if type(name) is str else name.decode("latin-1") if isinstance(name, bytes) else str(name)
        if type(value) is str:  # nearly every header: one text value
            values = [value]
        else:
            values = [
                v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                for v in (value if isinstance(value, list) else [value])
            ]
        known = out.get(key)
        if known is None:
            out[key] = values
        else:
            known.extend(values)
    return out


def scrub_request(request: Any, rules: Rules | None = None) -> Any:
    """The vcrpy ``before_record_request`` hook: canonical, credential-free request (a copy)."""
    request = copy.copy(request)
    headers = normalise_header_values(request.headers)
    body = request.body
    if hasattr(body, "read"):
        # botocore hands file-like bodies (PutObject); vcrpy would store them as Python-specific YAML tags
        body = body.read()
        request.body = body
    if isinstance(body, (bytes, bytearray)) and any(
        k.lower() == "content-encoding" and "aws-chunked" in v[0] for k, v in headers.items()
    ):
        body = s3.decode_aws_chunked(bytes(body))
        headers = {k: v for k, v in headers.items() if k.lower() != "content-encoding"}
        request.body = body
    # the host the SDK would address on AWS, decided by the signature (service and region) before it is scrubbed
    host_map = rules.host_map if rules is not None else None
    uri = canonical_uri(request.method, request.uri, selectors(request.uri, headers, body), host_map)
    request.uri = scrub_uri(uri, rules)
    request.headers = {
        k: v[0] if len(v) == 1 else ", ".join(v) for k, v in scrub_headers(headers, request=True, rules=rules).items()
    }
    return request


def scrub_body(body: Body, rules: Rules | None = None) -> Body:
    """Scrub a decoded body of any kind (its wire form, ``content_encoding`` and ``charset``, kept)."""
    if body.kind == "json":
        value: Any = scrub_value(body.value, rules)
    elif body.kind == "text":
        value = scrub_string(body.value, rules)
    elif body.kind in streams.BODY_KINDS:
        value = scrub_events(body.kind, body.value, rules)
    elif body.kind == "base64" and isinstance(body.value, str):
        # binary data: compressed files, archives, UTF-16 text that was not stored as text
        try:
            raw = base64.b64decode(body.value, validate=False)
        except (binascii.Error, ValueError):
            return body
        cleaned = scrub_bytes(raw, rules)
        if cleaned is None:
            return body
        value = base64.b64encode(cleaned).decode("ascii")
    else:
        return body
    return dataclasses.replace(body, value=value)


_MAX_ROUNDS = 4  # each round only ever removes text; the scanner refuses the write if any secret is left after


def scrub_events(kind: str, events: list[Any], rules: Rules | None = None) -> list[Any]:
    """Scrub stream events (``sse`` or ``eventstream``): each logical text whole, then every event on its own.

    A secret streamed over several deltas is found in the joined text of its content block or tool call and removed
    from the fragments (``replaykit.scrub.streams``): the same number of events, whose fragments join to the
    scrubbed text. Then each event is scrubbed as any JSON is. Should that change a fragment (a fragment alone can
    look like a key its neighbours make a longer word of), the texts are joined and scrubbed again.
    """
    events = _scrub_joined(kind, events, rules, copy_first=True)
    for _ in range(_MAX_ROUNDS):
        scrubbed = [scrub_value(ev, rules) for ev in events]
        if scrubbed == events:
            return scrubbed  # nothing left for either pass
        rejoined = _scrub_joined(kind, scrubbed, rules, copy_first=False)
        if rejoined is scrubbed:
            return scrubbed
        events = rejoined
    return events


def _scrub_joined(kind: str, events: list[Any], rules: Rules | None, *, copy_first: bool) -> list[Any]:
    """``events`` with each multi-event text scrubbed whole (the same list when nothing changed)."""
    changes: list[tuple[int, list[str]]] = []
    view = streams.StreamView(kind, events)
    for i, text in enumerate(view.texts):
        if len(text.fragments) < 2:
            continue  # one fragment is the event's own string: scrub_value sees it whole
        pieces = text.pieces()
        joined = "".join(pieces)
        scrubbed, passes = scrub_passes(joined, rules)
        if scrubbed == joined:
            continue
        for edits in passes:
            pieces = streams.split_edits(pieces, edits)
        changes.append((i, pieces))
    if not changes:
        return events
    if copy_first:
        events = copy.deepcopy(events)
        view = streams.StreamView(kind, events)
    for i, pieces in changes:
        view.replace(view.texts[i], pieces)
    return events


def _checked_headers(headers: dict[str, list[str]], old: Body, new: Body) -> dict[str, list[str]]:
    """Body checksums (``x-amz-checksum-*``, ``Content-MD5``, an MD5 ETag) recomputed for the bytes a replay serves.

    Needed when the scrub changed the body, or when its wire form is redone (a decoded compressed body is
    compressed again, not necessarily to the server's bytes). A kept checksum of other bytes would fail the
    SDK's check on replay (S3 GetObject with ChecksumMode=ENABLED raises FlexibleChecksumError), and a stale
    one of unscrubbed bytes would tie the cassette to the secret.
    """
    if new == old and not new.content_encoding:
        return headers
    if not any(checksums.is_checksum(k) or k.lower() == "etag" for k in headers):
        return headers
    try:
        before = bodies.encode_wire(old)
    except CodecError:
        before = None
    return checksums.refresh(headers, bodies.encode_wire(new), before)


def scrub_exchange(ex: Exchange, rules: Rules | None = None) -> Exchange:
    """A fully scrubbed copy of an exchange, ready to be scanned and written."""
    req, resp = ex.request, ex.response
    req_body, resp_body = scrub_body(req.body, rules), scrub_body(resp.body, rules)
    new_req = type(req)(
        req.method,
        scrub_uri(req.uri, rules),
        _checked_headers(scrub_headers(req.headers, request=True, rules=rules), req.body, req_body),
        req_body,
    )
    new_resp = type(resp)(
        resp.status,
        resp.reason,
        _checked_headers(scrub_headers(resp.headers, request=False, rules=rules), resp.body, resp_body),
        resp_body,
    )
    return Exchange(ex.index, ex.operation, new_req, new_resp)
