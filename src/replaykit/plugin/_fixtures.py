"""The plugin's fixtures, registered after pytest-recording's so replaykit's ``vcr_cassette_dir`` wins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from replaykit.config import Config
from replaykit.plugin import clients
from replaykit.plugin._session import contract_gate, exchanges_of, sandbox_for, setup_of, target_for


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
def sandbox_endpoints(request: pytest.FixtureRequest) -> Any:
    """Endpoints of the session's sandbox (started on first use)."""
    return sandbox_for(request.config)


@pytest.fixture
def bedrock_runtime(request: pytest.FixtureRequest) -> Any:
    """A boto3 ``bedrock-runtime`` client for the current mode."""
    return clients.boto3_client("bedrock-runtime", target_for(request.config))


@pytest.fixture
def s3(request: pytest.FixtureRequest) -> Any:
    """A boto3 ``s3`` client for the current mode."""
    return clients.boto3_client("s3", target_for(request.config))


@pytest.fixture
def openai_client(request: pytest.FixtureRequest) -> Any:
    """An ``openai.OpenAI`` client for the current mode."""
    return clients.openai_client(target_for(request.config))


@pytest.fixture
def async_openai_client(request: pytest.FixtureRequest) -> Any:
    """An ``openai.AsyncOpenAI`` client for the current mode (a plain fixture: no async plugin required)."""
    return clients.openai_client(target_for(request.config), async_=True)


@pytest.fixture(autouse=True)
def _replaykit_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """Block the network in replay and fail the test on misses the code under test swallowed."""
    if request.node.get_closest_marker("vcr") is None:
        yield
        return
    cassette = request.getfixturevalue("vcr")
    setup = setup_of(request.config)
    attempts: list[str] = []
    if setup.record_mode == "none":
        from replaykit.recorder.network import blocked

        with blocked(attempts):
            yield
    else:
        yield
    problems = list(dict.fromkeys(getattr(cassette, "misses", []) or []))
    if cassette is not None and hasattr(cassette, "play_counts"):
        # contracts: every exchange this test replayed or recorded, validated once per session
        touched = [i for i in range(len(cassette.data)) if cassette.play_counts[i] or i >= cassette._loaded_count]
        if touched:
            gate = contract_gate(request.config)
            recorded = frozenset(i for i in touched if i >= cassette._loaded_count)
            problems.extend(gate.check(str(cassette._path), exchanges_of(cassette, touched), recorded))
    if attempts:
        problems.append("replay mode blocked real network connections to: " + ", ".join(sorted(set(attempts))))
    if problems:
        pytest.fail("replaykit: " + "\n".join(problems), pytrace=False)
