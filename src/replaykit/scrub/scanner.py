"""The secret scanner: finds credentials that survived sanitization in cassettes and text files.

Rules live in ``replaykit.scrub.patterns`` (``RULES``: id, description, severity, regex). The scanner walks parsed
cassettes with structure, so a key name (``SecretAccessKey``, ``password``) or a header name (``X-Api-Key``,
``Cookie``) gives its value context, and it opens nested layers: JSON inside strings (``<json>``), base64 of
16+ bytes, whole or embedded (``<base64>``: ``!!binary`` values, InvokeModel stream ``bytes``), and URL
encoding (``<url>``). Dict keys are scanned too. A finding never carries the secret: ``preview`` shows at most
the first four characters, the length and a hash prefix; ``fingerprint`` (16 hex chars of its sha256) is what
``.replaykit-allowlist.yaml`` approves (see ``replaykit.scrub.allowlist``).

Locations are JSON-path-like: ``interactions[0].request.headers.Authorization[0]``,
``interactions[1].response.body.string<base64><json>.delta.text``, ``interactions[0].request.body.json.{key #2}``
(a key that is itself a secret is shown by position, never by name) or ``line 12`` for text files. A stream body
is also read as the texts its deltas join into (``replaykit.scrub.streams``): a key split over events 3 to 7 is
found at ``interactions[0].response.body.sse[3..7]<joined data.choices[0].delta.content>``.

Severity: ``high`` for credentials, ``medium`` for the entropy heuristic, ``low`` for identifiers that tie a
cassette to an account (AWS account ids, OpenAI org/project ids). Every severity is a finding (exit 1, refused
write): the sanitizer replaces all of them, so a survivor means a cassette was not made by replaykit's recorder.
"""

from __future__ import annotations

import bisect
import codecs
import json
import re
import zlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

from replaykit.codecs import charset as _charset
from replaykit.codecs import compression
from replaykit.codecs.charset import decode_text
from replaykit.codecs.safe import UnsafeDocumentError, load_json, load_yaml
from replaykit.errors import CassetteError, read_bytes
from replaykit.scrub import patterns as P
from replaykit.scrub import second_opinion, streams
from replaykit.scrub.allowlist import ALLOWLIST_FILENAME, Allowlist, fingerprint_of

# Canonical placeholders the sanitizer writes. Each one is shaped so that no live rule matches it (the key id
# has a '0', outside base32, and ends in EXAMPLE like AWS's documentation keys, which other scanners skip too).
PLACEHOLDER_SECRET = "REDACTED"
# not key-shaped on purpose: naive scanners (and reviewers) must not mistake the placeholder for a key
PLACEHOLDER_ACCESS_KEY_ID = "AKIA_REDACTED"
PLACEHOLDER_SECRET_ACCESS_KEY = "REDACTED"
PLACEHOLDER_SESSION_TOKEN = "REDACTED"
PLACEHOLDER_ACCOUNT_ID = "000000000000"
PLACEHOLDER_OPENAI_KEY = "sk-REDACTED"
PLACEHOLDER_ANTHROPIC_KEY = "sk-ant-REDACTED"
PLACEHOLDER_BEARER = "Bearer REDACTED"
PLACEHOLDER_JWT = "eyJREDACTED.eyJREDACTED.REDACTED"
PLACEHOLDER_SIGNATURE = "0" * 64
PLACEHOLDER_PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----REDACTED-----END PRIVATE KEY-----"
PLACEHOLDERS: dict[str, str] = {
    "secret": PLACEHOLDER_SECRET,
    "access_key_id": PLACEHOLDER_ACCESS_KEY_ID,
    "secret_access_key": PLACEHOLDER_SECRET_ACCESS_KEY,
    "session_token": PLACEHOLDER_SESSION_TOKEN,
    "account_id": PLACEHOLDER_ACCOUNT_ID,
    "openai_key": PLACEHOLDER_OPENAI_KEY,
    "anthropic_key": PLACEHOLDER_ANTHROPIC_KEY,
    "bearer": PLACEHOLDER_BEARER,
    "jwt": PLACEHOLDER_JWT,
    "signature": PLACEHOLDER_SIGNATURE,
    "private_key": PLACEHOLDER_PRIVATE_KEY,
}

