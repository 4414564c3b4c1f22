"""The drift check catalogue: stable check ids, their default class and what each one means."""

from __future__ import annotations

from dataclasses import dataclass

from replaykit.errors import ConfigError

BREAKING = "breaking"
ADDITIVE = "additive"
VALUE = "value"
OFF = "off"

# ordered most to least severe; "off" drops a finding entirely
SEVERITIES = (BREAKING, ADDITIVE, VALUE)
SEVERITY_RANK = {BREAKING: 3, ADDITIVE: 2, VALUE: 1}
_ALIASES = {"value-only": VALUE, "values": VALUE, "ignore": OFF, "none": OFF}


@dataclass(frozen=True)
class Check:
    """One kind of drift, with its default severity and a one-line meaning for docs and reports."""

    id: str
    severity: str
    meaning: str


_CATALOGUE = (
    Check("status-changed", BREAKING, "the HTTP status code of the response changed"),
    Check("content-type-changed", BREAKING, "the response media type changed"),
    Check(
        "response-field-removed",
        BREAKING,
        "a response field is gone (and absent from every new response of the same operation and model)",
    ),
    Check("response-type-changed", BREAKING, "a response field has a different JSON type"),
    Check("stream-event-removed", BREAKING, "a stream event type no longer occurs"),
    Check("error-type-changed", BREAKING, "x-amzn-ErrorType names a different error"),
    Check("header-removed", BREAKING, "a header callers rely on (rate limits, retry-after, error type) disappeared"),
    Check("request-field-removed", BREAKING, "the request no longer sends a field or query parameter"),
    Check("request-type-changed", BREAKING, "a request field is sent with a different JSON type"),
    Check("contract-violation", BREAKING, "new traffic violates the committed contract"),
    Check("exchange-removed", BREAKING, "the test no longer makes this call"),
    Check("cassette-removed", BREAKING, "a cassette exists only on the old side"),
    Check("cassette-unreadable", BREAKING, "a cassette could not be read"),
    Check("response-field-added", ADDITIVE, "a new response field appeared"),
    Check("response-nullability-changed", ADDITIVE, "a response field went from always null to a value, or back"),
    Check("stream-event-added", ADDITIVE, "a new stream event type appeared"),
    Check("enum-value-added", ADDITIVE, "an enum-like field has a value never seen before for this operation"),
    Check("header-added", ADDITIVE, "a header callers rely on appeared"),
    Check("request-field-added", ADDITIVE, "the request sends a new field or query parameter"),
    Check("exchange-added", ADDITIVE, "the test makes a call it did not make before"),
    Check("cassette-added", ADDITIVE, "a cassette exists only on the new side"),
    Check("value-changed", VALUE, "only values differ (ids, timestamps, generated text, token counts, latency)"),
    Check(
        "response-field-varies",
        VALUE,
        "a field is missing or new in this response but other responses of the "
        "same operation and model still carry it (content variance, not an API change)",
    ),
    Check(
        "stream-event-varies",
        VALUE,
        "an event type is missing or new in this stream but other streams of the "
        "same operation and model still carry it",
    ),
)

CHECKS: dict[str, Check] = {c.id: c for c in _CATALOGUE}


def normalize_severity(value: str) -> str:
    """Map a user-written severity (``value-only``, ``ignore``...) to its canonical name; ConfigError if unknown."""
    v = str(value).strip().lower()
    v = _ALIASES.get(v, v)
    if v not in (*SEVERITIES, OFF):
        raise ConfigError(f"unknown severity {value!r} (use breaking, additive, value or off)")
    return v


def at_or_above(severity: str, threshold: str) -> bool:
    """Whether ``severity`` is at least ``threshold`` (``any`` counts every class)."""
    if threshold == "any":
        return severity in SEVERITY_RANK
    return SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK[threshold]
