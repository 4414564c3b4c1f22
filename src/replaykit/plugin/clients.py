"""Real SDK clients configured for a mode: replay (canonical endpoints, dummy credentials), sandbox or live.

Every client is new and independent (its own event handlers, credentials object, connection pool), but what is
immutable across clients is built once per process and shared: the boto3/botocore session (its loader holds the
parsed service models and endpoint data: re-reading them cost ~60 ms per boto3 client) and the SSL context of
openai's HTTP clients (loading the CA bundle cost ~18 ms per openai client; replay clients trust no CA at all).
"""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass
from typing import Any

from replaykit.environment import DUMMY_AWS_ACCESS_KEY_ID, DUMMY_AWS_SECRET_ACCESS_KEY, DUMMY_OPENAI_API_KEY
from replaykit.errors import ConfigError

# kept for code written against the earlier names; the public ones live in replaykit.environment
REPLAY_AWS_KEY = DUMMY_AWS_ACCESS_KEY_ID
REPLAY_AWS_SECRET = DUMMY_AWS_SECRET_ACCESS_KEY
REPLAY_OPENAI_KEY = DUMMY_OPENAI_API_KEY


@dataclass(frozen=True)
class Target:
    """Where SDK clients send requests: None endpoints mean the providers' canonical ones."""

    kind: str  # "replay" | "sandbox" | "live"
    region: str = "us-east-1"
    bedrock_endpoint: str | None = None
    s3_endpoint: str | None = None
    openai_base: str | None = None
    aws_endpoint: str | None = None  # the sandbox's one endpoint for every other AWS service


_lock = threading.Lock()
_sessions: dict[bool, Any] = {}


def _boto3_session(*, live: bool) -> Any:
    """One boto3 session per mode and process: clients made from it share its loader's parsed models.

    Clients get their region explicitly. The replay/sandbox session carries no credentials (each client gets its
    own dummy credentials object, so no test can reach another's); the live one resolves the user's once.
    """
    with _lock:  # boto3.Session registers handlers on its botocore session: build each one exactly once
        session = _sessions.get(live)
        if session is None:
            import boto3
            import botocore.session

            from replaykit.providers.aws import data_loader

            core = botocore.session.get_session()
            # the loader replaykit's own operation lookups fill: every service model is parsed once per process
            core.register_component("data_loader", data_loader())
            session = _sessions[live] = boto3.session.Session(botocore_session=core)
        return session


def boto3_client(service: str, target: Target, **kwargs: Any) -> Any:
    """A boto3 client for the target (retries off: each attempt would be one more recorded exchange).

    ``region_name`` overrides the target's region; other keyword arguments go to ``Session.client``.
    """
    from botocore.config import Config as BotoConfig

    config = kwargs.pop("config", None) or BotoConfig(
        retries={"total_max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "auto"}
    )
    region = kwargs.pop("region_name", None) or target.region
    if target.kind == "live":
        session = _boto3_session(live=True)
        if session.get_credentials() is None:
            raise ConfigError(
                "live target: no AWS credentials found; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE"
            )
        return session.client(service, region_name=region, config=config, **kwargs)
    if service == "bedrock-runtime":
        endpoint = target.bedrock_endpoint or target.aws_endpoint
    elif service == "s3":
        endpoint = target.s3_endpoint
    else:
        endpoint = target.aws_endpoint or target.bedrock_endpoint  # the sandbox serves all of AWS on that port
    if not endpoint:
        # replay: the host botocore's rules give (the one cassettes store), whatever AWS_ENDPOINT_URL says
        config = config.merge(BotoConfig(ignore_configured_endpoint_urls=True))
    if endpoint:
        kwargs.setdefault("endpoint_url", endpoint)
    # each client gets its own credentials object: the shared session holds none
    kwargs.setdefault("aws_access_key_id", REPLAY_AWS_KEY)
    kwargs.setdefault("aws_secret_access_key", REPLAY_AWS_SECRET)
    return _boto3_session(live=False).client(service, region_name=region, config=config, **kwargs)


@functools.cache
def _ssl_context() -> Any:
    """The SSL context httpx would build for each client (CA bundle loaded once per process)."""
    import httpx2

    return httpx2.create_ssl_context()


@functools.cache
def _replay_ssl_context() -> Any:
    """The SSL context of replay clients: verifying, but trusting no CA, so no CA bundle is loaded (~20 ms).

    Replay answers every request from a cassette and the network guard refuses connections, so no TLS handshake
    happens; one that somehow did would fail certificate verification, never skip it.
    """
    import ssl

    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname, no trusted certificates


def _http_client(async_: bool, replay: bool = False) -> Any:
    """A new HTTP client as openai builds its own (defaults, closed when collected), with the shared SSL context.

    A replay client also ignores the environment's proxy, certificate and netrc settings (``trust_env=False``):
    it never connects, and reading every environment variable for proxies cost ~40 µs per client (more with a
    large environment).
    """
    try:  # the very class openai instantiates when given no http_client
        from openai._base_client import AsyncHttpxClientWrapper as AsyncCls
        from openai._base_client import SyncHttpxClientWrapper as SyncCls
    except ImportError:  # pragma: no cover - openai moved them: its public defaults, without the close-on-collect
        from openai import DefaultAsyncHttpxClient as AsyncCls  # type: ignore[assignment]
        from openai import DefaultHttpxClient as SyncCls  # type: ignore[assignment]

    if replay:
        return (AsyncCls if async_ else SyncCls)(verify=_replay_ssl_context(), trust_env=False)
    return (AsyncCls if async_ else SyncCls)(verify=_ssl_context())


def openai_client(target: Target, *, async_: bool = False, **kwargs: Any) -> Any:
    """An openai client (sync or async) for the target, with SDK retries off."""
    import openai

    cls = openai.AsyncOpenAI if async_ else openai.OpenAI
    kwargs.setdefault("max_retries", 0)
    if "http_client" not in kwargs:
        kwargs["http_client"] = _http_client(async_, replay=target.kind == "replay")
    if target.kind == "live":
        key = os.environ.get("OPENAI_API_KEY")
        if not key:
            raise ConfigError("live target: OPENAI_API_KEY is not set")
        return cls(api_key=key, **kwargs)
    if target.openai_base:
        kwargs.setdefault("base_url", target.openai_base)
    return cls(api_key=REPLAY_OPENAI_KEY, **kwargs)