RULES = P.RULES
canonical_secret = P.canonical_secret
MAX_DEPTH = 8  # decoding layers (json/base64/url) followed inside one value
CASSETTE_SUFFIXES = (".yaml", ".yml", ".json")
_NEWLINE = re.compile("\n")
_B64_RUN = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{20,}={0,2}(?![A-Za-z0-9+/=_-])")
_B64_WHOLE = re.compile(r"^[A-Za-z0-9+/_-]{20,}={0,2}$")
_AWS_SECRET_SHAPE = re.compile(r"^[A-Za-z0-9/+=]{40}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_SAFE_KEY = re.compile(r"^[A-Za-z0-9_:$@-]+$")


@dataclass(frozen=True)
class Finding:
    """One suspected secret: where it is and a masked preview, never the value itself."""

    rule: str
    description: str
    location: str
    preview: str
    file: str | None = None
    exchange: int | None = None
    fingerprint: str = ""
    severity: str = P.HIGH

    def to_dict(self) -> dict[str, Any]:
        """The finding as the JSON object ``replaykit scan --format json`` prints."""
        return asdict(self)


def preview_of(secret: str, fingerprint: str | None = None) -> str:
    """A masked fingerprint of a secret: up to 4 leading chars, the length and a hash prefix."""
    n = len(secret)
    head = secret[: 4 if n >= 24 else 2 if n >= 12 else 0]
    head = "".join(c if c.isprintable() else "?" for c in head)
    return f"{head}…[{n}]#{(fingerprint or fingerprint_of(secret))[:6]}"


def _join(loc: str, key: str) -> str:
    if _SAFE_KEY.match(key):
        return f"{loc}.{key}" if loc else key
    return f"{loc}[{json.dumps(key, ensure_ascii=False)}]"


class _Scanner:
    """One scan: the allowlist, the file and exchange being walked, and the emit/dedupe logic."""

    def __init__(self, *, file: str | None = None, allowlist: Allowlist | None = None) -> None:
        self.file = file
        self.allowlist = allowlist
        self.exchange: int | None = None
        # matches the allowlist swallowed: they still count as "this value matched", so the name-context
        # fallback (credential-field on Authorization, …) does not report the approved secret a second way
        self.approved = 0
        # what one compressed payload may inflate to (past it, a decompression bomb, it is not opened)
        self.limit = compression.MAX_DECOMPRESSED

    def emit(self, rule_id: str, secret: str, loc: str, description: str | None = None) -> list[Finding]:
        secret = canonical_secret(secret)
        fp = fingerprint_of(secret)
        if self.allowlist is not None and self.allowlist.match(secret, fp, rule_id):
            self.approved += 1
            return []
        rule = P.RULES_BY_ID[rule_id]
        text = description or rule.description
        return [Finding(rule_id, text, loc, preview_of(secret, fp), self.file, self.exchange, fp, rule.severity)]

    def second_opinion(self, text: str) -> list[Finding]:
        """detect-secrets' findings in a file's text, each a ``detect-secrets`` finding at its line."""
        out: list[Finding] = []
        for o in second_opinion.scan_text(text):
            # a value our rules already judged (a match, or a placeholder) is not reported a second time
            # (PEM blocks are the private-key rule's: it knows a redacted or empty block from a key)
            if o.kind == "Private Key" or P.is_placeholder(o.secret) or P.is_placeholder_text(o.secret):
                continue
            if P.secret_spans(o.secret):
                continue
            out += self.emit("detect-secrets", o.secret, f"line {o.line}", f"detect-secrets: {o.kind}")
        return out

    # ---- text -----------------------------------------------------------------------------------------

    def text(self, s: str, loc: str, depth: int, *, lines: bool = False, runs: bool = True) -> list[Finding]:
        """Regex rules over a string, then base64 runs embedded in it (decoded when they are text)."""
        starts: list[int] = []

        def where(pos: int) -> str:
            if not lines:
                return loc
            if not starts:  # built once, on the first finding: counting newlines per finding is quadratic
                starts.append(0)
                starts.extend(m.end() for m in _NEWLINE.finditer(s))
            return f"line {bisect.bisect_right(starts, pos)}"

        out: list[Finding] = []
        for rule_id, secret, start in P.text_matches(s):
            out += self.emit(rule_id, secret, where(start))
        if runs and depth < MAX_DEPTH:
            for m in _B64_RUN.finditer(s):
                raw = P.b64decode_loose(m.group(0))
                decoded = P.printable_text(raw) if raw is not None and len(raw) >= 16 else None
                if decoded is not None:
                    out = _merge(out, self.string(decoded, where(m.start()) + "<base64>", depth + 1))
        return out

    def string(self, s: str, loc: str, depth: int) -> list[Finding]:
        """A string value: a JSON document is walked; otherwise regexes, then base64 and URL layers."""
        stripped = s.strip()
        if depth < MAX_DEPTH and stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
            try:
                doc = load_json(stripped)
            except ValueError:
                doc = None
            if isinstance(doc, (dict, list)):
                return self.walk(doc, loc + "<json>", depth + 1)
        compact = "".join(stripped.split()) if "\n" in stripped else stripped
        whole = P.b64decode_loose(compact) if depth < MAX_DEPTH and _B64_WHOLE.match(compact) else None
        whole = whole if whole is not None and len(whole) >= 16 else None
        out = self.text(s, loc, depth, runs=whole is None)
        if whole is not None:
            decoded = P.printable_text(whole)
            inner = (
                self.string(decoded, loc + "<base64>", depth + 1)
                if decoded is not None
                else self.binary(whole, loc + "<base64>", depth + 1)
            )
            out = _merge(out, inner)
        if "%" in s and depth < MAX_DEPTH:
            plain = unquote(s)
            if plain != s:
                out = _merge(out, self.string(plain, loc + "<url>", depth + 1))
        return out

    def binary(self, raw: bytes, loc: str, depth: int) -> list[Finding]:
        """Bytes: UTF-8/16/32 text as a string, compressed data opened, anything else as latin-1.

        Compressed payloads are located as ``<gzip>``, ``<zip:word/document.xml>``, ``<gzip,truncated>`` (a part
        of a file) or ``<gzip@120>`` (a stream inside other data, such as a multipart upload).
        """
        found = _charset.detect(raw)
        if found is not None and (found[1].plain_utf8 or _charset.is_printable(found[0])):
            return self.string(found[0], loc, depth)
        if depth >= MAX_DEPTH:
            return self.text(raw.decode("latin-1"), loc, depth)
        try:
            opened = compression.unpack(raw, self.limit, is_text=_is_text)
        except compression.TooLargeError:
            return self.text(raw.decode("latin-1"), loc, depth)  # a decompression bomb is not opened
        if opened is None:
            salvaged = compression.salvage(raw, self.limit)
            opened = (salvaged[0] + ",truncated", salvaged[1]) if salvaged is not None else None
        if opened is not None:
            kind, content = opened
            if isinstance(content, dict):
                return [
                    f for name, data in content.items() for f in self.binary(data, f"{loc}<{kind}:{name}>", depth + 1)
                ]
            return self.binary(content, f"{loc}<{kind}>", depth + 1)
        out = self.text(raw.decode("latin-1"), loc, depth)
        for start, _end, kind, content in compression.embedded(raw, self.limit):
            out = _merge(out, self.binary(content, f"{loc}<{kind}@{start}>", depth + 1))
        return out

    # ---- structure ------------------------------------------------------------------------------------

    def walk(self, value: Any, loc: str, depth: int, *, headers: bool = False) -> list[Finding]:
        """Any parsed value: mappings (keys too), lists, strings and bytes."""
        if isinstance(value, dict):
            out: list[Finding] = []
            for i, (key, item) in enumerate(value.items()):
                name = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
                key_loc = f"{loc}.{{key #{i}}}" if loc else f"{{key #{i}}}"
                key_hits = self.string(name, key_loc, depth) if isinstance(key, (str, bytes)) and len(name) >= 8 else []
                out += key_hits
                child = key_loc if key_hits else _join(loc, name)
                out += self.header(name, item, child, depth) if headers else self.field(name, item, child, depth)
            return out
        if isinstance(value, (list, tuple)):
            return [f for i, item in enumerate(value) for f in self.walk(item, f"{loc}[{i}]", depth)]
        if isinstance(value, str):
            return self.string(value, loc, depth)
        if isinstance(value, (bytes, bytearray)):
            return self.binary(bytes(value), loc, depth)
        return []

    def field(self, name: str, value: Any, loc: str, depth: int) -> list[Finding]:
        """A mapping entry: ``headers`` mappings get header context; scalars get their key's context."""
        if P.norm_name(name) == "headers" and isinstance(value, dict):
            return self.walk(value, loc, depth, headers=True)
        if name in streams.BODY_KINDS and isinstance(value, list):
            return self.stream(name, value, loc, depth)
        if isinstance(value, (str, bytes, bytearray)):
            return self.scalar(name, value, loc, depth, header=False)
        if isinstance(value, int) and not isinstance(value, bool):
            return self.context(name, str(value), loc, header=False)
        return self.walk(value, loc, depth)

    def stream(self, kind: str, events: list[Any], loc: str, depth: int) -> list[Finding]:
        """Stream events one by one, then each logical text their deltas spell out, joined (``<joined …>``)."""
        out = self.walk(events, loc, depth)
        for text in streams.StreamView(kind, events).texts:
            if len(text.fragments) > 1:
                joined = text.joined()
                where = f"{loc}[{text.events}]<joined {text.label}>"
                found = _narrowed(self.string(joined, where, depth + 1), text, joined, where, loc)
                out = _merge(out, found, any_rule=True)
        return out

    def header(self, name: str, value: Any, loc: str, depth: int) -> list[Finding]:
        """A header: each value is scanned, then judged by the header's name (credential, account, entropy)."""
        items = value if isinstance(value, list) else [value]
        out: list[Finding] = []
        for j, item in enumerate(items):
            item_loc = f"{loc}[{j}]" if isinstance(value, list) else loc
            if isinstance(item, (str, bytes, bytearray)):
                out += self.scalar(name, item, item_loc, depth, header=True)
            else:
                out += self.walk(item, item_loc, depth)
        return out

    def scalar(self, name: str, value: str | bytes | bytearray, loc: str, depth: int, *, header: bool) -> list[Finding]:
        """A named string: every rule first; only when none matched does the name alone make a finding."""
        approved = self.approved
        hits = self.walk(value, loc, depth)
        if hits or self.approved != approved:
            return hits
        return self.context(name, _to_str(value), loc, header=header)

    def context(self, name: str, value: str, loc: str, *, header: bool) -> list[Finding]:
        """Findings that only the key or header name makes: secret keys, tokens, cookies, accounts, entropy."""
        n, v = P.norm_name(name), value.strip()
        if not v or P.is_placeholder(v):
            return []
        # one ASCII token: prose, descriptions and template markers under a credential-named key are not secrets
        single = len(v) >= 8 and v.isascii() and not any(c.isspace() for c in v)
        if P.name_in(name, P.SESSION_TOKEN_NAMES):
            return self.emit("aws-session-token", v, loc) if single and len(v) >= 16 else []
        if P.name_in(name, P.SECRET_KEY_NAMES) and _AWS_SECRET_SHAPE.match(v) and not _bare_digest(name, v):
            return self.emit("aws-secret-access-key", v, loc)
        if n in ("cookie", "set_cookie"):
            pairs = v.split(";")[:1] if n == "set_cookie" else v.split(";")
            out: list[Finding] = []
            for pair in pairs:
                cookie = pair.partition("=")[2].strip().strip('"')
                if len(cookie) >= 8 and cookie.isascii() and not P.is_placeholder(cookie):
                    out += self.emit("credential-field", cookie, loc)
            return out
        if n in P.AUTHORIZATION_NAMES:
            scheme, _, cred = v.partition(" ")
            if not cred:
                scheme, cred = "", v
            cred = cred.strip()
            if scheme.lower().startswith("aws4-") or P.is_placeholder(cred) or len(cred) < 8:
                return []
            return self.emit("credential-field", cred, loc)
        if P.is_credential_name(name) or (header and P.is_credential_header(name)):
            return self.emit("credential-field", v, loc) if single else []
        if P.is_account_name(name):
            return self.emit("aws-account-id", v, loc) if _ACCOUNT.match(v) and not P.looks_like_timestamp(v) else []
        if n in P.OPENAI_ID_NAMES:
            return self.emit("openai-identifier", v, loc)
        if header and not P.is_benign_header(n):
            return [f for tok in P.high_entropy_tokens(v) for f in self.emit("high-entropy-header", tok, loc)]
        return []


def scan_document_text(text: str, *, file: str | None = None, allowlist: Allowlist | None = None) -> list[Finding]:
    """detect-secrets' second opinion on a cassette's text, as it would be written (write-time check)."""
    return _Scanner(file=file, allowlist=allowlist).second_opinion(text)


def fingerprint_secret(secret: str) -> str:
    """The fingerprint a finding of this secret carries (to pre-approve a known fixture value)."""
    return fingerprint_of(canonical_secret(secret))


def _narrowed(found: list[Finding], text: streams.StreamText, joined: str, where: str, loc: str) -> list[Finding]:
    """Findings in a joined stream text, named by the events their secret spans rather than the whole text's."""
    if not found:
        return found
    spans = {fingerprint_of(canonical_secret(secret)): (a, b) for _rule, a, b, secret in P.secret_spans(joined)}
    out = []
    for f in found:
        span = spans.get(f.fingerprint)
        if span is not None:
            f = replace(f, location=f.location.replace(where, f"{loc}[{text.span(*span)}]<joined {text.label}>", 1))
        out.append(f)
    return out


def _bare_digest(name: str, value: str) -> bool:
    """A bare ``secret`` key holding a hex digest (a git sha): a reference, not an AWS secret key."""
    return P.squash(name) == "secret" and P.looks_like_digest(value)


def _to_str(value: str | bytes | bytearray) -> str:
    return bytes(value).decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else value


def _merge(outer: list[Finding], inner: Iterable[Finding], *, any_rule: bool = False) -> list[Finding]:
    """Outer findings plus inner-layer ones for secrets not already reported (same fingerprint and rule)."""

    def key(f: Finding) -> tuple[str, str]:
        return ("", f.fingerprint) if any_rule else (f.rule, f.fingerprint)

    seen = {key(f) for f in outer}
    out = list(outer)
    for f in inner:
        if key(f) not in seen:
            seen.add(key(f))
            out.append(f)
    return out


# ---- public API -------------------------------------------------------------------------------------------


def scan_text(text: str, *, location: str = "", allowlist: Allowlist | None = None) -> list[Finding]:
    """Scan free text; findings are located at ``location``, or at ``line N`` when no location is given."""
    return _Scanner(allowlist=allowlist).text(text, location, 0, lines=not location)


def scan_value(value: Any, *, location: str = "", allowlist: Allowlist | None = None) -> list[Finding]:
    """Scan a parsed value at any depth: dict keys and values, lists, strings, bytes and decoded layers."""
    return _Scanner(allowlist=allowlist).walk(value, location, 0)


def scan_cassette_data(
    data: dict[str, Any], *, file: str | None = None, allowlist: Allowlist | None = None
) -> list[Finding]:
    """Scan a parsed cassette of any vcrpy v1 flavour; findings in exchange ``i`` carry ``exchange=i``."""
    scanner = _Scanner(file=file, allowlist=allowlist)
    if not isinstance(data, dict):
        return scanner.walk(data, "", 0)
    out: list[Finding] = []
    for name, value in data.items():
        key = str(name)
        if key in ("interactions", "requests", "responses") and isinstance(value, list):
            for i, item in enumerate(value):
                scanner.exchange = i
                out += scanner.walk(item, f"{key}[{i}]", 0)
            scanner.exchange = None
        else:
            out += scanner.walk({name: value}, "", 0)
    return out


class UnscannableError(CassetteError):
    """A cassette could not be parsed; ``findings`` holds what a line-by-line scan of its text still found."""

    def __init__(self, message: str, *, path: str | Path, findings: list[Finding]) -> None:
        super().__init__(message, path=path)
        self.findings = findings


def scan_path(path: str | Path, allowlist: Allowlist | None = None) -> list[Finding]:
    """Scan a file: cassettes (.yaml/.yml/.json, optionally .gz) with structure, other text line by line."""
    return scan_file(path, allowlist)[0]


DEFAULT_MAX_SIZE = 512 * 1024 * 1024  # `replaykit scan --max-size`: larger files are an input error
STREAM_ABOVE = 16 * 1024 * 1024  # larger files are scanned as text in chunks, in bounded memory
_CHUNK = 4 * 1024 * 1024
_OVERLAP = 64 * 1024  # longest secret a chunk boundary may split (PEM blocks included)


def scan_file(
    path: str | Path,
    allowlist: Allowlist | None = None,
    *,
    strict: bool = False,
    max_size: int = DEFAULT_MAX_SIZE,
) -> tuple[list[Finding], bool]:
    """Like ``scan_path`` but also says whether the file was scanned (False: a binary file, skipped).

    A cassette that cannot be read, decoded or parsed raises ``CassetteError`` naming the file, and so does any
    binary file when ``strict`` (a path the user named). Other binary files found by walking are skipped.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise CassetteError("file not found", path=path) from exc
    except OSError as exc:
        raise CassetteError(f"cannot read file: {exc.strerror}", path=path) from exc
    if size > max_size:
        raise CassetteError(
            f"{size:,} bytes is over the scan size limit of {max_size:,}; raise it with --max-size", path=path
        )
    name = path.name.lower()
    gz = name.endswith(".gz") and name[:-3].endswith(CASSETTE_SUFFIXES)
    if gz:
        name = name[:-3]
    cassette = name.endswith(CASSETTE_SUFFIXES)
    scanner = _Scanner(file=str(path), allowlist=allowlist)
    if size > STREAM_ABOVE and not gz:
        return _scan_stream(path, scanner), True
    raw = read_bytes(path, "file")
    if gz:
        try:
            raw = _gunzip(raw, max_size)
        except (OSError, EOFError, ValueError, zlib.error) as exc:
            raise CassetteError(f"not a valid gzip file: {exc}", path=path) from exc
    text = decode_text(raw)
    if text is None:
        if strict or cassette:
            raise CassetteError("binary data, not UTF-8/16/32 text: not a cassette replaykit can scan", path=path)
        return [], False
    structured: list[Finding] = []
    try:
        if cassette:
            try:
                doc = _parse(text, json_file=name.endswith(".json"))
            except CassetteError as exc:
                # still a finding of its own (exit 2), but what the text shows is reported too
                raise UnscannableError(str(exc), path=path, findings=scanner.text(text, "", 0, lines=True)) from exc
            if isinstance(doc, dict):
                structured = scan_cassette_data(doc, file=str(path), allowlist=allowlist)
            elif isinstance(doc, list):
                structured = scanner.walk(doc, "", 0)
        # the raw text too (regexes only: the parse already opened every layer): YAML comments and anything the
        # parse dropped. A secret the structured walk reported is not reported again under another rule.
        found = _merge(structured, scanner.text(text, "", 0, lines=True, runs=not cassette), any_rule=True)
        return _merge(found, scanner.second_opinion(text), any_rule=True), True
    except RecursionError as exc:
        raise CassetteError("values nested too deeply inside each other to scan", path=path) from exc


def _gunzip(raw: bytes, limit: int) -> bytes:
    """Decompress gzip data, refusing output past ``limit`` bytes (a gzip bomb)."""
    return compression.gunzip(raw, limit)


def _is_text(raw: bytes) -> bool:
    return _charset.printable_text(raw) is not None


def _scan_stream(path: Path, scanner: _Scanner) -> list[Finding]:
    """Regex rules over a large file in overlapping chunks: memory stays at a few chunks whatever its size."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    out: list[Finding] = []
    tail = ""
    line = 1
    try:
        with path.open("rb") as fh:
            while True:
                block = fh.read(_CHUNK)
                chunk = tail + decoder.decode(block, final=not block)
                if not chunk:
                    break
                found = scanner.text(chunk, "", 0, lines=True)
                for f in found:
                    # a finding's line is relative to the chunk: shift it to the file's numbering
                    n = int(f.location.split()[1]) + line - 1
                    out = _merge(out, [replace(f, location=f"line {n}")])
                if not block:
                    break
                tail = chunk[-_OVERLAP:]
                line += chunk.count("\n") - tail.count("\n")
    except OSError as exc:
        raise CassetteError(f"cannot read file: {exc.strerror}", path=path) from exc
    return out


def _parse(text: str, *, json_file: bool) -> Any:
    try:
        return load_json(text) if json_file else load_yaml(text)
    except UnsafeDocumentError as exc:
        raise CassetteError(str(exc)) from exc
    except json.JSONDecodeError as exc:
        raise CassetteError(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise CassetteError(f"invalid YAML at {where}{exc.problem}") from exc
    except (ValueError, yaml.YAMLError) as exc:
        raise CassetteError(f"cannot parse: {exc}") from exc


__all__ = [
    "ALLOWLIST_FILENAME",
    "Allowlist",
    "CASSETTE_SUFFIXES",
    "DEFAULT_MAX_SIZE",
    "Finding",
    "UnscannableError",
    "PLACEHOLDERS",
    "PLACEHOLDER_ACCESS_KEY_ID",
    "PLACEHOLDER_ACCOUNT_ID",
    "PLACEHOLDER_ANTHROPIC_KEY",
    "PLACEHOLDER_BEARER",
    "PLACEHOLDER_JWT",
    "PLACEHOLDER_OPENAI_KEY",
    "PLACEHOLDER_PRIVATE_KEY",
    "PLACEHOLDER_SECRET",
    "PLACEHOLDER_SECRET_ACCESS_KEY",
    "PLACEHOLDER_SESSION_TOKEN",
    "PLACEHOLDER_SIGNATURE",
    "RULES",
    "canonical_secret",
    "decode_text",
    "fingerprint_of",
    "fingerprint_secret",
    "preview_of",
    "scan_cassette_data",
    "scan_document_text",
    "scan_file",
    "scan_path",
    "scan_text",
    "scan_value",
]
