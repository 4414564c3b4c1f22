"""Gateway test environment: each scenario replays its cassette offline, with faults injected by replaykit.

Cassettes live in ``cassettes/<test module>/<test name>.yaml`` and hold only successful traffic, recorded against
replaykit's sandbox by running the gateway once per provider in the scenario's ``prime`` marker::

    pytest examples/gateway/tests --record-mode=once      # records missing cassettes (sandbox on 127.0.0.1)
    pytest examples/gateway/tests                          # replays them, network blocked

A scenario then breaks that traffic on replay (``env.faults.inject(...)``) to drive the failure paths.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from replaykit import faults
from replaykit.plugin.clients import Target
from replaykit.recorder import use_cassette

from gateway_testkit import BUCKET, CASSETTES, REGION, ROOT, Clock, Env, Step, aws_client, build_gateway


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``prime`` marker."""
    config.addinivalue_line("markers", "prime(*steps): calls that record this scenario's cassette (see conftest)")
    _resilience_plugin(config)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Second chance to register the resilience plugin (this conftest may configure before replaykit does)."""
    _resilience_plugin(session.config)


def _resilience_plugin(config: pytest.Config) -> None:
    # replaykit's resilience fixtures (replaykit_faults, replaykit_setup); a no-op once replaykit registers them itself
    from replaykit.plugin import _resilience
    from replaykit.plugin._session import SETUP

    pm = config.pluginmanager
    if config.stash.get(SETUP, None) is not None and not pm.has_plugin("replaykit-resilience"):
        if not pm.is_registered(_resilience):
            pm.register(_resilience, "replaykit-resilience")


@pytest.fixture(autouse=True)
def instant_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """SDK backoff sleeps are not under test: make them instant (faults still count every attempt)."""
    import botocore.retries.standard
    import openai._base_client

    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, ctx: 0)
    monkeypatch.setattr(openai._base_client, "INITIAL_RETRY_DELAY", 0.0)


def _cassette_path(request: pytest.FixtureRequest) -> Path:
    return CASSETTES / Path(str(request.node.path)).stem / f"{request.node.name}.yaml"


async def _record(request: pytest.FixtureRequest, setup: Any, path: Path, steps: list[Step]) -> None:
    """Run each step once per provider against the sandbox, recording everything into ``path``."""
    endpoints = request.getfixturevalue("sandbox_endpoints")  # starts the sandbox, maps its hosts to the real ones
    target = Target("sandbox", REGION, endpoints.bedrock_runtime, endpoints.s3, endpoints.openai)
    s3 = aws_client("s3", target)
    try:
        s3.create_bucket(Bucket=BUCKET)  # outside the cassette: replays never create it
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    with use_cassette(path, "once", setup=setup):
        for step in steps:
            for provider in step.via:
                gateway = build_gateway(target, only=(provider,))
                if step.stream:
                    async for _ in gateway.stream(step.tenant, step.prompt, max_tokens=step.max_tokens):
                        pass
                else:
                    await gateway.complete(step.tenant, step.prompt, max_tokens=step.max_tokens)


@pytest.fixture
async def env(
    request: pytest.FixtureRequest, replaykit_setup: Any, replaykit_faults: faults.FaultPlan
) -> AsyncIterator[Env]:
    """The scenario's gateway over its replayed cassette (recorded first when missing and recording is on)."""
    path = _cassette_path(request)
    marker = request.node.get_closest_marker("prime")
    mode = replaykit_setup.record_mode
    if mode in ("all", "rewrite") and path.exists():
        path.unlink()
    if mode != "none" and not path.exists():
        if marker is None:
            pytest.fail(f"{request.node.name} has no @prime marker: nothing to record", pytrace=False)
        await _record(request, replaykit_setup, path, list(marker.args))
    if not path.exists():
        pytest.fail(f"no cassette {path.relative_to(ROOT)}: record it with --record-mode=once", pytrace=False)
    clock = Clock()
    replay = Target("replay", REGION)
    with _offline(), use_cassette(path, "none", setup=replaykit_setup) as cassette:
        yield Env(build_gateway(replay, clock), cassette, replaykit_faults, clock, build_gateway)


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """Replays open no sockets: a connection attempt fails the test even if the gateway swallowed the error."""
    from replaykit.recorder.network import blocked

    attempts: list[str] = []
    with blocked(attempts):
        yield
    if attempts:
        pytest.fail(f"replay tried to reach the network: {', '.join(sorted(set(attempts)))}", pytrace=False)
