"""Per-session state of the pytest plugin: the Setup, the lazily started sandbox, the client target."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from replaykit.contracts.gate import ContractGate
from replaykit.errors import ConfigError
from replaykit.plugin.clients import Target
from replaykit.recorder import Setup

SETUP = pytest.StashKey[Setup]()
SANDBOX = pytest.StashKey[Any]()
GATE = pytest.StashKey[ContractGate]()
# per test: its cassette and the connections replay refused
CASSETTE = pytest.StashKey[Any]()
ATTEMPTS = pytest.StashKey[list[str]]()
LEDGER = pytest.StashKey[str]()


def check_live_credentials() -> None:
    """Raise ConfigError (one line) when a live record run has no provider credentials at all."""
    import os

    missing = []
    if not os.environ.get("OPENAI_API_KEY"):
        missing.append("OPENAI_API_KEY")
    if not _aws_credentials():
        missing.append("AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)")
    if len(missing) == 2:
        raise ConfigError(
            f"recording against the live providers (the default target) needs credentials; missing: "
            f"{' and '.join(missing)}. For offline work pass --replaykit-target=sandbox "
            '(or set [tool.replaykit] target = "sandbox")'
        )


def _aws_credentials() -> bool:
    import botocore.session

    session = botocore.session.get_session()
    resolver = session.get_component("credential_provider")
    # never probe the instance-metadata or container endpoints from a test run's start-up
    for name in ("iam-role", "container-role"):
        try:
            resolver.remove(name)
        except Exception:  # noqa: BLE001 - a provider botocore no longer has is simply absent
            pass
    try:
        return session.get_credentials() is not None
    except Exception:  # noqa: BLE001 - a broken profile counts as no credentials; botocore says why when used
        return False


def setup_of(config: pytest.Config) -> Setup:
    """The session's Setup."""
    return config.stash[SETUP]


def target_for(config: pytest.Config) -> Target:
    setup = setup_of(config)
    cfg = setup.config
    if setup.record_mode == "none":
        return Target("replay", cfg.region)
    if cfg.target == "live":
        return Target("live", cfg.region)
    endpoints = sandbox_for(config)
    return Target("sandbox", cfg.region, endpoints.bedrock_runtime, endpoints.s3, endpoints.openai, endpoints.aws)


def sandbox_for(config: pytest.Config) -> Any:
    """Endpoints of the session sandbox, started once (lazily: replay never needs it)."""
    setup = setup_of(config)
    existing = config.stash.get(SANDBOX, None)
    if existing is not None:
        return existing.endpoints
    from replaykit.providers import canonical_base
    from replaykit.sandbox import running

    stack = contextlib.ExitStack()
    endpoints = stack.enter_context(running(profile=setup.config.sandbox_profile))
    stack.endpoints = endpoints  # type: ignore[attr-defined]
    config.stash[SANDBOX] = stack
    region = setup.config.region
    # signed AWS requests move to their canonical host by their SigV4 scope (providers.canonical_uri); the map
    # only places unsigned ones: OpenAI, Bedrock with a bearer token, anonymous S3
    setup.host_map.update(
        {
            endpoints.openai: canonical_base("openai", region) + "/v1",
            endpoints.bedrock_runtime: canonical_base("bedrock-runtime", region),
            endpoints.s3: canonical_base("s3", region),
        }
    )
    return endpoints


def reset_sandbox(config: pytest.Config) -> None:
    """Empty the session sandbox's AWS state (moto: every table, queue, bucket) so each test starts fresh."""
    stack = config.stash.get(SANDBOX, None)
    if stack is not None:
        from replaykit.sandbox.aws import reset

        reset()
