"""The public surface cannot grow by accident (as httpx pins its exports): the top-level names and each public
subpackage's ``__all__`` are pinned here, and every pinned name resolves."""

from __future__ import annotations

import importlib

import pytest

import replaykit

EXPECTED = [
    "CassetteError", "CodecError", "Config", "ConfigError", "ContractViolation", "CostLimitError",
    "DUMMY_AWS_ACCESS_KEY_ID", "DUMMY_AWS_SECRET_ACCESS_KEY", "DUMMY_OPENAI_API_KEY", "Exchange", "NetworkBlockedError",
    "NoMatchError", "ReplaykitError", "ReplaykitMode", "SandboxError", "SecretFoundError", "__version__",
    "iter_cassettes", "load_config", "load_exchanges", "use_cassette",
]

SUBPACKAGES = {
    "replaykit.cassette": [
        "Body", "Exchange", "Request", "Response", "iter_cassettes", "load_exchanges", "read_document",
    ],
    "replaykit.cost": [
        "Charge", "CostGuard", "CostTracker", "Line", "Price", "PriceTable", "Usage", "bundled_prices",
        "cassette_charges", "charge_of", "estimate", "load_prices", "max_output_tokens", "model_of",
        "normalise_model", "usage_of",
    ],
    "replaykit.faults": [
        "Fault", "FaultPlan", "Injection", "as_plan", "connection_error", "disconnect", "error", "latency",
        "model_timeout", "plan", "read_timeout", "server_error", "stream_break", "throttle", "unavailable",
        "with_faults",
    ],
    "replaykit.recorder": ["RECORD_MODES", "Setup", "Stats", "install", "use_cassette"],
    "replaykit.sandbox": ["Endpoints", "PROFILES", "Profile", "ProfileChange", "running"],
}


def test_all_is_sorted_and_pinned():
    assert replaykit.__all__ == sorted(replaykit.__all__) == EXPECTED


def test_every_export_resolves():
    for name in replaykit.__all__:
        assert getattr(replaykit, name) is not None


@pytest.mark.parametrize("package", sorted(SUBPACKAGES))
def test_subpackage_surfaces_are_pinned_and_resolve(package):
    module = importlib.import_module(package)
    assert sorted(module.__all__) == SUBPACKAGES[package]
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing


def test_private_modules_are_not_reexported():
    for package in SUBPACKAGES:
        module = importlib.import_module(package)
        assert not [name for name in module.__all__ if name.startswith("_")]
