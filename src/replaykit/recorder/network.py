"""Network guard for replay: any real socket connection attempt is refused and remembered.

vcrpy answers replayed requests before a socket is opened, so a connection attempt during replay is always a
request the cassette does not cover (or code that bypasses the patched HTTP clients). The attempt raises
``NetworkBlockedError`` (an ``OSError``, so HTTP clients fail fast instead of hanging), and the plugin fails the
test at teardown even if the code under test swallowed the error.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from replaykit.errors import NetworkBlockedError


@contextmanager
def blocked(attempts: list[str]) -> Iterator[list[str]]:
    """Refuse every outgoing socket connection inside the block; each attempt is appended to ``attempts``."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_create = socket.create_connection

    def _refuse(address: Any) -> NetworkBlockedError:
        where = f"{address[0]}:{address[1]}" if isinstance(address, tuple) and len(address) >= 2 else str(address)
        attempts.append(where)
        return NetworkBlockedError(
            f"replay mode opened no network, but the code under test tried to connect to {where}. "
            "Record the missing exchange with `pytest --record-mode=once` (or new_episodes), "
            "or mock that call."
        )

    def connect(self: socket.socket, address: Any) -> None:
        if self.family == socket.AF_UNIX:
            return real_connect(self, address)
        raise _refuse(address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if self.family == socket.AF_UNIX:
            return real_connect_ex(self, address)
        raise _refuse(address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        raise _refuse(address)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.create_connection = create_connection  # type: ignore[assignment]
    try:
        yield attempts
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]
        socket.create_connection = real_create
