"""Helpers of the gateway's scenario tests: recording steps, a hand-moved clock, the wired-up gateway."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from replaykit import faults
from replaykit.plugin.clients import REPLAY_AWS_KEY, REPLAY_AWS_SECRET, Target, openai_client

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the example is not installed: import it from its folder

from gateway import BedrockProvider, Gateway, OpenAIProvider, S3Archive  # noqa: E402

CASSETTES = ROOT / "cassettes"
BUCKET = "gateway-archive"
REGION = "us-east-1"


@dataclass(frozen=True)
class Step:
    """One call the recording run makes, once through each provider in ``via``."""

    tenant: str
    prompt: str
    via: tuple[str, ...] = ("bedrock",)
    stream: bool = False
    max_tokens: int = 64


def complete(tenant: str, prompt: str, via: tuple[str, ...] = ("bedrock",), max_tokens: int = 64) -> Step:
    """A ``Gateway.complete`` call to record."""
    return Step(tenant, prompt, via, False, max_tokens)


def stream(tenant: str, prompt: str, via: tuple[str, ...] = ("bedrock",), max_tokens: int = 64) -> Step:
    """A ``Gateway.stream`` call to record."""
    return Step(tenant, prompt, via, True, max_tokens)


prime = pytest.mark.prime


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
class Env:
    """A gateway wired to replayed SDK clients, plus what a scenario inspects."""

    gateway: Gateway
    cassette: Any
    faults: faults.FaultPlan
    clock: Clock
    build: Callable[..., Gateway] = field(repr=False)

    def played(self, operation: str) -> int:
        """How many recorded exchanges of an operation were replayed (injected faults do not count)."""
        keys = self.cassette._keys
        return sum(n for i, n in self.cassette.play_counts.items() if keys[i].operation == operation)


@functools.cache
def _aws_session() -> Any:
    # one botocore session for every client: service models are parsed once, not per test
    import boto3

    return boto3.session.Session(
        aws_access_key_id=REPLAY_AWS_KEY, aws_secret_access_key=REPLAY_AWS_SECRET, region_name=REGION
    )


def aws_client(service: str, target: Target, **config: Any) -> Any:
    """A boto3 client for the replay or sandbox target (fresh per gateway: retry quotas are per client)."""
    from botocore.config import Config as BotoConfig

    endpoint = target.bedrock_endpoint if service == "bedrock-runtime" else target.s3_endpoint
    return _aws_session().client(service, endpoint_url=endpoint, config=BotoConfig(**config))


def build_gateway(target: Target, clock: Clock | None = None, only: tuple[str, ...] | None = None) -> Gateway:
    """The gateway as production would build it, with SDK clients for the target."""
    # one SDK retry each: the gateway's own failover does the rest
    retrying = {"retries": {"max_attempts": 1, "mode": "standard"}, "read_timeout": 5, "connect_timeout": 2}
    providers = [
        BedrockProvider(aws_client("bedrock-runtime", target, **retrying)),
        OpenAIProvider(openai_client(target, async_=True, max_retries=1)),
    ]
    if only is not None:
        providers = [p for p in providers if p.name in only]
    archive = S3Archive(aws_client("s3", target, s3={"addressing_style": "auto"}), BUCKET)
    return Gateway(providers, archive, clock=clock or Clock(), failure_threshold=2, cool_down=30.0)
