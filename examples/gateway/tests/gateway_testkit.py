"""Helpers of the gateway's scenario tests: a hand-moved clock and the gateway wired as production wires it.

The SDK clients are built exactly as the application builds them, with no endpoint or credential arguments:
``replaykit_env`` points them at the sandbox while recording and at the providers' real hosts (with dummy
credentials) while replaying.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the example is not installed: import it from its folder

from gateway import (  # noqa: E402
    BedrockProvider,
    DynamoLedgerStore,
    Gateway,
    OpenAIProvider,
    S3Archive,
    UsageLedger,
    available_models,
    caller_identity,
)

CASSETTES = ROOT / "cassettes"
BUCKET = "gateway-archive"
LEDGER_TABLE = "gateway-usage"
REGION = "us-east-1"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Let time pass."""
        self.now += seconds


@dataclass
class Deployment:
    """What start-up produced: the gateway, who it runs as and which models the region offers."""

    gateway: Gateway
    identity: str
    models: set[str]


def start_gateway(clock: Clock) -> Deployment:
    """Start the gateway as production does: verify identity, check the model, create its bucket and ledger table."""
    import boto3
    from botocore.config import Config
    from openai import AsyncOpenAI

    session = boto3.session.Session(region_name=REGION)
    # one SDK retry each: the gateway's own failover does the rest
    retrying = Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=5, connect_timeout=2)
    identity = caller_identity(session.client("sts"))
    models = available_models(session.client("bedrock"))
    s3 = session.client("s3", config=Config(s3={"addressing_style": "auto"}))
    s3.create_bucket(Bucket=BUCKET)
    store = DynamoLedgerStore(session.client("dynamodb"), LEDGER_TABLE)
    store.create_table()
    bedrock = BedrockProvider(session.client("bedrock-runtime", config=retrying))
    if bedrock.model not in models:
        raise RuntimeError(f"{bedrock.model} is not offered in {REGION}")
    providers: list[Any] = [bedrock, OpenAIProvider(AsyncOpenAI(max_retries=1))]
    gateway = Gateway(
        providers,
        S3Archive(s3, BUCKET),
        ledger=UsageLedger(store=store),
        clock=clock,
        failure_threshold=2,
        cool_down=30.0,
    )
    return Deployment(gateway, identity, models)


@dataclass
class Env:
    """The started gateway, its fault plan and clock, and what the scenario inspects."""

    deployment: Deployment
    faults: Any  # the test's replaykit FaultPlan
    clock: Clock

    @property
    def gateway(self) -> Any:
        """The gateway under test."""
        return self.deployment.gateway

    def served(self, operation: str) -> int:
        """Calls of an operation that reached the provider (recorded or replayed): every attempt minus the faulted."""
        return self.faults.calls[operation] - self.faults.count(operation=operation)
