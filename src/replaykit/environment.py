"""The environment a test's own clients need in each mode: which variables to set and which to remove.

No client code of a user's needs an endpoint argument: every SDK replaykit supports reads its endpoint and
credentials from standard environment variables (botocore's ``AWS_ENDPOINT_URL_<SERVICE>``, the openai SDK's
``OPENAI_BASE_URL``, anthropic's ``ANTHROPIC_BEDROCK_BASE_URL``). The plugin's ``replaykit_env`` fixture applies
the plan built here with ``monkeypatch``, so everything is restored after the test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Dummy credentials: SDKs sign or refuse to start without *some* credentials, and a replayed request never
# leaves the machine. None of these is a secret shape the scanner flags, and none is ever written to a cassette.
DUMMY_AWS_ACCESS_KEY_ID = "AKIAREPLAYDUMMY"
DUMMY_AWS_SECRET_ACCESS_KEY = "replay-dummy-secret"
DUMMY_OPENAI_API_KEY = "sk-replay-dummy"

# endpoint overrides replay removes, so clients address the canonical hosts the cassettes hold
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL", "OPENAI_BASE_URL", "ANTHROPIC_BEDROCK_BASE_URL")
ENDPOINT_PREFIXES = ("AWS_ENDPOINT_URL_",)
# credential sources that would take over from the dummies in replay (a named profile may not exist in CI)
_AWS_IDENTITY = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")


@dataclass(frozen=True)
class ReplaykitMode:
    """What this pytest run does: ``record_mode`` (``"none"`` in plain pytest), ``replaying``, and ``target``.

    ``target`` is the configured record target (``"sandbox"`` or ``"live"``); it says where requests would go
    when recording, and matters only when ``replaying`` is false.
    """

    record_mode: str
    target: str

    @property
    def replaying(self) -> bool:
        """True when requests are answered from cassettes (``--record-mode=none``, the default)."""
        return self.record_mode == "none"

    @property
    def recording(self) -> bool:
        """True when a record mode may send requests (to the sandbox or the live providers)."""
        return not self.replaying


@dataclass(frozen=True)
class EnvPlan:
    """Variables to set and to remove for one test."""

    set: dict[str, str] = field(default_factory=dict)
    unset: tuple[str, ...] = ()


def plan_env(kind: str, region: str, environ: Mapping[str, str], endpoints: Any = None) -> EnvPlan:
    """The environment for ``kind`` ("replay", "sandbox" or "live") given the current ``environ``.

    ``endpoints`` (sandbox only) has ``bedrock_runtime``, ``s3``, ``openai`` (base URL with ``/v1``) and, once
    the sandbox serves every AWS service, ``aws``.
    """
    if kind == "live":
        return EnvPlan()
    if kind == "replay":
        overrides = [k for k in environ if k in ENDPOINT_VARIABLES or k.startswith(ENDPOINT_PREFIXES)]
        values = {
            "AWS_ACCESS_KEY_ID": DUMMY_AWS_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": DUMMY_AWS_SECRET_ACCESS_KEY,
            "OPENAI_API_KEY": DUMMY_OPENAI_API_KEY,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        _default_region(values, region, environ)
        unset = [k for k in (*overrides, *_AWS_IDENTITY) if k in environ]
        return EnvPlan(values, tuple(sorted(unset)))
    if kind != "sandbox":
        raise ValueError(f"unknown target kind {kind!r}")
    if endpoints is None:
        raise ValueError("the sandbox plan needs the sandbox's endpoints")
    values = {
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": endpoints.bedrock_runtime,
        "AWS_ENDPOINT_URL_S3": endpoints.s3,
        "OPENAI_BASE_URL": endpoints.openai,
        "ANTHROPIC_BEDROCK_BASE_URL": endpoints.bedrock_runtime,
    }
    aws = getattr(endpoints, "aws", None)
    if aws:
        values["AWS_ENDPOINT_URL"] = aws
    if not (environ.get("AWS_ACCESS_KEY_ID") or environ.get("AWS_PROFILE")):
        values["AWS_ACCESS_KEY_ID"] = DUMMY_AWS_ACCESS_KEY_ID
        values["AWS_SECRET_ACCESS_KEY"] = DUMMY_AWS_SECRET_ACCESS_KEY
        values["AWS_EC2_METADATA_DISABLED"] = "true"
    if not environ.get("OPENAI_API_KEY"):
        values["OPENAI_API_KEY"] = DUMMY_OPENAI_API_KEY
    _default_region(values, region, environ)
    return EnvPlan(values)


def _default_region(values: dict[str, str], region: str, environ: Mapping[str, str]) -> None:
    # a region the user set wins (their recordings name it); otherwise the project's region
    if not (environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")):
        values["AWS_REGION"] = region
        values["AWS_DEFAULT_REGION"] = region
