"""``CassetteHooks``: the one seam where features (stats, cost, faults, contracts) plug into a cassette.

Four ordered subscriber lists, called in the order subscribers registered; nobody wraps anybody:

``before_send(call) -> response | None``
    Before a request is answered from the cassette (replay) or sent to the target (record). The first subscriber
    that returns a vcrpy response dict answers the request *instead*: nothing is consumed, nothing is sent, nothing
    is recorded (fault injection). A subscriber may raise to refuse the request (a transport fault, the cost guard).
``on_play(cassette, exchange)``
    A recorded exchange was replayed.
``on_record(cassette, exchange)``
    A live exchange was recorded. ``exchange`` is *the* decoded, scrubbed ``Exchange`` the persister writes: cost,
    contracts and the cassette file all read this one object.
``on_write(path)``
    A cassette file was written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from replaykit.exchange import Exchange

BeforeSend = Callable[["Call"], Any]
OnExchange = Callable[[Any, Exchange], None]
OnWrite = Callable[[Path], None]

_KINDS = ("before_send", "on_play", "on_record", "on_write")


@dataclass(frozen=True)
class Call:
    """One request on its way: what ``before_send`` subscribers see."""

    cassette: Any  # the IndexedCassette
    request: Any  # the vcrpy request, after the recording hooks (canonical host, scrubbed)
    operation: str  # e.g. "bedrock-runtime.Converse", "openai.chat.completions"
    index: int | None  # the recorded exchange that will answer it, or None: it goes to the target (or misses)
    raw: Any = None  # the request as the SDK sent it (to the sandbox or provider), before the recording hooks

    @property
    def provider(self) -> str:
        """The provider part of the operation (``bedrock-runtime``, ``openai``, ``s3``, ...)."""
        return self.operation.split(".", 1)[0]

    @property
    def recorded(self) -> Exchange | None:
        """The recorded exchange that will answer this request, if any."""
        return None if self.index is None else self.cassette.exchange(self.index)

    @property
    def live(self) -> bool:
        """Whether the request would be sent to the target (recording)."""
        return self.index is None and not self.cassette.write_protected

    def record_now(self) -> Exchange:
        """Send a live request to its target now and record it; the recorded exchange (to answer with a variant)."""
        return self.cassette.record_live(self.raw)


@dataclass
class CassetteHooks:
    """Ordered subscriber lists; see the module docstring for what each one means."""

    before_send: list[BeforeSend] = field(default_factory=list)
    on_play: list[OnExchange] = field(default_factory=list)
    on_record: list[OnExchange] = field(default_factory=list)
    on_write: list[OnWrite] = field(default_factory=list)

    def subscribe(self, subscriber: Any = None, **callbacks: Callable[..., Any] | None) -> CassetteHooks:
        """Register ``subscriber``'s methods named after the hooks it has, and/or single callbacks by hook name."""
        unknown = set(callbacks) - set(_KINDS)
        if unknown:
            raise TypeError(f"unknown hook(s) {sorted(unknown)}; hooks are: {', '.join(_KINDS)}")
        for kind in _KINDS:
            fn = callbacks.get(kind) or (getattr(subscriber, kind, None) if subscriber is not None else None)
            if fn is not None:
                getattr(self, kind).append(fn)
        return self

    def copy(self) -> CassetteHooks:
        """An independent copy (same subscribers) to subscribe more to."""
        return CassetteHooks(list(self.before_send), list(self.on_play), list(self.on_record), list(self.on_write))

    def send(self, call: Call) -> Any:
        """Run ``before_send``: the first answer wins (None: nobody answered)."""
        for fn in self.before_send:
            answer = fn(call)
            if answer is not None:
                return answer
        return None

    def played(self, cassette: Any, exchange: Exchange) -> None:
        """Run ``on_play``."""
        for fn in self.on_play:
            fn(cassette, exchange)

    def recorded(self, cassette: Any, exchange: Exchange) -> None:
        """Run ``on_record``."""
        for fn in self.on_record:
            fn(cassette, exchange)

    def written(self, path: Path) -> None:
        """Run ``on_write``."""
        for fn in self.on_write:
            fn(path)
