"""The contenders: one function per way of answering the SDKs' requests, each timing a replay of a workload.

Every contender drives the real SDKs (openai 3.x over httpx2, boto3) with the same calls and checks every answer,
so a fast wrong replay cannot win:
  replaykit       ``replaykit.recorder.use_cassette(path, "none")``
  vcrpy           plain ``vcr.VCR`` with its default matchers, or with ``body`` added
  floor           in-memory mocks at the HTTP layer: respx (one computed route; openai gets an ``httpx.Client``
                  because respx patches httpx, not httpx2) and botocore ``before-send`` handlers; plus botocore's
                  ``Stubber`` for S3 GETs (below the HTTP layer: no signing, no parsing)
  live            a real HTTP server on 127.0.0.1 in another process
"""

from __future__ import annotations

import collections
import gc
import io
import multiprocessing
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import workload as w

from replaykit.exchange import Exchange

DUMMY_AWS = {"aws_access_key_id": "AKIAREPLAYDUMMY", "aws_secret_access_key": "replay-dummy-secret"}


@dataclass
class Timing:
    """Time for ``requests`` requests; ``sampled`` says the total was extrapolated from a sample.

    ``seconds`` is this thread's CPU time when the work is all in-process (replaykit, vcrpy, the floor): on a
    shared machine it is far steadier than the wall clock, and on an idle one they agree (nothing here waits on
    I/O). ``wall`` is the wall clock; for the live server, where the client waits on another process, it is
    the only honest figure and ``seconds`` is set to it.
    """

    seconds: float
    requests: int
    sampled: str = ""
    wall: float = 0.0

    @property
    def per_request_us(self) -> float:
        """Microseconds per request."""
        return self.seconds / self.requests * 1e6 if self.requests else 0.0


class Clock:
    """CPU and wall time of a block (``with Clock() as c: ...; c.cpu, c.wall``)."""

    def __enter__(self) -> Clock:
        self._cpu, self._wall = time.thread_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cpu, self.wall = time.thread_time() - self._cpu, time.perf_counter() - self._wall

    def timing(self, requests: int, *, wall_only: bool = False) -> Timing:
        """This block as a Timing."""
        return Timing(self.wall if wall_only else self.cpu, requests, wall=self.wall)


def best(a: Timing | None, b: Timing) -> Timing:
    """The less disturbed of two runs."""
    return b if a is None or b.seconds < a.seconds else a


# ---- SDK clients and the calls ---------------------------------------------------------------------------------


def boto_clients(endpoint: str | None = None) -> tuple[Any, Any]:
    """(bedrock-runtime, s3) clients with dummy credentials, optionally pointed at a local endpoint."""
    import boto3
    from botocore.config import Config

    style = "path" if endpoint else "auto"  # the local server has no bucket subdomains
    cfg = Config(retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": style})
    kw: dict[str, Any] = {"region_name": "us-east-1", "config": cfg, **DUMMY_AWS}
    if endpoint:
        kw["endpoint_url"] = endpoint
    return boto3.client("bedrock-runtime", **kw), boto3.client("s3", **kw)


def openai_client(base_url: str | None = None, http_client: Any = None) -> Any:
    """A real openai client (retries off), optionally on a local base URL or a given HTTP client."""
    import openai

    kw: dict[str, Any] = {"api_key": "sk-replay-dummy", "max_retries": 0}
    if base_url:
        kw["base_url"] = base_url
    if http_client is not None:
        kw["http_client"] = http_client
    return openai.OpenAI(**kw)


def drive(calls: Iterable[tuple[int, w.Call]], oc: Any, br: Any, s3: Any) -> int:
    """Make each call through the SDKs and check its answer is the recorded one; the number of calls made."""
    done = 0
    for i, call in calls:
        if call.kind == "openai":
            out = oc.chat.completions.create(model=w.OPENAI_MODEL, messages=[{"role": "user", "content": call.prompt}])
            if out.id != f"chatcmpl-bench{i:08d}":
                raise AssertionError(f"call {i}: got {out.id}")
        elif call.kind == "converse_stream":
            stream = br.converse_stream(
                modelId=w.BEDROCK_MODEL,
                messages=[{"role": "user", "content": [{"text": call.prompt}]}],
                inferenceConfig={"maxTokens": 64},
            )["stream"]
            text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in stream if "contentBlockDelta" in e)
            if not text.startswith(f"Answer {i}:"):
                raise AssertionError(f"call {i}: got {text!r}")
        else:
            body = s3.get_object(Bucket=w.S3_BUCKET, Key=call.prompt)["Body"].read()
            if body != w.s3_object(call.prompt).encode():
                raise AssertionError(f"call {i}: wrong object")
        done += 1
    return done


