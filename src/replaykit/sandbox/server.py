"""The sandbox HTTP server (AWS by SigV4 scope, Bedrock Runtime and OpenAI on one port) and ``running()``."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from replaykit.errors import SandboxError
from replaykit.sandbox import aws, profiles
from replaykit.sandbox._http import PROFILE_HEADER, Reply, Request, http_date, json_bytes
from replaykit.sandbox.bedrock import urls as bedrock_urls
from replaykit.sandbox.openai import urls as openai_urls
from replaykit.sandbox.s3 import S3Server

log = logging.getLogger(__name__)

# idle keep-alive connections are closed after this long, like a provider's load balancer would
_IDLE_TIMEOUT = 60.0


@dataclass(frozen=True)
class Endpoints:
    """Where a running sandbox listens."""

    bedrock_runtime: str
    openai: str
    s3: str
    profile: str
    # every AWS service boto3 speaks, routed by the SigV4 scope (Bedrock Runtime and S3 answer here too)
    aws: str = ""

    def as_dict(self) -> dict[str, str]:
        """The endpoints as a plain dict (the CLI prints it as one JSON line)."""
        return asdict(self)


def _dispatch(req: Request, moto: aws.MotoProxy | None = None) -> Reply:
    scope = aws.scope_of(req)
    if scope is not None and (moto is not None or scope[1] in aws.MODELED):
        return aws.dispatch(req, scope[0], scope[1], moto)
    if moto is not None and req.path.startswith("/moto-api/"):
        return moto.forward(req, None, None)  # moto's own API: POST /moto-api/reset empties every service
    if req.path.startswith("/v1/") or req.path == "/v1":
        routes, fallback = openai_urls.ROUTES, openai_urls.FALLBACK
    else:
        routes, fallback = bedrock_urls.ROUTES, bedrock_urls.FALLBACK
    for r in routes:
        match = r.pattern.match(req.path)
        if match and r.method == req.method:
            req.params = match.groupdict()
            return r.handler(req)
    return fallback(req)


def handle(
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    profile: str = "default",
    moto: aws.MotoProxy | None = None,
) -> Reply:
    """Answer one request in-process, without sockets (the same routing and wire code the server uses).

    Without ``moto``, only what the sandbox itself models answers (Bedrock, SageMaker Runtime, OpenAI).
    """
    split = urlsplit(path)
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    chosen = profiles.PROFILES.get(lowered.get(PROFILE_HEADER, ""), profiles.PROFILES[profile])
    req = Request(method, split.path, parse_qs(split.query), lowered, body, chosen, raw_target=path)
    return _dispatch(req, moto)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "replaykit-sandbox"
    sys_version = ""
    timeout = _IDLE_TIMEOUT
    # headers, body and stream chunks are separate small writes: Nagle plus delayed ACKs would stall each ~40 ms
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature fixed by the base class
        log.debug("%s - %s", self.address_string(), format % args)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        body = self._read_body()
        try:
            reply = handle(
                self.command, self.path, body, dict(self.headers.items()), self.server.profile.name, self.server.moto
            )
        except Exception:  # a bug in a handler must not kill the connection thread silently
            log.exception("sandbox handler failed for %s %s", self.command, self.path)
            reply = Reply(
                500, [("Content-Type", "application/json")], json_bytes({"message": "replaykit sandbox internal error"})
            )
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        # send_response_only: the providers send no Server header, and handlers set Date themselves
        self.log_request(reply.status)
        self.send_response_only(reply.status)
        names = {k.lower() for k, _ in reply.headers}
        if "date" not in names:
            self.send_header("Date", http_date())
        for name, value in reply.headers:
            self.send_header(name, value)
        if reply.chunks is None:
            if "content-length" not in names:
                self.send_header("Content-Length", str(len(reply.body)))
            self.send_header("Connection", "keep-alive")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
            self.wfile.flush()
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "keep-alive")  # a cut stream drops the connection unannounced
        self.end_headers()
        for chunk in reply.chunks:
            if chunk:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
        if reply.cut:
            # no terminating chunk: the client sees the body end early, like a dropped connection
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle


class _Server(ThreadingHTTPServer):
    # request threads are joined on close (and woken first by shutting their sockets down)
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], profile: profiles.Profile, family: int) -> None:
        self.address_family = family
        self.profile = profile
        self.moto: aws.MotoProxy | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # clients drop connections (stream errors, closed pools, shutdown): not worth a traceback on stderr
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    def track(self, conn: socket.socket, *, add: bool) -> None:
        """Remember open connections so ``close_all`` can wake their threads."""
        with self._lock:
            (self._connections.add if add else self._connections.discard)(conn)

    def close_all(self) -> None:
        """Shut down every open connection (idle keep-alive readers return at once)."""
        with self._lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


@contextlib.contextmanager
def running(host: str = "127.0.0.1", port: int = 0, profile: str = "default") -> Iterator[Endpoints]:
    """Run the sandbox (Bedrock Runtime + OpenAI on ``port``, S3 on a free port) for the ``with`` block."""
    if profile not in profiles.PROFILES:
        raise SandboxError(f"unknown profile {profile!r} (choose from: {', '.join(profiles.PROFILES)})")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        server = _Server((host, port), profiles.PROFILES[profile], family)
    except OSError as exc:
        raise SandboxError(f"cannot listen on {host}:{port}: {exc}") from exc
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="replaykit-sandbox-http", daemon=True
    )
    thread.start()
    s3 = S3Server(host)
    try:
        s3.start()
        server.moto = aws.MotoProxy(_url_host(host).strip("[]"), s3.port, aws.aws_host)
        base = f"http://{_url_host(host)}:{server.server_address[1]}"
        yield Endpoints(
            bedrock_runtime=base,
            openai=base + "/v1",
            s3=f"http://{_url_host(host)}:{s3.port}",
            profile=profile,
            aws=base,
        )
    finally:
        s3.stop()
        server.shutdown()
        server.close_all()
        server.server_close()
        thread.join(timeout=5)
