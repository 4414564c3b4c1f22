"""Gateway test environment, public replaykit API only.

Every scenario records itself against replaykit's sandbox with one ``pytest --record-mode=once`` (faults included:
a faulted call is answered by the fault and never recorded) and replays offline afterwards::

    pytest examples/gateway/tests --record-mode=once      # record missing cassettes (the offline sandbox)
    pytest examples/gateway/tests                          # replay them, network blocked
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from replaykit import faults

from gateway_testkit import CASSETTES, Clock, Deployment, start_gateway  # puts the example on sys.path first


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


@dataclass
class Env:
    """The started gateway, its fault plan and clock, and what the scenario inspects."""

    deployment: Deployment
    faults: faults.FaultPlan
    clock: Clock

    @property
    def gateway(self) -> Any:
        """The gateway under test."""
        return self.deployment.gateway

    def served(self, operation: str) -> int:
        """Calls of an operation that reached the provider (recorded or replayed): every attempt minus the faulted."""
        return self.faults.calls[operation] - self.faults.count(operation=operation)


@pytest.fixture
async def env(replaykit_env: None, replaykit_faults: faults.FaultPlan) -> AsyncIterator[Env]:
    """The gateway started as in production, its SDK clients configured by ``replaykit_env`` alone."""
    clock = Clock()
    yield Env(start_gateway(clock), replaykit_faults, clock)
