"""Benchmark replaykit's load and replay against plain vcrpy, an in-memory floor and a live local server.

    make bench                                   # .venv/bin/python benchmarks/run.py
    .venv/bin/python benchmarks/run.py --quick   # smoke run: N = 10, 100
    .venv/bin/python benchmarks/run.py --sizes 100,1000 --out /tmp/RESULTS.md

For each N it builds cassettes of N distinct exchanges — all OpenAI chat completions (N JSON POSTs to one URL:
vcrpy's worst and most common case), and a 70/20/10 mix of OpenAI, Bedrock ConverseStream and S3 GETs — then
times loading them and replaying every request through the real openai and boto3 clients. Results go to the
terminal (rich) and to ``benchmarks/RESULTS.md`` with a description of the machine.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness as h  # noqa: E402
import workload as w  # noqa: E402
from tables import markdown, print_tables  # noqa: E402

HERE = Path(__file__).resolve().parent
FULL_SIZES = (10, 100, 1_000, 10_000)
QUICK_SIZES = (10, 100)
# plain vcrpy is quadratic: above these sizes it is timed on a sample and extrapolated
VCRPY_DEFAULT_BUDGET = 1_000
VCRPY_BODY_BUDGET = 100


def _clear_memo() -> None:
    """Forget decoded cassettes kept in this process, so a load is a first load."""
    from replaykit.cassette import persister

    getattr(persister, "_MEMO", {}).clear()


def _seconds(fn: Callable[[], Any], repeat: int = 1, before: Callable[[], None] | None = None) -> float:
    """Best wall time of fn, including the young-generation collection it leaves behind.

    replaykit builds cassettes with the cyclic collector paused; the objects made meanwhile are collected once
    when it resumes, possibly after fn returns. ``gc.collect(0)`` inside the timed region charges that to fn.
    """
    best = float("inf")
    for _ in range(repeat):
        if before is not None:
            before()
        gc.collect()
        start = time.perf_counter()
        fn()
        gc.collect(0)
        best = min(best, time.perf_counter() - start)
    return best


class Bench:
    """One benchmark run: builds the cassettes, times every contender, keeps the rows for the report."""

    def __init__(self, sizes: tuple[int, ...], work: Path, quick: bool) -> None:
        self.sizes = sizes
        self.work = work
        self.quick = quick
        self.cache_dir = work / "cache"
        os.environ["REPLAYKIT_CACHE_DIR"] = str(self.cache_dir)
        self.load_rows: list[dict[str, Any]] = []
        self.replay_rows: list[dict[str, Any]] = []
        self.extra_rows: list[tuple[str, str, str]] = []
        self.op_rows: list[dict[str, Any]] = []
        self.notes: list[str] = []

    # -- building -------------------------------------------------------------------------------------------
    def build(self, n: int, kinds: str) -> tuple[list[w.Call], list[Any], Path, Path, Path]:
        """The calls, exchanges and cassette paths (replaykit YAML, replaykit JSON, plain vcrpy) of a workload."""
        calls = w.mix(n, kinds)
        exs = w.exchanges(calls)
        base = self.work / kinds / str(n)
        yaml_path, json_path, vcr_path = base / "replaykit.yaml", base / "replaykit.json", base / "vcrpy.yaml"
        w.write_replaykit(yaml_path, exs)  # populates the parsed-cassette cache, as the persister's writes do
        w.write_replaykit(json_path, exs)
        if kinds == "openai":
            w.write_vcrpy(vcr_path, exs)
        return calls, exs, yaml_path, json_path, vcr_path

    # -- load -------------------------------------------------------------------------------------------------
    def load(self, n: int, yaml_path: Path, json_path: Path, vcr_path: Path) -> None:
        """Time every way a cassette gets from disk into memory."""
        import vcr

        from replaykit.cassette import load_exchanges
        from replaykit.config import Config
        from replaykit.recorder import use_cassette

        repeat = 3 if n <= 1_000 else 1
        env = os.environ

        def cold() -> None:
            env["REPLAYKIT_CACHE_DIR"] = "off"
            try:
                load_exchanges(yaml_path)
            finally:
                env["REPLAYKIT_CACHE_DIR"] = str(self.cache_dir)

        def open_cassette() -> None:
            ctx = use_cassette(yaml_path, "none", config=Config())
            ctx.__enter__()
            ctx.__exit__(None, None, None)

        def open_vcrpy() -> None:
            with vcr.VCR(record_mode="none").use_cassette(str(vcr_path)):
                pass

        row = {
            "n": n,
            "bytes": yaml_path.stat().st_size,
            "yaml_cold": _seconds(cold, repeat),
            "yaml_cached": _seconds(lambda: load_exchanges(yaml_path), repeat),
            "json": _seconds(lambda: load_exchanges(json_path), repeat),
            "open_first": _seconds(open_cassette, repeat, before=_clear_memo),
            "open_again": _seconds(open_cassette, repeat),
            "vcrpy": _seconds(open_vcrpy, 1 if n >= 1_000 else repeat),
        }
        self.load_rows.append(row)

    # -- replay ---------------------------------------------------------------------------------------------
    def replay(self, n: int, kinds: str, calls: list[w.Call], exs: list[Any], yaml_path: Path, vcr_path: Path) -> None:
        """Replay the workload through every contender."""
        repeat = 3 if n <= 1_000 else 2
        row: dict[str, Any] = {"n": n, "kinds": kinds, "replaykit": None, "floor": None, "live": None}
        server = h.LiveServer(exs, calls)
        try:
            # round robin, best of each: a burst of load from elsewhere hits every contender alike
            for _ in range(repeat):
                row["replaykit"] = h.best(row["replaykit"], h.replay_replaykit(yaml_path, calls))
                row["floor"] = h.best(row["floor"], h.replay_floor(exs, calls))
                row["live"] = h.best(row["live"], h.replay_live(server, calls))
        finally:
            server.close()
        if kinds == "openai":
            row["vcrpy"] = h.replay_vcrpy(vcr_path, calls, h.DEFAULT_MATCHERS, budget=VCRPY_DEFAULT_BUDGET)
            body_budget = VCRPY_BODY_BUDGET
            row["vcrpy_body"] = h.replay_vcrpy(
                vcr_path, calls, (*h.DEFAULT_MATCHERS, "body"), budget=body_budget, sample=10 if n > 1_000 else 20
            )
        else:
            row["stubber_s3"] = h.replay_stubber(exs, calls, repeat)
        self.replay_rows.append(row)

    # -- extras ---------------------------------------------------------------------------------------------
    def record(self, n: int, calls: list[w.Call], exs: list[Any]) -> None:
        """Record-mode overhead: the same calls through the live server, with and without a recording cassette."""
        server = h.LiveServer(exs, calls)
        try:
            live = h.replay_live(server, calls)
            path = self.work / "record" / f"{n}.yaml"
            rec = h.record_replaykit(server, calls, path)
        finally:
            server.close()
        per = (rec.loop.seconds - live.seconds) / n * 1e6
        self.extra_rows.append(
            (
                f"record N={n:,} (openai)",
                f"{rec.loop.seconds:.2f} s loop + {rec.save_seconds:.2f} s write",
                f"+{per:,.0f} µs/request over live ({live.per_request_us:,.0f}); "
                f"write {rec.save_seconds / n * 1e6:,.0f} µs/exchange",
            )
        )

    def contracts_and_drift(self, n: int) -> None:
        """``contracts check`` and ``drift`` over an N-exchange cassette tree, when those modules exist."""
        try:
            from replaykit.contracts import check_cassettes, update_contracts
        except ImportError as exc:
            self.notes.append(f"contracts check skipped: {exc}")
        else:
            calls = w.mix(n, "mix")
            exs = w.exchanges(calls)
            tree = self.work / "contracts-tree" / "cassettes"
            w.write_replaykit(tree / "bench.yaml", exs)
            contracts = self.work / "contracts-tree" / "contracts"
            update_contracts(exs[:200], contracts)
            start = time.perf_counter()
            report = check_cassettes(tree, contracts)
            took = time.perf_counter() - start
            self.extra_rows.append(
                (
                    f"contracts check, {report.exchanges:,} exchanges",
                    f"{took:.2f} s",
                    f"{took / max(report.exchanges, 1) * 1e6:,.0f} µs/exchange, {len(report.violations)} violations",
                )
            )
        try:
            from replaykit.drift import compare_trees
        except ImportError as exc:
            self.notes.append(f"drift skipped: {exc}")
            return
        old, new = self.work / "drift" / "old", self.work / "drift" / "new"
        calls = w.mix(n, "mix")
        exs = w.exchanges(calls)
        w.write_replaykit(old / "bench.yaml", exs)
        # the new recording: same requests, every 10th OpenAI answer a little longer
        for i, ex in enumerate(exs):
            if ex.operation == "openai.chat.completions" and i % 10 == 0:
                ex.response.body.value["choices"][0]["message"]["content"] += " More."
        w.write_replaykit(new / "bench.yaml", exs)
        start = time.perf_counter()
        compare_trees(old, new)
        took = time.perf_counter() - start
        self.extra_rows.append((f"drift, {n:,} vs {n:,} exchanges", f"{took:.2f} s", f"{took / n * 1e6:,.0f} µs/pair"))

    def per_operation(self, n: int = 20, repeat: int = 5) -> None:
        """Per-request cost of each operation alone, at a size where plain vcrpy's scan barely shows."""
        for kind in ("openai", "converse_stream", "s3_get"):
            calls = [w.Call(kind, w.prompt(i) if kind != "s3_get" else f"objects/{i:06d}.txt") for i in range(n)]
            exs = w.exchanges(calls)
            base = self.work / "per-op" / kind
            yaml_path, vcr_path = base / "replaykit.yaml", base / "vcrpy.yaml"
            w.write_replaykit(yaml_path, exs)
            w.write_vcrpy(vcr_path, exs)
            row: dict[str, Any] = {"kind": kind, "n": n}
            for _ in range(repeat):
                row["replaykit"] = h.best(row.get("replaykit"), h.replay_replaykit(yaml_path, calls))
                row["floor"] = h.best(row.get("floor"), h.replay_floor(exs, calls))
                row["vcrpy"] = h.best(row.get("vcrpy"), h.replay_vcrpy(vcr_path, calls, h.DEFAULT_MATCHERS, budget=n))
                if kind == "s3_get":
                    row["stubber"] = h.best(row.get("stubber"), h.replay_stubber(exs, calls))
            self.op_rows.append(row)

    def run(self, record_sizes: tuple[int, ...], extras_size: int | None) -> None:
        """Everything, in order of size (smaller sizes warm the imports and SDK caches first)."""
        warm = w.mix(10, "mix")
        self.build(10, "mix")
        h.replay_floor(w.exchanges(warm), warm)
        self.per_operation()
        for n in self.sizes:
            started = time.perf_counter()
            calls, exs, yaml_path, json_path, vcr_path = self.build(n, "openai")
            self.load(n, yaml_path, json_path, vcr_path)
            self.replay(n, "openai", calls, exs, yaml_path, vcr_path)
            if n in record_sizes:
                self.record(n, calls, exs)
            calls, exs, yaml_path, _, _ = self.build(n, "mix")
            self.replay(n, "mix", calls, exs, yaml_path, vcr_path)
            print(f"N={n:,}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
            shutil.rmtree(self.work / "openai" / str(n), ignore_errors=True)
        if extras_size:
            self.contracts_and_drift(extras_size)


# ---- report -----------------------------------------------------------------------------------------------------


def _us(t: h.Timing | None) -> str:
    if t is None:
        return "–"
    return f"{t.per_request_us:,.0f}" + ("*" if t.sampled else "")


def _s(t: h.Timing | None) -> str:
    if t is None:
        return "–"
    return f"{t.seconds:,.2f}" + ("*" if t.sampled else "")


def _ratio(a: h.Timing | None, b: h.Timing | None) -> str:
    if a is None or b is None or not b.seconds:
        return "–"
    return f"{a.seconds / b.seconds:,.2f}×" if a.seconds / b.seconds < 100 else f"{a.seconds / b.seconds:,.0f}×"


def tables(bench: Bench) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of every result table."""
    out = []
    load_header = [
        "N",
        "file",
        "YAML parse (no cache)",
        "YAML via cache",
        "JSON cassette",
        "open for replay (1st in process)",
        "open again (memo)",
        "vcrpy open",
    ]
    load_rows = []
    for r in bench.load_rows:
        n = r["n"]

        def cell(key: str, n: int = n, r: dict[str, Any] = r) -> str:
            return f"{r[key] * 1e3:,.1f} ms ({r[key] / n * 1e6:,.1f} µs/ex)"

        load_rows.append(
            [
                f"{n:,}",
                f"{r['bytes'] / 1e6:,.2f} MB",
                cell("yaml_cold"),
                cell("yaml_cached"),
                cell("json"),
                cell("open_first"),
                cell("open_again"),
                cell("vcrpy"),
            ]
        )
    out.append(("Load (OpenAI workload)", load_header, load_rows))

    header = [
        "N",
        "replaykit s",
        "µs/req",
        "floor µs/req",
        "live µs/req",
        "vcrpy µs/req",
        "vcrpy+body µs/req",
        "replaykit/floor",
        "vcrpy/replaykit",
        "vcrpy+body/replaykit",
    ]
    rows = []
    for r in (r for r in bench.replay_rows if r["kinds"] == "openai"):
        rows.append(
            [
                f"{r['n']:,}",
                _s(r["replaykit"]),
                _us(r["replaykit"]),
                _us(r["floor"]),
                _us(r["live"]),
                _us(r["vcrpy"]),
                _us(r["vcrpy_body"]),
                _ratio(r["replaykit"], r["floor"]),
                _ratio(r["vcrpy"], r["replaykit"]),
                _ratio(r["vcrpy_body"], r["replaykit"]),
            ]
        )
    out.append(("Replay: N distinct OpenAI chat completions (one URL)", header, rows))

    header = [
        "N",
        "replaykit s",
        "µs/req",
        "floor µs/req",
        "live µs/req",
        "replaykit/floor",
        "live/replaykit",
        "Stubber µs/S3 GET",
    ]
    rows = []
    for r in (r for r in bench.replay_rows if r["kinds"] == "mix"):
        rows.append(
            [
                f"{r['n']:,}",
                _s(r["replaykit"]),
                _us(r["replaykit"]),
                _us(r["floor"]),
                _us(r["live"]),
                _ratio(r["replaykit"], r["floor"]),
                _ratio(r["live"], r["replaykit"]),
                _us(r.get("stubber_s3")),
            ]
        )
    out.append(("Replay: 70% OpenAI / 20% Bedrock ConverseStream / 10% S3 GET", header, rows))
    header = [
        "operation",
        "floor µs/req",
        "replaykit µs/req",
        "plain vcrpy µs/req",
        "replaykit/floor",
        "vcrpy/floor",
        "Stubber µs/req",
    ]
    rows = [
        [
            r["kind"],
            _us(r["floor"]),
            _us(r["replaykit"]),
            _us(r["vcrpy"]),
            _ratio(r["replaykit"], r["floor"]),
            _ratio(r["vcrpy"], r["floor"]),
            _us(r.get("stubber")),
        ]
        for r in bench.op_rows
    ]
    if rows:
        out.append(
            (
                f"Per operation, N={bench.op_rows[0]['n']} of one kind (stub overhead, before any scan cost)",
                header,
                rows,
            )
        )
    goals = targets(bench)
    if goals[2]:
        out.insert(0, goals)
    if bench.extra_rows:
        out.append(("Other operations", ["what", "time", "per unit"], [list(r) for r in bench.extra_rows]))
    return out


def targets(bench: Bench) -> tuple[str, list[str], list[list[str]]]:
    """The issue's targets against this run's figures (only those this run has the sizes for)."""
    replay = {(r["kinds"], r["n"]): r for r in bench.replay_rows}
    load = {r["n"]: r for r in bench.load_rows}
    rows: list[list[str]] = []

    def add(what: str, measured: float, target: str, ok: bool, bound: str = "") -> None:
        rows.append([what, f"{measured:,.2f}", target, "met" if ok else "NOT met", bound])

    for kinds in ("openai", "mix"):
        for n in (1_000, 10_000):
            r = replay.get((kinds, n))
            if r:
                ratio = r["replaykit"].seconds / r["floor"].seconds
                add(f"replay/floor per request, {kinds}, N={n:,}", ratio, "≤ 1.5×", ratio <= 1.5)
        small, big = replay.get((kinds, 100)), replay.get((kinds, 10_000))
        if small and big:
            ratio = big["replaykit"].per_request_us / small["replaykit"].per_request_us
            add(f"flat in N: µs/request N=10,000 ÷ N=100, {kinds}", ratio, "≤ 1.2×", ratio <= 1.2)
    r = replay.get(("openai", 1_000))
    if r:
        for key, label, goal in (("vcrpy", "vcrpy default matchers", 10), ("vcrpy_body", "vcrpy `body` matcher", 100)):
            ratio = r[key].seconds / r["replaykit"].seconds
            bound = f"{r[key].seconds / r['floor'].seconds:,.0f}× for the in-memory floor itself"
            add(f"{label} ÷ replaykit, N=1,000", ratio, f"≥ {goal}×", ratio >= goal, bound)
    for n in (1_000, 10_000):
        if n in load:
            for key, label in (
                ("yaml_cached", "YAML cassette (cache)"),
                ("open_first", "open for replay, 1st"),
                ("json", "JSON cassette"),
            ):
                us = load[n][key] / n * 1e6
                add(f"load µs/exchange, {label}, N={n:,}", us, "≤ 100", us <= 100)
    return ("Targets", ["target", "measured", "goal", "", "note"], rows)


def machine() -> list[str]:
    """A description of the machine and the versions measured."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "n/a"
    pkgs = ", ".join(f"{p} {version(p)}" for p in ("vcrpy", "boto3", "botocore", "openai", "httpx2", "respx", "PyYAML"))
    return [
        f"nproc {os.cpu_count()}, {cpu}, {platform.system()} {platform.release()}",
        f"Python {platform.python_version()} ({platform.python_implementation()}); {pkgs}",
        f"load average at the end of the run: {load}",
    ]


def render(bench: Bench, elapsed: float, out: Path | None) -> None:
    """Print rich tables; write the Markdown report."""
    print_tables(tables(bench))
    for note in bench.notes:
        print(f"note: {note}")
    if out is None:
        return
    lines = ["# replaykit benchmark results", "", f"Command: `{' '.join(['python', *sys.argv])}` ({elapsed:.0f} s)", ""]
    lines += [f"- {m}" for m in machine()]
    lines.append("")
    lines += markdown(tables(bench))
    lines += [
        "`*` extrapolated: plain vcrpy's lookup is linear in the position of the request, so its total is quadratic;",
        f"above N={VCRPY_DEFAULT_BUDGET:,} (default matchers) and N={VCRPY_BODY_BUDGET:,} (`body` matcher) it is timed",
        "on samples at five positions and the fitted line a + b·i is summed over all N requests.",
        "",
    ]
    lines += [f"Note: {n}" for n in bench.notes]
    analysis = HERE / "ANALYSIS.md"
    if analysis.is_file():
        lines += ["", analysis.read_text().rstrip()]
    out.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    print(f"wrote {out}")


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: N = 10, 100, no extras")
    parser.add_argument("--sizes", help="comma-separated N values (default 10,100,1000,10000)")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"), help="Markdown report ('-' for none)")
    parser.add_argument("--work", help="directory for cassettes and the cache (default: a temporary one)")
    parser.add_argument(
        "--per-op", action="store_true", help="only the per-operation table (N=20 of one kind, best of 7); no report"
    )
    args = parser.parse_args(argv)
    sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else QUICK_SIZES if args.quick else FULL_SIZES
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="replaykit-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    bench = Bench(sizes, work, args.quick)
    started = time.perf_counter()
    try:
        if args.per_op:
            bench.per_operation(repeat=7)
            bench.load_rows.clear()
            args.out = "-"
        else:
            record_sizes = tuple(n for n in sizes if n <= 1_000) if not args.quick else sizes
            extras = None if args.quick else max(sizes)
            bench.run(record_sizes, extras)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    render(bench, time.perf_counter() - started, None if args.out == "-" else Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
