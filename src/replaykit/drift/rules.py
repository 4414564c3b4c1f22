"""Provider knowledge for drift: which paths are noise, which are free-form, which are enum-like, which headers matter.

Paths are dotted JSON paths with ``[*]`` for any array element (``choices[*].finish_reason``); the root is ``$``.
Globs: ``*`` matches any run of characters (dots included), ``?`` one character, ``[*]`` is literal. A glob also
matches every descendant of a path it matches, so ``usage`` covers ``usage.inputTokens``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from replaykit.exchange import Exchange

# Values here change on every call (ids, clocks, generated text, token counts, latency, padding): their changes are
# expected noise. Structure under them is still compared, so a new field inside ``usage`` is still reported.
VOLATILE: dict[str, tuple[str, ...]] = {
    "*": (
        "id",
        "*.id",
        "created",
        "*.created",
        "created_at",
        "*.created_at",
        "completed_at",
        "*.completed_at",
        "text",
        "*.text",
        "usage",
        "*.usage",
        "metrics",
        "*.metrics",
        "p",
        "*.p",
    ),
    "bedrock-runtime": (
        "*.toolUseId",
        "*.signature",
        "*.reasoningText",
        "*.redactedContent",
        "*.input",
        "amazon-bedrock-invocationMetrics",
        "*.amazon-bedrock-invocationMetrics",
        "*.trace",
        # InvokeModel native bodies of the model families
        "completion",
        "generation",
        "outputText",
        "results[*].outputText",
        "*.tokenCount",
        "inputTextTokenCount",
        "prompt_token_count",
        "generation_token_count",
        "embedding",
        "embeddings",
        "*.embedding",
        "*.embeddings",
        "requestMetadata",
    ),
    "openai": (
        "system_fingerprint",
        "*.message.content",
        "*.delta.content",
        "*.delta",
        "delta",
        "*.refusal",
        "*.logprobs",
        "*.arguments",
        "*.call_id",
        "*.tool_calls[*].id",
        "data[*].embedding",
        "*.obfuscation",
        "obfuscation",
        "sequence_number",
        "*.item_id",
        "item_id",
        "*.output_index",
        "output_index",
        "*.content_index",
        "*.annotations",
        "*.summary",
        "*.encrypted_content",
        "user",
        "metadata",
        "*.expires_at",
    ),
    "s3": (
        "*.ETag",
        "ETag",
        "*.UploadId",
        "UploadId",
        "LastModified",
        "*.LastModified",
        "*.Size",
        "*.KeyCount",
        "*.NextContinuationToken",
        "*.ContinuationToken",
        "*.RequestId",
        "*.HostId",
    ),
}

# Free-form maps whose keys are data, not API (tool arguments, JSON schemas, user metadata): their children are not
# compared structurally, or every different tool call would read as "fields added/removed".
OPAQUE: tuple[str, ...] = (
    "*.toolUse.input",
    "*.tool_use.input",
    "content[*].input",
    "*.content[*].input",
    "additionalModelResponseFields",
    "additionalModelRequestFields",
    "*.inputSchema.json",
    "*.function.parameters",
    "tools[*].parameters",
    "response_format.json_schema.schema",
    "text.format.schema",
    "metadata",
    "*.metadata",
    "requestMetadata",
    "logit_bias",
    "promptVariables",
    "*.guardrail",
    "*.json",
)

# keys whose values come from a small set decided by the provider: a new value is worth a look
ENUM_KEYS = frozenset(
    {"stopReason", "stop_reason", "finish_reason", "role", "type", "object", "status", "service_tier"}
)
ENUM_MAX_LEN = 64

# response headers whose presence (or, for the error type, value) callers depend on
HEADER_PREFIXES = ("x-ratelimit-",)
# Bedrock's InvokeModel usage headers are read by callers; its cache-* headers come and go with cache hits
HEADER_NAMES = frozenset(
    {
        "retry-after",
        "x-amzn-errortype",
        "x-amzn-bedrock-input-token-count",
        "x-amzn-bedrock-output-token-count",
        "x-amzn-bedrock-invocation-latency",
    }
)
ERROR_TYPE_HEADER = "x-amzn-errortype"

# query parameters that are signatures or pagination state, not what we ask for
VOLATILE_QUERY_PREFIXES = ("x-amz-",)
VOLATILE_QUERY_NAMES = frozenset({"continuation-token", "marker", "after", "before", "signature", "expires"})

ROOT = "$"


def compile_glob(pattern: str) -> re.Pattern[str]:
    """Compile a path glob (``*``, ``?``, literal ``[*]``; an optional leading ``$.``) to an anchored regex."""
    p = pattern.strip()
    if p.startswith("$."):
        p = p[2:]
    elif p == "$":
        p = ""
    out: list[str] = []
    i = 0
    while i < len(p):
        if p.startswith("[*]", i) or p.startswith("[]", i):
            out.append(re.escape("[*]"))
            i += 3 if p.startswith("[*]", i) else 2
        elif p[i] == "*":
            out.append(".*")
            while i < len(p) and p[i] == "*":
                i += 1
            continue
        elif p[i] == "?":
            out.append(".")
            i += 1
        else:
            out.append(re.escape(p[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def ancestors(path: str) -> Iterable[str]:
    """The path itself, then each enclosing path up to (not including) the root."""
    while path:
        yield path
        path = parent(path)


def parent(path: str) -> str:
    """The enclosing path: ``a.b[*]`` -> ``a.b``, ``a.b`` -> ``a``, ``a`` -> ``""`` (the root)."""
    if path.endswith("[*]"):
        return path[:-3]
    cut = path.rfind(".")
    return path[:cut] if cut > 0 else ""


class PathSet:
    """A set of path globs, matched against a path or any of its ancestors, with a per-path cache."""

    def __init__(self, patterns: Iterable[str], *, descendants: bool = True) -> None:
        self.patterns = tuple(dict.fromkeys(p for p in patterns if p is not None))
        self._regexes = tuple(compile_glob(p) for p in self.patterns)
        self._descendants = descendants
        self.cache: dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def __call__(self, path: str) -> bool:
        """Whether the path (or, with descendants, an ancestor of it) matches one of the globs."""
        hit = self.cache.get(path)
        if hit is None:
            candidates = ancestors(path) if self._descendants else (path,)
            hit = any(rx.match(c) for c in candidates for rx in self._regexes)
            if not hit and not path and any(rx.match("") for rx in self._regexes):
                hit = True
            self.cache[path] = hit
        return hit


def path_matches(pattern: str, path: str) -> bool:
    """Whether one glob matches a path or one of its ancestors."""
    return _single(pattern)(path)


@lru_cache(maxsize=1024)
def _single(pattern: str) -> PathSet:
    return PathSet([pattern])


@lru_cache(maxsize=64)
def volatile_for(provider: str, extra: tuple[str, ...] = ()) -> PathSet:
    """The volatile path set of a provider, plus extra globs (from contracts or config)."""
    return PathSet([*VOLATILE["*"], *VOLATILE.get(provider, ()), *extra])


OPAQUE_PATHS = PathSet(OPAQUE)


def display(path: str) -> str:
    """A path as shown to people: the root is ``$``."""
    return path or ROOT


def normalize_contract_path(path: str) -> str:
    """Bring ``$.a['b-c'][0]``, a JSON pointer or ``a[].b`` into the dotted ``[*]`` form used here."""
    p = path.strip()
    if p.startswith("/"):
        out = ""
        for seg in (s.replace("~1", "/").replace("~0", "~") for s in p.strip("/").split("/") if s):
            out += "[*]" if seg.isdigit() or seg in ("-", "items") else (f".{seg}" if out else seg)
        return out
    if p.startswith("$"):
        p = p[1:]
    p = _QUOTED.sub(lambda m: "." + m.group(1).replace("\\'", "'"), p)
    p = re.sub(r"\[\d*\]", "[*]", p)
    return p.replace(".[*]", "[*]").lstrip(".")


_QUOTED = re.compile(r"\['((?:[^'\\]|\\.)*)'\]")


def model_of(exchange: Exchange) -> str:
    """The model an exchange talks to (Bedrock: from the URI; OpenAI: the request body), or ``""``."""
    path = urlsplit(exchange.request.uri).path
    if "/model/" in path:
        rest = path.split("/model/", 1)[1]
        return unquote(rest.split("/", 1)[0])
    body = exchange.request.body
    if body.kind == "json" and isinstance(body.value, dict):
        model = body.value.get("model")
        if isinstance(model, str):
            return model
    return ""


def header_matters(name: str) -> bool:
    """Whether a response header's presence is part of what callers depend on."""
    n = name.lower()
    return n in HEADER_NAMES or n.startswith(HEADER_PREFIXES)


def query_matters(name: str) -> bool:
    """Whether a query parameter name is something we ask for rather than signing or paging state."""
    n = name.lower()
    return n not in VOLATILE_QUERY_NAMES and not n.startswith(VOLATILE_QUERY_PREFIXES)
