"""pytest wiring for resilience testing: fault injection, cost tracking, cost markers and the cost-limit guard.

Registered by ``replaykit.plugin`` (``config.pluginmanager.register(module, "replaykit-resilience")``) once the
session ``Setup`` is stashed. Provides the ``replaykit_faults`` marker and fixture, the ``replaykit_setup`` fixture,
the ``low_cost``/``high_cost`` markers, a cost table at the end of the session and ``--replaykit-cost-limit``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from replaykit import faults as faults_mod
from replaykit.cost import CostGuard, CostTracker, Line, PriceTable, cassette_charges, load_prices
from replaykit.errors import ConfigError, ReplaykitError
from replaykit.plugin._session import LEDGER, SETUP
from replaykit.recorder import Setup

_LEVELS = {"low": 0, "medium": 1, "high": 2}


class _FaultDispatch:
    """The session's fault subscriber: delegates to the running test's fault plan."""

    def __init__(self) -> None:
        self.plan: faults_mod.FaultPlan | None = None

    @property
    def idle(self) -> bool:
        """No fault can be injected now (replay may then answer above the HTTP library's transport)."""
        return self.plan is None

    def before_send(self, call: Any) -> Any:
        """The running test's faults decide (None outside a faulted test)."""
        plan = self.plan
        return plan.before_send(call) if plan is not None else None


@dataclass
class _CostRecorder:
    """Prices every exchange replayed or recorded, attributed to the running test."""

    replayed: CostTracker
    recorded: CostTracker
    guard: CostGuard | None
    test: Callable[[], str | None]

    def on_play(self, cassette: Any, exchange: Any) -> None:
        """Price a replayed exchange as if it were live."""
        self.replayed.add_exchange(exchange, self.test())

    def on_record(self, cassette: Any, exchange: Any) -> None:
        """Price a recorded exchange; the guard swaps its estimate for the real cost."""
        charge = self.recorded.add_exchange(exchange, self.test())
        if self.guard is not None:
            self.guard.settle(charge, exchange)


@dataclass
class _State:
    setup: Setup
    table: PriceTable
    replayed: CostTracker
    recorded: CostTracker
    guard: CostGuard | None
    dispatch: _FaultDispatch
    current: str | None = None
    refusals_seen: int = 0
    refused_tests: int = 0


STATE = pytest.StashKey[_State]()


def _state(config: pytest.Config) -> _State | None:
    state = config.stash.get(STATE, None)
    if state is not None:
        return state
    setup = config.stash.get(SETUP, None)
    if setup is None:
        return None
    try:
        table = load_prices(setup.config.prices)
    except ConfigError as exc:
        raise pytest.UsageError(f"replaykit: {exc}") from exc
    limit = setup.config.cost_limit
    # only live calls cost anything: the sandbox is free, whatever the limit says
    live = setup.record_mode != "none" and setup.config.target == "live"
    guard = CostGuard(limit, table, config.stash.get(LEDGER, None)) if limit is not None and live else None
    state = _State(setup, table, CostTracker(table), CostTracker(table), guard, _FaultDispatch())
    # order matters: faults answer first (a faulted call is never sent, so never priced or refused)
    setup.hooks.subscribe(state.dispatch)
    setup.hooks.subscribe(_CostRecorder(state.replayed, state.recorded, guard, lambda: state.current))
    if guard is not None:
        setup.hooks.subscribe(guard)
    config.stash[STATE] = state
    return state


def pytest_configure(config: pytest.Config) -> None:
    """Register the cost markers and wire faults and cost tracking into the session Setup."""
    config.addinivalue_line("markers", "low_cost: recorded usage of this test costs little (set by replaykit)")
    config.addinivalue_line("markers", "high_cost: recorded usage of this test is expensive (set by replaykit)")
    _state(config)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Wire up late when the plugin was registered before the Setup existed."""
    _state(session.config)


# ---- faults -----------------------------------------------------------------------------------------------


@pytest.fixture
def replaykit_faults(request: pytest.FixtureRequest) -> Iterator[faults_mod.FaultPlan]:
    """This test's fault plan (from ``@pytest.mark.replaykit_faults``); ``.inject(...)`` adds faults."""
    state = _state(request.config)
    if state is None:
        pytest.fail("replaykit_faults needs the replaykit plugin's session setup", pytrace=False)
    args: list[Any] = []
    seed = 0
    for marker in reversed(list(request.node.iter_markers("replaykit_faults"))):
        args.extend(marker.args)
        seed = int(marker.kwargs.get("seed", seed))
    try:
        plan = faults_mod.plan(seed=seed, cassette_dir=state.setup.config.cassette_dir)
        plan.inject(*args)
    except ReplaykitError as exc:
        pytest.fail(f"replaykit_faults marker: {exc}", pytrace=False)
    state.dispatch.plan = plan
    yield plan
    state.dispatch.plan = None


@pytest.fixture
def replaykit_setup(request: pytest.FixtureRequest) -> Setup:
    """The session Setup: ``use_cassette(path, setup=replaykit_setup)`` gets the session's faults and costs."""
    state = _state(request.config)
    if state is None:
        pytest.fail("replaykit_setup needs the replaykit plugin", pytrace=False)
    return state.setup


# ---- per-test bookkeeping and the guard's failures --------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """Attribute usage to the running test; calls that never got recorded stop counting when it ends."""
    state = _state(item.config)
    if state is None:
        return (yield)
    state.current = item.nodeid
    try:
        return (yield)
    finally:
        state.current = None
        if state.guard is not None:
            state.guard.forget_in_flight()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A test whose live call the guard refused fails with the CostLimitError, however the SDK wrapped it."""
    report = yield
    state = item.config.stash.get(STATE, None)
    if state is None or state.guard is None or report.when == "teardown":
        return report
    new = state.guard.refusals[state.refusals_seen :]
    if new:
        state.refusals_seen = len(state.guard.refusals)
        state.refused_tests += 1
        crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
        message = str(getattr(crash, "message", "") or "")
        shown = bool(message) and not message.startswith("replaykit.errors.CostLimitError")
        surfaced = f"\n(surfaced in the test as: {message})" if shown else ""
        report.outcome = "failed"
        report.longrepr = "replaykit CostLimitError: " + "\n".join(dict.fromkeys(new)) + surfaced
    return report


# ---- cost markers -----------------------------------------------------------------------------------------


def _cassette_candidates(item: pytest.Item, cassette_dir: Path) -> list[Path]:
    from pytest_recording.plugin import get_default_cassette_name

    path = Path(str(item.path))
    marker = item.get_closest_marker("default_cassette")
    name = (
        marker.args[0] if marker and marker.args else get_default_cassette_name(getattr(item, "cls", None), item.name)
    )
    dirs = [cassette_dir]
    root = Path(str(item.config.rootpath))
    for parent in path.parents:
        dirs.append(parent / "cassettes")
        if parent == root:
            break
    return [d / path.stem / f"{name}.yaml" for d in dict.fromkeys(dirs)]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``low_cost``/``high_cost`` from the cost of each test's recorded cassette and its ``replaykit_cost`` marker.

    Only when the run selects by them (``-m``/``-k`` naming ``low_cost``/``high_cost``): pricing means reading every
    test's cassette at collection, ~0.3 ms each, which a run that does not select by cost should not pay.
    """
    state = _state(config)
    if state is None or not _selects_by_cost(config):
        return
    costs: dict[Path, float | None] = {}
    for item in items:
        level = -1
        declared = item.get_closest_marker("replaykit_cost")
        if declared is not None and declared.args and declared.args[0] in _LEVELS:
            level = _LEVELS[declared.args[0]]
        for path in _cassette_candidates(item, state.setup.config.cassette_dir):
            if path not in costs:
                costs[path] = _cassette_cost(path, state.table)
            if costs[path] is not None:
                level = max(level, _LEVELS[state.table.level(costs[path] or 0.0)])
                break
        if level == 0:
            item.add_marker(pytest.mark.low_cost)
        elif level == 2:
            item.add_marker(pytest.mark.high_cost)


def _selects_by_cost(config: pytest.Config) -> bool:
    expressions = (getattr(config.option, "markexpr", "") or "", getattr(config.option, "keyword", "") or "")
    return any(marker in expr for expr in expressions for marker in ("low_cost", "high_cost"))


def _cassette_cost(path: Path, table: PriceTable) -> float | None:
    if not path.is_file():
        return None
    try:
        return sum(c.usd for c in cassette_charges(path, table))
    except ReplaykitError:
        return None


# ---- the session summary ----------------------------------------------------------------------------------


def _usd(value: float) -> str:
    return f"{value:.6f}"


def render(tracker: CostTracker, title: str, top: int = 5) -> list[str]:
    """Text lines of a tracker: per provider/model, the most expensive tests, the total."""
    rows = [("provider", "model", "calls", "input", "output", "cache r/w", "USD")]
    for (provider, model), line in sorted(tracker.by_model.items(), key=lambda kv: -kv[1].usd):
        u = line.usage
        usd = _usd(line.usd) + (" (unpriced)" if line.unpriced else "")
        cache = f"{u.cache_read_tokens}/{u.cache_write_tokens}"
        rows.append((provider, model, str(line.calls), str(u.input_tokens), str(u.output_tokens), cache, usd))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = [title]
    for r in rows:
        out.append(
            "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        )
    tests = sorted(tracker.by_test.items(), key=lambda kv: -kv[1].usd)[:top]
    if tests and tests[0][1].usd > 0:
        out.append("most expensive tests:")
        out.extend(f"  {_usd(line.usd)}  {name}" for name, line in tests if line.usd > 0)
    out.append(f"total: {tracker.total.calls} calls, ${_usd(tracker.total.usd)}")
    return out


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """What the replayed traffic would cost live, what recording spent, and the guard's verdict."""
    state = config.stash.get(STATE, None)
    if state is None or not (state.replayed.total.calls or state.recorded.total.calls or state.guard):
        return
    tr = terminalreporter
    tr.section("replaykit cost")
    tr.write_line(
        f"prices as of {state.table.as_of or 'unknown'}, USD per 1M tokens (override: [tool.replaykit] prices)"
    )
    blocks: list[tuple[CostTracker, str]] = [
        (state.replayed, "replayed exchanges, priced as if live:"),
        (
            state.recorded,
            "recorded live calls (this run's spend):"
            if state.setup.config.target == "live"
            else "recorded against the sandbox (no spend), priced as if live:",
        ),
    ]
    for tracker, title in blocks:
        if tracker.total.calls:
            for line in render(tracker, title):
                tr.write_line(line)
    if state.guard is not None:
        g = state.guard
        verdict = (
            f"refused {len(g.refusals)} live call attempt(s) in {state.refused_tests} test(s)"
            if g.refusals
            else "not reached"
        )
        tr.write_line(f"cost limit: ${_usd(g.limit)}; spent ${_usd(g.spent)}; {verdict}")


__all__ = ["Line", "render"]
