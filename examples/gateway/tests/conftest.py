"""Gateway test environment, public replaykit API only.

Every scenario records itself against replaykit's sandbox with one ``pytest --record-mode=once`` (faults included:
a faulted call is answered by the fault and never recorded) and replays offline afterwards::

    pytest examples/gateway/tests --record-mode=once      # record missing cassettes (the offline sandbox)
    pytest examples/gateway/tests                          # replay them, network blocked
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from replaykit import faults

from gateway_testkit import CASSETTES, Clock, Env, start_gateway


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    """The example keeps its cassettes beside it, wherever pytest is started from (pytest-recording's fixture)."""
    return str(CASSETTES / Path(str(request.node.path)).stem)


@pytest.fixture(autouse=True)
def instant_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """SDK backoff sleeps are not under test: make them instant (faults still count every attempt)."""
    import botocore.retries.standard
    import openai._base_client

    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, ctx: 0)
    monkeypatch.setattr(openai._base_client, "INITIAL_RETRY_DELAY", 0.0)


@pytest.fixture
async def env(replaykit_env: None, replaykit_faults: faults.FaultPlan) -> AsyncIterator[Env]:
    """The gateway started as in production, its SDK clients configured by ``replaykit_env`` alone."""
    clock = Clock()
    yield Env(start_gateway(clock), replaykit_faults, clock)
