"""Network guard for replay: any real connection, datagram or DNS lookup is refused and remembered.

vcrpy answers replayed requests before a socket is opened, so a connection attempt during replay is always a
request the cassette does not cover (or code that bypasses the patched HTTP clients). The attempt raises
``NetworkBlockedError`` (an ``OSError``, so HTTP clients fail fast instead of hanging), and the plugin fails the
test at teardown even if the code under test swallowed the error.

Covered in this process: ``socket.socket`` and the C-level ``_socket.socket`` (``connect``, ``connect_ex``,
``sendto``, ``sendmsg`` with an address), ``socket.create_connection``, and name resolution (``getaddrinfo``,
``gethostbyname``, ``gethostbyname_ex``, ``gethostbyaddr`` in both modules; asyncio's resolver calls
``socket.getaddrinfo``). Unix sockets, loopback names and numeric addresses resolve as usual.

Not covered: child processes. They do not inherit Python patches. Set ``REPLAYKIT_SUBPROCESS_PROXY=1`` to point
the standard proxy variables (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``) at a refusing local port while
the guard is active, which stops children that honour them (curl, requests, httpx, pip); raw sockets in a child
still reach the network.
"""

from __future__ import annotations

import _socket
import ipaddress
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from replaykit.errors import NetworkBlockedError

SUBPROCESS_PROXY_ENV = "REPLAYKIT_SUBPROCESS_PROXY"
REFUSING_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens, so every proxied request is refused
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", ""})


def _where(address: Any) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)


def _is_local_name(host: Any) -> bool:
    if host is None:
        return True
    name = host.decode("idna") if isinstance(host, bytes) else str(host)
    if name.lower() in _LOCAL_NAMES:
        return True
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    return True  # a numeric address needs no resolver; connecting to it is still refused


REPLAY_ADVICE = (
    "replay mode opened no network, but the code under test tried to reach {what}. "
    "Record the missing exchange with `pytest --record-mode=once` (or new_episodes), or mock that call."
)


@contextmanager
def blocked(
    attempts: list[str], *, allow: Callable[[str], bool] | None = None, advice: str = REPLAY_ADVICE
) -> Iterator[list[str]]:
    """Refuse every outgoing connection, datagram and DNS lookup inside the block; each is added to ``attempts``.

    ``allow`` takes a host (a name or a numeric address) and says whether it may be reached; ``advice`` is the
    error's text, with ``{what}`` for what was refused.
    """

    def refuse(what: str) -> NetworkBlockedError:
        attempts.append(what)
        return NetworkBlockedError(advice.format(what=what))

    def allowed(address: Any) -> bool:
        if allow is None:
            return False
        host = address[0] if isinstance(address, tuple) and address else address
        return host is not None and allow(host.decode("idna") if isinstance(host, bytes) else str(host))

    real_c_socket = _socket.socket
    saved: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, value: Any) -> None:
        saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, value)

    def guarded(base: Any) -> dict[str, Any]:
        real_connect, real_connect_ex, real_sendto = base.connect, base.connect_ex, base.sendto
        real_sendmsg = getattr(base, "sendmsg", None)

        def connect(self: Any, address: Any) -> None:
            if self.family == socket.AF_UNIX or allowed(address):
                return real_connect(self, address)
            raise refuse(_where(address))

        def connect_ex(self: Any, address: Any) -> int:
            if self.family == socket.AF_UNIX or allowed(address):
                return real_connect_ex(self, address)
            raise refuse(_where(address))

        def sendto(self: Any, data: Any, *args: Any) -> int:
            if self.family == socket.AF_UNIX or allowed(args[-1]):
                return real_sendto(self, data, *args)
            raise refuse(f"{_where(args[-1])} (UDP sendto)")

        def sendmsg(self: Any, buffers: Any, ancdata: Any = (), flags: int = 0, address: Any = None) -> int:
            if address is None or self.family == socket.AF_UNIX or allowed(address):
                assert real_sendmsg is not None  # replaced only where the platform has sendmsg
                return int(real_sendmsg(self, buffers, ancdata, flags, *(() if address is None else (address,))))
            raise refuse(f"{_where(address)} (sendmsg)")

        methods = {"connect": connect, "connect_ex": connect_ex, "sendto": sendto}
        if real_sendmsg is not None:
            methods["sendmsg"] = sendmsg
        return methods

    # socket.socket is a Python class: patch its methods. _socket.socket is a C type that cannot be patched,
    # so code that builds one directly gets a guarded subclass instead.
    for name, method in guarded(socket.socket).items():
        patch(socket.socket, name, method)
    c_guard = type("socket", (real_c_socket,), guarded(real_c_socket))
    patch(_socket, "socket", c_guard)

    real_create_connection = socket.create_connection

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        if allowed(address):
            return real_create_connection(address, *args, **kwargs)
        raise refuse(_where(address))

    patch(socket, "create_connection", create_connection)

    for module in (socket, _socket):
        for fn in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
            real = getattr(module, fn)

            def resolver(host: Any, *args: Any, _real: Any = real, _fn: str = fn, **kwargs: Any) -> Any:
                if _is_local_name(host) or allowed(host):
                    return _real(host, *args, **kwargs)
                raise refuse(f"{host} (DNS {_fn})")

            patch(module, fn, resolver)

    env_saved: dict[str, str | None] = {}
    if os.environ.get(SUBPROCESS_PROXY_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        for var in (*_PROXY_VARS, "NO_PROXY", "no_proxy"):
            env_saved[var] = os.environ.get(var)
            os.environ[var] = "" if var.lower() == "no_proxy" else REFUSING_PROXY
    try:
        yield attempts
    finally:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)
        for var, old in env_saved.items():
            if old is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = old