def timed(fn: Callable[[], int], repeat: int = 1, *, wall_only: bool = False) -> Timing:
    """Best of ``repeat`` runs (the least disturbed by other processes on a shared machine)."""
    out: Timing | None = None
    for _ in range(repeat):
        gc.collect()
        with Clock() as clock:
            n = fn()
        out = best(out, clock.timing(n, wall_only=wall_only))
    assert out is not None
    return out


# ---- (a) replaykit ----------------------------------------------------------------------------------------------


def replay_replaykit(path: Path, calls: Sequence[w.Call], repeat: int = 1) -> Timing:
    """Replay every call from a replaykit cassette (load excluded: it is measured on its own)."""
    from replaykit.config import Config
    from replaykit.recorder import use_cassette

    oc = openai_client()
    br, s3 = boto_clients()

    out: Timing | None = None
    for _ in range(repeat):
        gc.collect()
        with use_cassette(path, "none", config=Config()) as cassette:
            with Clock() as clock:
                n = drive(enumerate(calls), oc, br, s3)
            if cassette.play_count != len(calls):
                raise AssertionError(f"played {cassette.play_count} of {len(calls)}")
        out = best(out, clock.timing(n))
    assert out is not None
    return out


# ---- (b), (c) plain vcrpy ---------------------------------------------------------------------------------------

DEFAULT_MATCHERS = ("method", "scheme", "host", "port", "path", "query")


