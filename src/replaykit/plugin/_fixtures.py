"""The plugin's fixtures, registered after pytest-recording's so replaykit's ``vcr_cassette_dir`` wins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from replaykit.config import Config
from replaykit.environment import ReplaykitMode, plan_env
from replaykit.plugin import clients
from replaykit.plugin._session import ATTEMPTS, CASSETTE, reset_sandbox, sandbox_for, setup_of, target_for


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    """Cassettes live under ``<cassette_dir>/<test module>/``."""
    module = Path(str(request.node.path)).stem
    return str(setup_of(request.config).config.cassette_dir / module)


@pytest.fixture(scope="session")
def replaykit_config(request: pytest.FixtureRequest) -> Config:
    """The session's replaykit configuration."""
    return setup_of(request.config).config


@pytest.fixture(scope="session")
def replaykit_mode(request: pytest.FixtureRequest) -> ReplaykitMode:
    """This run's record mode (``"none"`` in plain pytest), whether it replays, and the record target."""
    setup = setup_of(request.config)
    return ReplaykitMode(setup.record_mode, setup.config.target)


@pytest.fixture(scope="session")
def sandbox_endpoints(request: pytest.FixtureRequest) -> Any:
    """Endpoints of the session's sandbox (started on first use; only when recording against the sandbox)."""
    setup = setup_of(request.config)
    if setup.record_mode == "none":
        pytest.fail(
            "sandbox_endpoints: no sandbox while replaying (record mode none): requests are answered from "
            "cassettes; use replaykit_env (or replaykit_mode.replaying) to point clients at the canonical hosts",
            pytrace=False,
        )
    if setup.config.target != "sandbox":
        pytest.fail(
            f"sandbox_endpoints: no sandbox with target {setup.config.target!r}: recording it would store fake "
            "answers in cassettes marked live; pass --replaykit-target=sandbox to record against the sandbox",
            pytrace=False,
        )
    return sandbox_for(request.config)


@pytest.fixture
def aws_client(request: pytest.FixtureRequest) -> Any:
    """A factory of boto3 clients for the current mode.

    ``aws_client("dynamodb")``, ``aws_client("sts", region_name="us-west-2")``: the sandbox's AWS endpoint, live
    AWS, or (replay) the AWS host with dummy keys.
    """
    target = target_for(request.config)

    def make(service: str, **kwargs: Any) -> Any:
        return clients.boto3_client(service, target, **kwargs)

    return make


@pytest.fixture
def replaykit_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> ReplaykitMode:
    """Point the clients a test builds itself at the right place through environment variables (restored after).

    Replay: dummy AWS and OpenAI credentials, a region, no instance-metadata lookups, endpoint overrides
    removed (clients address the canonical hosts the cassettes hold). Record against the sandbox: the standard
    endpoint variables point at the session's sandbox, dummy credentials where none are set. Record live:
    nothing changes.
    """
    import os

    setup = setup_of(request.config)
    mode = ReplaykitMode(setup.record_mode, setup.config.target)
    kind = "replay" if mode.replaying else mode.target
    endpoints = sandbox_for(request.config) if kind == "sandbox" else None
    plan = plan_env(kind, setup.config.region, os.environ, endpoints)
    for name in plan.unset:
        monkeypatch.delenv(name, raising=False)
    for name, value in plan.set.items():
        monkeypatch.setenv(name, value)
    return mode


def _faults(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("replaykit_faults") is not None:
        request.getfixturevalue("replaykit_faults")


@pytest.fixture
def bedrock_runtime(aws_client: Any) -> Any:
    """A boto3 ``bedrock-runtime`` client for the current mode."""
    return aws_client("bedrock-runtime")


@pytest.fixture
def s3(aws_client: Any) -> Any:
    """A boto3 ``s3`` client for the current mode."""
    return aws_client("s3")


@pytest.fixture
def openai_client(request: pytest.FixtureRequest) -> Any:
    """An ``openai.OpenAI`` client for the current mode."""
    return clients.openai_client(target_for(request.config))


@pytest.fixture
def async_openai_client(request: pytest.FixtureRequest) -> Any:
    """An ``openai.AsyncOpenAI`` client for the current mode (a plain fixture: no async plugin required)."""
    return clients.openai_client(target_for(request.config), async_=True)


_NO_CASSETTE = (
    "--block-network: this test has no cassette and tried to reach {what}. Record it with @pytest.mark.vcr, "
    "allow the host with --allowed-hosts, or mock that call."
)


@pytest.fixture(autouse=True)
def _replaykit_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test's one replaykit fixture (one, not several: each fixture costs every test its setup).

    ``[tool.replaykit] env = true`` runs every test inside ``replaykit_env``. A test with a cassette: the network is
    blocked in replay, and the plugin's report hook turns misses and violations into the test's failure. A test
    without one under pytest-recording's ``--block-network``: the same guard, but for ``--allowed-hosts``. A test
    marked ``replaykit_faults`` gets its fault plan even when it does not ask for the ``replaykit_faults`` fixture.
    """
    setup = setup_of(request.config)
    if setup.config.env:
        request.getfixturevalue("replaykit_env")
    node = request.node
    if node.get_closest_marker("vcr") is None:
        if node.get_closest_marker("block_network") is None and not request.config.getoption("block_network"):
            _faults(request)
            yield
            return
        # pytest-recording's --block-network / block_network marker: it refuses socket.connect; replaykit's guard
        # adds DNS, UDP and the C-level socket, with the same allowed hosts (regexes)
        from pytest_recording.network import is_host_in_allowed_hosts

        from replaykit.recorder.network import blocked

        hosts = request.getfixturevalue("allowed_hosts")
        attempts: list[str] = []
        node.stash[ATTEMPTS] = attempts
        try:
            with blocked(attempts, allow=lambda host: is_host_in_allowed_hosts(host, hosts), advice=_NO_CASSETTE):
                _faults(request)
                yield
        finally:
            del node.stash[ATTEMPTS]
        return
    node.stash[CASSETTE] = request.getfixturevalue("vcr")
    try:
        if setup.record_mode != "none":
            reset_sandbox(request.config)  # each recorded test starts from an empty sandbox: no order dependence
            _faults(request)
            yield
            return
        from replaykit.recorder.network import blocked

        replay_attempts: list[str] = []
        node.stash[ATTEMPTS] = replay_attempts
        with blocked(replay_attempts):
            _faults(request)
            yield
    finally:
        # the call's report has read them by now; items live as long as the session, their cassettes need not
        del node.stash[CASSETTE]
        if ATTEMPTS in node.stash:
            del node.stash[ATTEMPTS]
