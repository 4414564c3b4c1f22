"""Integration fixtures: one offline sandbox per session, and SDK clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Any]:
    """The sandbox's endpoints (``replaykit.sandbox.running()`` for the whole session)."""
    import replaykit.sandbox

    with replaykit.sandbox.running() as endpoints:
        yield endpoints


@pytest.fixture(scope="session")
def sbx(sandbox: Any) -> Any:
    """Short alias of ``sandbox``."""
    return sandbox


def _boto(service: str, endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    # one attempt: retries would only slow down the error tests
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=10, connect_timeout=5)
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
                        aws_secret_access_key="sandbox-secret", config=config)


@pytest.fixture(scope="session")
def sbx_bedrock(sbx: Any) -> Any:
    """A boto3 bedrock-runtime client for the sandbox."""
    return _boto("bedrock-runtime", sbx.bedrock_runtime)


@pytest.fixture(scope="session")
def sbx_s3(sbx: Any) -> Any:
    """A boto3 s3 client for the sandbox's moto server."""
    return _boto("s3", sbx.s3)


@pytest.fixture(scope="session")
def sbx_openai(sbx: Any) -> Any:
    """A synchronous openai client for the sandbox (no retries)."""
    import openai

    return openai.OpenAI(base_url=sbx.openai, api_key="sk-sandbox", max_retries=0, timeout=10)


@pytest.fixture
def sbx_async_openai(sbx: Any) -> Any:
    """An AsyncOpenAI client for the sandbox (no retries), one per test for its event loop."""
    import openai

    return openai.AsyncOpenAI(base_url=sbx.openai, api_key="sk-sandbox", max_retries=0, timeout=10)


@pytest.fixture(scope="session")
def sbx_http(sbx: Any) -> Iterator[Any]:
    """An httpx client on the sandbox's Bedrock/OpenAI port, for raw wire checks."""
    import httpx

    with httpx.Client(base_url=sbx.bedrock_runtime, timeout=10) as client:
        yield client
