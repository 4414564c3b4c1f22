"""Fault injection: provider errors, transport failures, latency and broken streams.

The SDKs see them exactly as real ones, in replay and while recording.

A ``FaultPlan`` subscribes to ``CassetteHooks.before_send``: when a request matches a fault, the plan answers with an
injected error response or raises the transport's own exception *instead of* the recorded exchange (or the live
call), which stays unplayed (unsent), so the SDK's retry (or the code's fallback) gets the real answer next::

    from replaykit import faults, use_cassette
    with use_cassette(path, faults=[faults.throttle("bedrock-runtime.Converse", first=2)]):
        client.converse(...)        # 2 ThrottlingExceptions retried by botocore, then the recorded answer
"""

from __future__ import annotations

import fnmatch
import random
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from replaykit.cassette.hooks import Call
from replaykit.errors import ConfigError
from replaykit.faults import _shapes as shapes
from replaykit.faults._transport import TRANSPORT_KINDS, broken_stream, transport_error

KINDS = ("error", *TRANSPORT_KINDS, "latency", "stream_break")
# error_type meaning "whatever this provider sends when it rate-limits"
THROTTLE = "throttle"


@dataclass(frozen=True)
class Fault:
    """One fault: what to inject (``kind`` and its details) and which calls get it (the selector)."""

    kind: str
    operation: str = "*"  # glob on the cassette operation, e.g. "bedrock-runtime.Converse*", "openai.*"
    nth: int | None = None  # only the nth matching call (1-based)
    first: int | None = None  # the first N matching calls
    probability: float | None = None  # each matching call with this probability (seeded)
    seed: int | None = None  # per-fault seed; default: the plan's
    status: int | None = None  # error: HTTP status
    error_type: str | None = None  # error: exception/code name; stream_break: the exception event type
    message: str | None = None
    retry_after: float | None = 0.01  # OpenAI 429/503: seconds the SDK is told to wait (kept tiny for tests)
    seconds: float = 0.0  # latency
    after: int = 0  # stream_break: events delivered before the break

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"unknown fault kind {self.kind!r}; valid kinds are: {', '.join(KINDS)}")
        if self.nth is not None and self.nth < 1:
            raise ConfigError(f"nth must be >= 1, got {self.nth}")
        if self.first is not None and self.first < 0:
            raise ConfigError(f"first must be >= 0, got {self.first}")
        if self.probability is not None and not 0.0 <= self.probability <= 1.0:
            raise ConfigError(f"probability must be between 0 and 1, got {self.probability}")

    def matches(self, operation: str) -> bool:
        """Whether the fault applies to calls of this operation."""
        return fnmatch.fnmatchcase(operation, self.operation)

    def describe(self) -> str:
        """A short human-readable form for logs and reports."""
        what = {
            "error": " ".join(str(p) for p in ("error", self.status, self.error_type) if p),
            "latency": f"latency {self.seconds}s",
            "stream_break": f"stream break after {self.after} events",
        }.get(self.kind, self.kind)
        when = (
            f"call #{self.nth}"
            if self.nth
            else f"first {self.first} calls"
            if self.first is not None
            else f"p={self.probability}"
            if self.probability is not None
            else "every call"
        )
        return f"{what} on {self.operation} ({when})"


# ---- constructors -----------------------------------------------------------------------------------------


def error(status: int | str | None = None, operation: str = "*", **when: Any) -> Fault:
    """A provider error: an HTTP status (``503``) or an error name (``"ModelTimeoutException"``) or both."""
    if isinstance(status, str):
        return Fault("error", operation, error_type=status, **when)
    return Fault("error", operation, status=status, **when)


def throttle(operation: str = "*", **when: Any) -> Fault:
    """Rate limiting: Bedrock ``ThrottlingException`` 429, OpenAI 429 ``rate_limit_exceeded``, S3 503 ``SlowDown``."""
    return Fault("error", operation, error_type=THROTTLE, **when)


