"""A per-provider circuit breaker: CLOSED → OPEN after consecutive failures → HALF_OPEN after a cool-down → CLOSED
on one successful trial call (or OPEN again when the trial fails). The clock is injectable, so tests move time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum


class State(StrEnum):
    """Breaker states."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Stops calling a provider that keeps failing, and probes it again after ``cool_down`` seconds."""

    def __init__(
        self, failure_threshold: int = 3, cool_down: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failure_threshold = failure_threshold
        self.cool_down = cool_down
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self.transitions: list[State] = []
        self._state = State.CLOSED
        self._trial_running = False
        self._lock = threading.Lock()

    @property
    def state(self) -> State:
        """The current state (an OPEN breaker whose cool-down has passed reads as HALF_OPEN)."""
        with self._lock:
            self._refresh()
            return self._state

    def _refresh(self) -> None:
        if self._state is State.OPEN and self.opened_at is not None and self.clock() - self.opened_at >= self.cool_down:
            self._move(State.HALF_OPEN)

    def _move(self, state: State) -> None:
        if state is not self._state:
            self._state = state
            self.transitions.append(state)

    def allow(self) -> bool:
        """Whether a call may go out now (HALF_OPEN lets exactly one trial call through)."""
        with self._lock:
            self._refresh()
            if self._state is State.CLOSED:
                return True
            if self._state is State.HALF_OPEN and not self._trial_running:
                self._trial_running = True
                return True
            return False

    def record_success(self) -> None:
        """A call succeeded: close the circuit."""
        with self._lock:
            self.failures = 0
            self._trial_running = False
            self.opened_at = None
            self._move(State.CLOSED)

    def record_failure(self) -> None:
        """A call failed: open the circuit after too many failures in a row, or when the trial call failed."""
        with self._lock:
            self.failures += 1
            trial = self._trial_running
            self._trial_running = False
            if trial or self.failures >= self.failure_threshold:
                self.opened_at = self.clock()
                self._move(State.OPEN)
