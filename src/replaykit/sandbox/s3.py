"""A real S3 for the sandbox: moto's threaded server on its own port, with moto's in-process state reset."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from typing import Any

from replaykit.errors import SandboxError

# sandboxes currently serving S3 in this process (they share moto's global state)
_active = 0
_lock = threading.Lock()


class S3Server:
    """moto's ``ThreadedMotoServer`` bound to ``host`` on a free port; ``start``/``stop`` free everything."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: Any = None
        self._conns: set[socket.socket] = set()

    def start(self) -> None:
        """Start serving, resetting moto's global state first unless another sandbox in the process is serving."""
        from moto.moto_api._internal.models import moto_api_backend
        from moto.server import ThreadedMotoServer

        global _active
        with _lock:
            # moto keeps every backend in process-wide state: a new sandbox starts empty, unless another sandbox
            # in this process is still serving (resetting would wipe its buckets under it)
            if _active == 0:
                moto_api_backend.reset()
        # werkzeug logs each request at INFO on stderr, which would drown the CLI's output
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        _check_bindable(self.host, self.port)
        server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        server.start()
        self._server = server
        with _lock:
            _active += 1
        _track_connections(server._server, self._conns)
        self.port = server.get_host_and_port()[1]
        _wait_accepting(self.host, self.port)

    def stop(self) -> None:
        """Stop serving, join moto's thread and close its listening socket."""
        global _active
        server, self._server = self._server, None
        if server is None:
            return
        with _lock:
            _active -= 1
        # moto's serve_forever polls every 0.5 s; a throwaway connection wakes it so stop() returns at once
        poke = threading.Timer(0.01, _poke, (self.host, self.port))
        poke.start()
        server.stop()
        poke.join()
        # wake connection threads idling on keep-alive reads, so server_close can join them
        for conn in list(self._conns):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        # ThreadedMotoServer.stop() leaves the listening socket open; close it so the port is freed
        wsgi = getattr(server, "_server", None)
        if wsgi is not None:
            wsgi.server_close()


def _track_connections(wsgi: Any, conns: set[socket.socket]) -> None:
    """Make moto's werkzeug server join its connection threads on close and remember their sockets."""
    wsgi.daemon_threads = False
    wsgi.block_on_close = True
    process, shutdown = wsgi.process_request, wsgi.shutdown_request

    def process_request(request: socket.socket, client_address: Any) -> None:
        conns.add(request)
        process(request, client_address)

    def shutdown_request(request: socket.socket) -> None:
        conns.discard(request)
        shutdown(request)

    wsgi.process_request, wsgi.shutdown_request = process_request, shutdown_request


def _poke(host: str, port: int) -> None:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        pass


def _check_bindable(host: str, port: int) -> None:
    # ThreadedMotoServer.start() waits forever if its thread cannot bind, so fail here first
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((host, port))
    except OSError as exc:
        raise SandboxError(f"cannot start S3 (moto) on {host}:{port}: {exc}") from exc


def _wait_accepting(host: str, port: int, timeout: float = 5.0) -> None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise SandboxError(f"S3 (moto) on {host}:{port} does not accept connections: {exc}") from exc