def unavailable(operation: str = "*", **when: Any) -> Fault:
    """503: Bedrock ``ServiceUnavailableException``, OpenAI overloaded, S3 ``SlowDown``."""
    return Fault("error", operation, status=503, **when)


def server_error(operation: str = "*", **when: Any) -> Fault:
    """500: Bedrock ``InternalServerException``, OpenAI ``server_error``, S3 ``InternalError``."""
    return Fault("error", operation, status=500, **when)


def model_timeout(operation: str = "bedrock-runtime.*", **when: Any) -> Fault:
    """Bedrock ``ModelTimeoutException`` (408)."""
    return Fault("error", operation, status=408, error_type="ModelTimeoutException", **when)


def connection_error(operation: str = "*", **when: Any) -> Fault:
    """Connection refused: botocore ``EndpointConnectionError``, openai ``APIConnectionError``."""
    return Fault("connect", operation, **when)


def disconnect(operation: str = "*", **when: Any) -> Fault:
    """The server closes the connection without answering: ``ConnectionClosedError`` / ``APIConnectionError``."""
    return Fault("disconnect", operation, **when)


def read_timeout(operation: str = "*", **when: Any) -> Fault:
    """No response in time: botocore ``ReadTimeoutError``, openai ``APITimeoutError``."""
    return Fault("read_timeout", operation, **when)


def latency(seconds: float, operation: str = "*", **when: Any) -> Fault:
    """The recorded response, ``seconds`` late (blocking the calling thread, as a slow server would)."""
    return Fault("latency", operation, seconds=seconds, **when)


def stream_break(after: int = 2, operation: str = "*", error_type: str | None = None, **when: Any) -> Fault:
    """A stream that fails after ``after`` events: a Bedrock exception event, or an SSE stream with no ``[DONE]``."""
    return Fault("stream_break", operation, after=after, error_type=error_type, **when)


# ---- the plan ----------------------------------------------------------------------------------------------


@dataclass
class Injection:
    """One fault the plan injected."""

    operation: str
    fault: Fault
    call: int  # 1-based number of this call among the operation's calls seen by the plan


