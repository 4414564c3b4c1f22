"""Real SDK clients configured for a mode: replay (canonical endpoints, dummy credentials), sandbox or live."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from replaykit.errors import ConfigError

# dummy credentials: botocore signs before sending, so replay needs *some* credentials (never written anywhere)
REPLAY_AWS_KEY = "AKIAREPLAYDUMMY"
REPLAY_AWS_SECRET = "replay-dummy-secret"
REPLAY_OPENAI_KEY = "sk-replay-dummy"


@dataclass(frozen=True)
class Target:
    """Where SDK clients send requests: None endpoints mean the providers' canonical ones."""

    kind: str  # "replay" | "sandbox" | "live"
    region: str = "us-east-1"
    bedrock_endpoint: str | None = None
    s3_endpoint: str | None = None
    openai_base: str | None = None
    aws_endpoint: str | None = None  # the sandbox's one endpoint for every other AWS service


def boto3_client(service: str, target: Target, **kwargs: Any) -> Any:
    """A boto3 client for the target (retries off: each attempt would be one more recorded exchange).

    ``region_name`` overrides the target's region; other keyword arguments go to ``Session.client``.
    """
    import boto3
    from botocore.config import Config as BotoConfig

    config = kwargs.pop("config", None) or BotoConfig(
        retries={"total_max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "auto"}
    )
    region = kwargs.pop("region_name", None) or target.region
    if target.kind == "live":
        session = boto3.session.Session(region_name=region)
        if session.get_credentials() is None:
            raise ConfigError(
                "live target: no AWS credentials found; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE"
            )
        return session.client(service, config=config, **kwargs)
    if service == "bedrock-runtime":
        endpoint = target.bedrock_endpoint or target.aws_endpoint
    elif service == "s3":
        endpoint = target.s3_endpoint
    else:
        endpoint = target.aws_endpoint or target.bedrock_endpoint  # the sandbox serves all of AWS on that port
    session = boto3.session.Session(
        aws_access_key_id=REPLAY_AWS_KEY, aws_secret_access_key=REPLAY_AWS_SECRET, region_name=region
    )
    if not endpoint:
        # replay: the host botocore's rules give (the one cassettes store), whatever AWS_ENDPOINT_URL says
        config = config.merge(BotoConfig(ignore_configured_endpoint_urls=True))
    if endpoint:
        kwargs.setdefault("endpoint_url", endpoint)
    return session.client(service, config=config, **kwargs)


def openai_client(target: Target, *, async_: bool = False, **kwargs: Any) -> Any:
    """An openai client (sync or async) for the target, with SDK retries off."""
    import openai

    cls = openai.AsyncOpenAI if async_ else openai.OpenAI
    kwargs.setdefault("max_retries", 0)
    if target.kind == "live":
        key = os.environ.get("OPENAI_API_KEY")
        if not key:
            raise ConfigError("live target: OPENAI_API_KEY is not set")
        return cls(api_key=key, **kwargs)
    if target.openai_base:
        kwargs.setdefault("base_url", target.openai_base)
    return cls(api_key=REPLAY_OPENAI_KEY, **kwargs)
