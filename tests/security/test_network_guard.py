"""Replay's network guard: every path out of the process is refused, against real listeners on 127.0.0.1."""

from __future__ import annotations

import _socket
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from replaykit.recorder.network import REFUSING_PROXY, SUBPROCESS_PROXY_ENV, NetworkBlockedError, blocked

REPO = Path(__file__).resolve().parents[2]
CASSETTE = REPO / "cassettes" / "test_s3" / "test_object_lifecycle.yaml"
UNRESOLVABLE = "replaykit-guard-check.invalid"


@pytest.fixture()
def tcp_server() -> Iterator[tuple[str, int, list[int]]]:
    """A listening TCP server on loopback that counts the connections it accepts."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    srv.settimeout(0.2)
    accepted: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            accepted.append(1)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield "127.0.0.1", srv.getsockname()[1], accepted
    stop.set()
    thread.join()
    srv.close()


def test_socket_and_c_socket_connect_are_refused(tcp_server: tuple[str, int, list[int]]) -> None:
    host, port, accepted = tcp_server
    attempts: list[str] = []
    with blocked(attempts):
        for make in (lambda: socket.socket(), lambda: _socket.socket(), lambda: socket.socket(socket.AF_INET6)):
            sock = make()
            with pytest.raises(NetworkBlockedError):
                sock.connect((host, port))
            with pytest.raises(NetworkBlockedError):
                sock.connect_ex((host, port))
            sock.close()
        with pytest.raises(NetworkBlockedError):
            socket.create_connection((host, port))
    assert accepted == []
    assert attempts.count(f"{host}:{port}") == 7
    # the guard is gone afterwards: the same connect reaches the server
    with socket.create_connection((host, port)):
        pass


def test_udp_sendto_without_connect_is_refused() -> None:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(0.2)
    target = receiver.getsockname()
    attempts: list[str] = []
    with blocked(attempts):
        for sock in (socket.socket(socket.AF_INET, socket.SOCK_DGRAM), _socket.socket(2, socket.SOCK_DGRAM)):
            with pytest.raises(NetworkBlockedError):
                sock.sendto(b"leak", target)
            with pytest.raises(NetworkBlockedError):
                sock.sendto(b"leak", 0, target)
            sock.close()
    with pytest.raises(TimeoutError):
        receiver.recvfrom(16)
    receiver.close()
    assert all("UDP sendto" in a for a in attempts) and len(attempts) == 4


def test_dns_is_refused_and_loopback_still_resolves() -> None:
    attempts: list[str] = []
    with blocked(attempts):
        for lookup in (
            lambda: socket.getaddrinfo(UNRESOLVABLE, 443),
            lambda: socket.gethostbyname(UNRESOLVABLE),
            lambda: socket.gethostbyname_ex(UNRESOLVABLE),
            lambda: _socket.getaddrinfo(UNRESOLVABLE, 443),
            lambda: _socket.gethostbyname(UNRESOLVABLE),
        ):
            with pytest.raises(NetworkBlockedError):
                lookup()
        assert socket.getaddrinfo("127.0.0.1", 80)[0][4][0] == "127.0.0.1"
        assert socket.gethostbyname("localhost")

        async def resolve() -> None:
            await asyncio.get_running_loop().getaddrinfo(UNRESOLVABLE, 443)

        with pytest.raises(NetworkBlockedError):
            asyncio.run(resolve())
    assert sum(UNRESOLVABLE in a for a in attempts) == 6


def test_subprocess_proxy_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SUBPROCESS_PROXY_ENV, "1")
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    with blocked([]):
        out = subprocess.run(
            [sys.executable, "-c", "import os; print(os.environ['HTTPS_PROXY'], os.environ['ALL_PROXY'])"],
            capture_output=True, text=True, check=True,
        ).stdout.split()
    assert out == [REFUSING_PROXY, REFUSING_PROXY]
    assert "HTTPS_PROXY" not in os.environ


def test_use_cassette_none_blocks_a_raw_connect_outside_pytest(
    tmp_path: Path, tcp_server: tuple[str, int, list[int]]
) -> None:
    host, port, accepted = tcp_server
    shutil.copy(CASSETTE, tmp_path / "c.yaml")
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(f"""
        import _socket, socket
        import replaykit

        with replaykit.use_cassette("c.yaml", record_mode="none"):
            for make in (socket.socket, _socket.socket):
                try:
                    make().connect(("{host}", {port}))
                except OSError as exc:
                    print("blocked", type(exc).__name__)
            try:
                socket.getaddrinfo("{UNRESOLVABLE}", 443)
            except OSError:
                print("dns blocked")
        s = socket.create_connection(("{host}", {port}))
        s.close()
        print("after: connected")
    """))
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:4] == ["blocked NetworkBlockedError"] * 2 + ["dns blocked", "after: connected"]
    assert len(accepted) == 1