@dataclass
class FaultPlan:
    """Faults to inject into matching calls: a ``CassetteHooks`` subscriber (``before_send``)."""

    faults: list[Fault] = field(default_factory=list)
    seed: int = 0
    cassette_dir: Path | None = None  # where recorded error shapes are looked up
    calls: Counter[str] = field(default_factory=Counter)  # every replayed attempt seen, per operation
    injected: list[Injection] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: list[int] = [0] * len(self.faults)
        self._rngs: list[random.Random] = [self._rng(f) for f in self.faults]
        self._shapes = shapes.ShapeLibrary(self.cassette_dir)

    def _rng(self, fault: Fault) -> random.Random:
        return random.Random(fault.seed if fault.seed is not None else self.seed)

    def inject(self, *faults: Fault) -> FaultPlan:
        """Add faults (checked after the ones already planned); returns the plan."""
        with self._lock:
            for fault in faults:
                if not isinstance(fault, Fault):
                    raise ConfigError(f"inject() takes Fault objects (see replaykit.faults), got {fault!r}")
                self.faults.append(fault)
                self._seen.append(0)
                self._rngs.append(self._rng(fault))
        return self

    def clear(self) -> None:
        """Drop every fault and forget the calls seen."""
        with self._lock:
            self.faults.clear()
            self._seen.clear()
            self._rngs.clear()
            self.calls.clear()
            self.injected.clear()

    def count(self, kind: str | None = None, operation: str | None = None) -> int:
        """How many faults were injected (of a kind, into an operation glob)."""
        return sum(
            1
            for i in self.injected
            if (kind is None or i.fault.kind == kind)
            and (operation is None or fnmatch.fnmatchcase(i.operation, operation))
        )

    def _select(self, operation: str) -> Injection | None:
        with self._lock:
            self.calls[operation] += 1
            chosen: Fault | None = None
            for i, fault in enumerate(self.faults):
                if not fault.matches(operation):
                    continue
                self._seen[i] += 1
                n = self._seen[i]
                if chosen is not None:
                    continue  # every matching fault counts the call, the first that fires wins
                if fault.nth is not None and n != fault.nth:
                    continue
                if fault.first is not None and n > fault.first:
                    continue
                if fault.probability is not None and self._rngs[i].random() >= fault.probability:
                    continue
                chosen = fault
            if chosen is None:
                return None
            injection = Injection(operation, chosen, self.calls[operation])
            self.injected.append(injection)
            return injection

    def before_send(self, call: Call) -> Any:
        """The ``CassetteHooks.before_send`` subscriber: None (no fault), an injected response, or a raised error.

        The same in replay and while recording: a faulted call is answered here and never sent, so it is never
        recorded, and a test with faults records itself with one ``--record-mode=once`` run.
        """
        injection = self._select(call.operation)
        if injection is None:
            return None
        fault = injection.fault
        if fault.kind in TRANSPORT_KINDS:
            raise transport_error(fault.kind, call.request, call.provider)
        if fault.kind == "latency":
            time.sleep(fault.seconds)
            return None
        if fault.kind == "stream_break":
            # recording: the stream is sent and recorded whole, then delivered broken (as replay will deliver it)
            recorded = call.recorded or (call.record_now() if call.live else None)
            broken = None
            if recorded is not None:
                broken = broken_stream(recorded, fault.after, fault.error_type, fault.message)
            if broken is None:  # not a stream: nothing injected
                with self._lock:
                    self.injected.remove(injection)
            return broken
        return self.error_response(call.operation, fault)

    def error_response(self, operation: str, fault: Fault) -> dict[str, Any]:
        """The provider-correct error response for a fault: recorded when available, else built in."""
        provider = operation.split(".", 1)[0]
        status, error_type = fault.status, fault.error_type
        if error_type == THROTTLE:
            status, error_type = _throttle_for(provider, status)
        status, error_type = shapes.resolve(provider, status, error_type)
        recorded = self._shapes.find(provider, status, error_type)
        if recorded is not None and fault.message is None:
            return shapes.from_recorded(recorded, fault.retry_after)
        return shapes.built_in(provider, status, error_type, fault.message, fault.retry_after)


def _throttle_for(provider: str, status: int | None) -> tuple[int, str | None]:
    if provider == "bedrock-runtime":
        return status or 429, "ThrottlingException"
    if provider == "s3":
        return status or 503, "SlowDown"
    return status or 429, None


def plan(*faults: Fault, seed: int = 0, cassette_dir: str | Path | None = None) -> FaultPlan:
    """A fault plan for ``use_cassette(..., faults=plan)`` or a ``CassetteHooks`` subscription."""
    return FaultPlan(list(faults), seed=seed, cassette_dir=Path(cassette_dir) if cassette_dir else None)


def as_plan(faults: FaultPlan | Fault | Iterable[Fault], cassette_dir: str | Path | None = None) -> FaultPlan:
    """A plan from a plan, one fault or several."""
    if isinstance(faults, FaultPlan):
        return faults
    return plan(*([faults] if isinstance(faults, Fault) else list(faults)), cassette_dir=cassette_dir)


def with_faults(setup: Any, faults: FaultPlan | Fault | Iterable[Fault]) -> Any:
    """A copy of a ``recorder.Setup`` whose cassettes also get these faults (after its own subscribers)."""
    return setup.with_subscribers(as_plan(faults, setup.config.cassette_dir))


__all__ = [
    "Fault",
    "FaultPlan",
    "Injection",
    "as_plan",
    "connection_error",
    "disconnect",
    "error",
    "latency",
    "model_timeout",
    "plan",
    "read_timeout",
    "server_error",
    "stream_break",
    "throttle",
    "unavailable",
    "with_faults",
]
