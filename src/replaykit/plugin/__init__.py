"""The replaykit pytest plugin (entry point ``pytest11``), working with pytest-recording's ``--record-mode``.

Precedence of settings: command-line option > ``REPLAYKIT_*`` environment > ``[tool.replaykit]`` > defaults.
Tests that use a replaykit client fixture get pytest-recording's ``vcr`` marker automatically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from replaykit.config import CONTRACT_MODES, TARGETS, load_config
from replaykit.contracts.gate import ContractGate
from replaykit.errors import ConfigError
from replaykit.plugin import _report
from replaykit.plugin._session import ATTEMPTS, CASSETTE, GATE, LEDGER, SANDBOX, SETUP, check_live_credentials
from replaykit.recorder import Setup, install

CLIENT_FIXTURES = ("aws_client", "bedrock_runtime", "s3", "openai_client", "async_openai_client", "replaykit_env")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register replaykit's options in their own group."""
    group = parser.getgroup("replaykit")
    group.addoption(
        "--replaykit-target",
        choices=TARGETS,
        default=None,
        help="where record modes send requests: the live providers (default) or the offline sandbox",
    )
    group.addoption("--replaykit-cassette-dir", default=None, help="root directory of cassettes (default: cassettes/)")
    group.addoption("--replaykit-sandbox-profile", default=None, help="API shape the sandbox serves (default: default)")
    group.addoption(
        "--replaykit-contracts",
        choices=CONTRACT_MODES,
        default=None,
        help="validate exchanges against contracts/ (default: check when contracts exist)",
    )
    group.addoption("--replaykit-contracts-dir", default=None, help="contracts directory (default: contracts/)")
    group.addoption(
        "--replaykit-cost-limit",
        type=float,
        default=None,
        help="USD (default 1.00): with the live target, stop calls once this run's recorded usage would cost more",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Build the session Setup and register markers."""
    config.addinivalue_line("markers", "replaykit_faults(*faults): inject faults into replayed exchanges")
    config.addinivalue_line("markers", "replaykit_cost(level): expected live cost of a test: low, medium or high")
    cassette_dir = config.getoption("--replaykit-cassette-dir")
    contracts_dir = config.getoption("--replaykit-contracts-dir")
    mode = config.getoption("--record-mode", default=None) or "none"
    if mode == "rewrite":
        # pytest-recording deletes the cassette before the test runs in rewrite mode; replaykit rewrites it
        # instead (records fresh, replaces the file atomically at the end), so it sees new_episodes
        config.option.record_mode = "new_episodes"
    # configuration mistakes are usage errors: one line and exit 4, never an INTERNALERROR traceback
    try:
        cfg = load_config(Path(str(config.rootpath))).with_options(
            target=config.getoption("--replaykit-target"),
            cassette_dir=Path(cassette_dir).resolve() if cassette_dir else None,
            contracts_dir=Path(contracts_dir).resolve() if contracts_dir else None,
            sandbox_profile=config.getoption("--replaykit-sandbox-profile"),
            contracts=config.getoption("--replaykit-contracts"),
            cost_limit=config.getoption("--replaykit-cost-limit"),
        )
        if mode != "none" and cfg.target == "live" and not hasattr(config, "workerinput"):
            check_live_credentials()
    except ConfigError as exc:
        raise pytest.UsageError(f"replaykit: {exc}") from exc
    if mode != "none" and cfg.target == "live":
        _share_ledger(config)
    setup = Setup(
        cfg,
        mode,
        {},
        cfg.target if mode != "none" else "replay",
        cfg.sandbox_profile if cfg.target == "sandbox" else None,
    )
    config.stash[SETUP] = setup
    gate = ContractGate(cfg.contracts_dir, cfg.contracts, cfg.contract_min_samples)
    config.stash[GATE] = gate
    setup.hooks.subscribe(gate)
    from replaykit.plugin import _fixtures

    config.pluginmanager.register(_fixtures, "replaykit-fixtures")
    from replaykit.plugin import _resilience

    # fault injection, cost tracking / guard and cost markers
    if not config.pluginmanager.is_registered(_resilience):
        config.pluginmanager.register(_resilience, "replaykit-resilience")


def _share_ledger(config: pytest.Config) -> None:
    """The run's cost ledger: made by the controller (or a lone process), handed to xdist workers."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        path = workerinput.get("replaykit_ledger")
        if path:
            config.stash[LEDGER] = path
        return
    import tempfile

    config.stash[LEDGER] = str(Path(tempfile.mkdtemp(prefix="replaykit-ledger-")) / "spent")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """On the xdist controller: every worker adds to one cost ledger, so the limit holds for the whole run."""
    path = node.config.stash.get(LEDGER, None)
    if path:
        node.workerinput["replaykit_ledger"] = path


def pytest_report_header(config: pytest.Config) -> str | None:
    """The session header says where record modes send requests."""
    setup = config.stash.get(SETUP, None)
    if setup is None:
        return None
    cfg = setup.config
    if setup.record_mode == "none":
        return "replaykit: replaying cassettes (record mode none; no target, no credentials needed)"
    limit = f", cost limit ${cfg.cost_limit:.2f}" if cfg.target == "live" and cfg.cost_limit is not None else ""
    return f"replaykit: record mode {setup.record_mode}, target {cfg.target}{limit}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In ``--replaykit-contracts=update`` mode, merge what the session saw into contracts/."""
    workeroutput = getattr(session.config, "workeroutput", None)
    setup = session.config.stash.get(SETUP, None)
    if workeroutput is None and setup is not None:
        # not an xdist worker: cassettes are all saved by now (workers finished first)
        gate = session.config.stash.get(GATE, None)
        if gate is not None:
            gate.finish(setup.config.cassette_dir)
    if workeroutput is not None and setup is not None:
        # an xdist worker: hand the counts to the controller, which prints one summary for the run
        stats = setup.stats
        workeroutput["replaykit_stats"] = {
            "replayed": dict(stats.replayed),
            "recorded": dict(stats.recorded),
            "written": sorted(stats.written),
            "sandbox_traffic": stats.sandbox_traffic,
            "sandbox_refusals": stats.sandbox_refusals,
            "sdk_defaults": sorted(stats.sdk_defaults),
        }


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """Xdist controller: merge a finished worker's replay/record counts into the session summary."""
    data = getattr(node, "workeroutput", {}).get("replaykit_stats")
    setup = node.config.stash.get(SETUP, None)
    if data and setup is not None:
        setup.stats.replayed.update(data["replayed"])
        setup.stats.recorded.update(data["recorded"])
        setup.stats.written.update(data["written"])
        setup.stats.sandbox_traffic += data.get("sandbox_traffic", 0)
        setup.stats.sandbox_refusals.extend(data.get("sandbox_refusals", []))
        setup.stats.sdk_defaults.update(data.get("sdk_defaults", []))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the sandbox if this session started it; the controller removes the run's cost ledger."""
    stack = config.stash.get(SANDBOX, None)
    if stack is not None:
        stack.close()
    ledger = config.stash.get(LEDGER, None)
    if ledger and not hasattr(config, "workerinput"):
        import shutil

        shutil.rmtree(Path(ledger).parent, ignore_errors=True)


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """pytest-recording's hook: make its VCR build replaykit cassettes."""
    install(vcr, config.stash[SETUP])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give tests that use a replaykit client fixture a cassette (pytest-recording's ``vcr`` marker)."""
    setup = config.stash.get(SETUP, None)
    everywhere = setup is not None and setup.config.env
    for item in items:
        names = getattr(item, "fixturenames", ())
        if (everywhere or any(n in names for n in CLIENT_FIXTURES)) and item.get_closest_marker("vcr") is None:
            item.add_marker(pytest.mark.vcr)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Any:
    """Exchanges checked from here on belong to this test (its fixtures' calls included)."""
    gate = item.config.stash.get(GATE, None)
    if gate is not None:
        gate.pending.clear()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """One failure, in replaykit's words: misses, contract violations and blocked connections of this test.

    A miss raises ``NoMatchError`` inside the SDK, which may wrap or swallow it; either way the test's call phase
    fails with replaykit's explanation and the exact command that fixes it, and nothing fails again at teardown.
    """
    report = yield
    excinfo = call.excinfo
    if report.when == "setup" and excinfo is not None and isinstance(excinfo.value, ConfigError):
        # a vcr option replaykit cannot honour (match_on, serializer...): one line saying what to do, no traceback
        report.longrepr = f"replaykit: {excinfo.value}"
        return report
    if report.when != "call":
        return report
    cassette = item.stash.get(CASSETTE, None)
    misses = list(getattr(cassette, "misses", None) or [])
    gate = item.config.stash.get(GATE, None)
    violations = gate.problems() if gate is not None else []
    attempts = item.stash.get(ATTEMPTS, [])
    if misses or violations or attempts:
        _report.fail(report, item.nodeid, misses, violations, attempts)
    return report


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """One short table: exchanges replayed/recorded per operation, the target, cassettes written."""
    setup = config.stash.get(SETUP, None)
    if setup is None:
        return
    stats = setup.stats
    if not stats.replayed and not stats.recorded:
        return
    tr = terminalreporter
    tr.section("replaykit")
    tr.write_line(
        f"mode: {setup.record_mode}   target: {setup.target}"
        + (f" (profile {setup.profile})" if setup.profile and setup.target == "sandbox" else "")
    )
    ops = sorted(set(stats.replayed) | set(stats.recorded))
    width = max(len(o) for o in ops)
    tr.write_line(f"{'operation'.ljust(width)}  replayed  recorded")
    for op in ops:
        tr.write_line(f"{op.ljust(width)}  {stats.replayed[op]:>8}  {stats.recorded[op]:>8}")
    if stats.written:
        tr.write_line(f"cassettes written: {len(stats.written)}")
    if stats.sdk_defaults:
        tr.write_line(
            f"matched despite an SDK upgrade ({len(stats.sdk_defaults)}): the installed SDK sends default fields "
            "these recordings lack; re-record them (--record-mode=rewrite) when convenient:"
        )
        for line in sorted(stats.sdk_defaults)[:20]:
            tr.write_line(f"  {line}")
    for refusal in stats.sandbox_refusals:
        tr.write_line(f"WARNING: recorded the sandbox's own input-validation error: {refusal}", red=True)
    if stats.sandbox_traffic and setup.target == "live":
        tr.write_line(
            f"WARNING: target is live but {stats.sandbox_traffic} recorded exchange(s) went to a local server "
            "(a sandbox?): those cassettes hold fake traffic; re-record them against the providers",
            red=True,
        )