def replay_vcrpy(
    path: Path, calls: Sequence[w.Call], match_on: Sequence[str], *, budget: int, sample: int = 20
) -> Timing:
    """Replay with plain vcrpy; beyond ``budget`` requests, time samples at spread positions and extrapolate.

    vcrpy scans the recorded requests in order until it finds an unplayed match, so the i-th request costs
    a + b·i. A sample marks the requests before position p as played (exactly the state a full run reaches
    there), times ``sample`` requests from p, and the fitted line is summed over all N positions.
    """
    import vcr

    oc = openai_client()
    br, s3 = boto_clients()
    my_vcr = vcr.VCR(record_mode="none", match_on=list(match_on))
    n = len(calls)
    with my_vcr.use_cassette(str(path)) as cassette:
        if n <= budget:
            with Clock() as clock:
                done = drive(enumerate(calls), oc, br, s3)
            return clock.timing(done)
        points: list[tuple[float, float]] = []
        k = max(1, min(sample, n // 10))
        positions = sorted({0, n // 4, n // 2, (3 * n) // 4, n - k})
        for p in positions:
            cassette.play_counts = collections.Counter({i: 1 for i in range(p)})
            with Clock() as clock:
                drive(((i, calls[i]) for i in range(p, p + k)), oc, br, s3)
            points.append((p + (k - 1) / 2, clock.cpu / k))
    a, b = _fit(points)
    total = n * a + b * n * (n - 1) / 2
    return Timing(total, n, f"extrapolated from {k}×{len(positions)} timed requests")


def _fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares line y = a + b·x."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
    return my - b * mx, max(b, 0.0)


# ---- (d) the in-memory floor ------------------------------------------------------------------------------------


def _answers(exchanges: Sequence[Exchange], calls: Sequence[w.Call]) -> dict[str, tuple[int, dict[str, str], bytes]]:
    """Wire responses by request identity, encoded up front: the floor does nothing a mock need not do."""
    return {c.prompt: w.wire_response(e) for c, e in zip(calls, exchanges, strict=True)}


class _Raw:
    """Just enough of urllib3's response for botocore (streamed event streams and StreamingBody reads)."""

    def __init__(self, data: bytes) -> None:
        self._fp = io.BytesIO(data)

    def stream(self, amt: int = 1024, decode_content: Any = None) -> Iterable[bytes]:
        while chunk := self._fp.read(amt):
            yield chunk

    def read(self, amt: int | None = None, decode_content: Any = None) -> bytes:
        return self._fp.read(amt)

    def close(self) -> None:
        pass


def replay_floor(exchanges: Sequence[Exchange], calls: Sequence[w.Call], repeat: int = 1) -> Timing:
    """respx with one computed route for openai, botocore before-send handlers for boto3."""
    import httpx
    import respx
    from botocore.awsrequest import AWSResponse

    answers = _answers(exchanges, calls)

    def openai_route(request: httpx.Request) -> httpx.Response:
        status, headers, body = answers[w.request_identity(request.method, request.url.path, request.content)]
        return httpx.Response(status, headers=headers, content=body)

    def aws_send(request: Any, **_: Any) -> AWSResponse:
        path = request.url.split("amazonaws.com", 1)[1].split("?", 1)[0]
        status, headers, body = answers[w.request_identity(request.method, path, request.body or b"")]
        return AWSResponse(request.url, status, headers, _Raw(body))

    oc = openai_client(http_client=httpx.Client())
    br, s3 = boto_clients()
    for client in (br, s3):
        client.meta.events.register("before-send", aws_send)
    router = respx.mock(assert_all_called=False)
    router.post(w.OPENAI_URL).mock(side_effect=openai_route)
    with router:
        return timed(lambda: drive(enumerate(calls), oc, br, s3), repeat)


def replay_stubber(exchanges: Sequence[Exchange], calls: Sequence[w.Call], repeat: int = 1) -> Timing | None:
    """botocore's Stubber answering S3 GETs (None when the workload has none)."""
    from botocore.response import StreamingBody
    from botocore.stub import Stubber

    gets = [(i, c) for i, c in enumerate(calls) if c.kind == "s3_get"]
    if not gets:
        return None
    _, s3 = boto_clients()
    answers = _answers(exchanges, calls)

    def run() -> Timing:
        stubber = Stubber(s3)
        for _, c in gets:
            data = answers[c.prompt][2]
            stubber.add_response(
                "get_object",
                {"Body": StreamingBody(io.BytesIO(data), len(data)), "ContentLength": len(data)},
                {"Bucket": w.S3_BUCKET, "Key": c.prompt},
            )
        with stubber, Clock() as clock:
            done = drive(gets, None, None, s3)
        return clock.timing(done)

    out: Timing | None = None
    for _ in range(repeat):
        out = best(out, run())
    return out


# ---- (e) a live local server ------------------------------------------------------------------------------------


def _serve(answers: dict[str, tuple[int, dict[str, str], bytes]], port_out: Any) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body in one segment, sent at once: otherwise Nagle + delayed ACK add 40 ms per request
        wbufsize = 1 << 16
        disable_nagle_algorithm = True

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            if path.startswith(f"/{w.S3_BUCKET}/"):
                path = path[len(w.S3_BUCKET) + 1 :]
            status, headers, data = answers[w.request_identity(self.command, path, body)]
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer  # noqa: N815 - http.server's naming

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_out.put(server.server_address[1])
    server.serve_forever()


class LiveServer:
    """A recorded-answer HTTP server in a child process (its own GIL, as a real local service would have)."""

    def __init__(self, exchanges: Sequence[Exchange], calls: Sequence[w.Call]) -> None:
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        self._proc = ctx.Process(target=_serve, args=(_answers(exchanges, calls), queue), daemon=True)
        self._proc.start()
        self.base = f"http://127.0.0.1:{queue.get(timeout=30)}"

    def close(self) -> None:
        """Stop the server process."""
        self._proc.terminate()
        self._proc.join(5)


def replay_live(server: LiveServer, calls: Sequence[w.Call], repeat: int = 1) -> Timing:
    """Every call answered over real HTTP by the local server."""
    oc = openai_client(base_url=f"{server.base}/v1")
    br, s3 = boto_clients(server.base)
    return timed(lambda: drive(enumerate(calls), oc, br, s3), repeat, wall_only=True)


# ---- recording --------------------------------------------------------------------------------------------------


@dataclass
class RecordTiming:
    """A record run against the live server: the request loop and the cassette write at the end."""

    loop: Timing
    save_seconds: float


def record_replaykit(server: LiveServer, calls: Sequence[w.Call], path: Path) -> RecordTiming:
    """Record the OpenAI calls into a new cassette through the live server (host mapped to api.openai.com)."""
    from replaykit.config import Config
    from replaykit.recorder import use_cassette

    oc = openai_client(base_url=f"{server.base}/v1")
    ctx = use_cassette(path, "once", config=Config(), host_map={server.base: "https://api.openai.com"})
    cassette = ctx.__enter__()
    try:
        with Clock() as loop:
            n = drive(enumerate(calls), oc, None, None)
    finally:
        with Clock() as save:
            ctx.__exit__(None, None, None)
    if len(cassette.data) != len(calls):
        raise AssertionError(f"recorded {len(cassette.data)} of {len(calls)}")
    return RecordTiming(loop.timing(n, wall_only=True), save.wall)
