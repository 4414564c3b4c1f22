"""Per-session state of the pytest plugin: the Setup, the lazily started sandbox, the client target."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from replaykit.plugin.clients import Target
from replaykit.recorder import Setup

SETUP = pytest.StashKey[Setup]()
SANDBOX = pytest.StashKey[Any]()
GATE = pytest.StashKey[Any]()


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
    return Target("sandbox", cfg.region, endpoints.bedrock_runtime, endpoints.s3, endpoints.openai)


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
    setup.host_map.update(
        {
            endpoints.openai: canonical_base("openai", region) + "/v1",
            endpoints.bedrock_runtime: canonical_base("bedrock-runtime", region),
            endpoints.s3: canonical_base("s3", region),
        }
    )
    return endpoints


class ContractGate:
    """Validates each replayed or recorded exchange once per session against its operation's contract."""

    def __init__(self, contracts_dir: Any, mode: str | None, min_samples: int = 3) -> None:
        from pathlib import Path

        self.dir = Path(contracts_dir)
        self.min_samples = min_samples
        # default: check when the project has contracts; "update" re-infers them at session end
        self.mode = mode or ("check" if self.dir.is_dir() and any(self.dir.rglob("*.json")) else "off")
        self._store: Any = None
        self._seen: set[tuple[str, int]] = set()
        self.checked = 0

    def store(self) -> Any:
        """The compiled contract store (built on first use)."""
        if self._store is None:
            from replaykit.contracts.validate import ContractStore

            self._store = ContractStore(self.dir)
        return self._store

    def check(self, cassette_path: str, exchanges: list[Any], recorded: Any = frozenset()) -> list[str]:
        """Violations (as messages) of exchanges not validated yet in this session.

        Exchanges recorded in this session (indices in ``recorded``) are new evidence, not failures: they widen the
        in-memory contracts, as ``--replaykit-contracts=update`` would, and drift judges them (``rerecord``).
        """
        if self.mode == "off":
            return []
        fresh = []
        for ex in exchanges:
            key = (cassette_path, ex.index)
            if key not in self._seen:
                self._seen.add(key)
                fresh.append(ex)
        if self.mode == "update":
            return []  # contracts are re-inferred at session end, from the written cassettes
        problems = []
        store = self.store()
        learned: dict[str, list[Any]] = {}
        for ex in fresh:
            if ex.index in recorded:
                learned.setdefault(ex.operation, []).append(ex)
        for operation, new in learned.items():
            store.learn(operation, new, min_samples=self.min_samples)
        for ex in fresh:
            if ex.index in recorded or not store.exists(ex.operation):
                continue
            self.checked += 1
            problems.extend(
                str(v) for v in store.validate(ex, cassette=cassette_path) if getattr(v, "severity", "error") == "error"
            )
        return problems

    def finish(self, cassette_dir: Any) -> list[Any]:
        """In update mode, re-infer contracts from the cassettes on disk (after they were written); changed files.

        Reading the saved cassettes (not what one process saw) makes this right under xdist too: only the
        controller runs it, once every worker has written its cassettes.
        """
        from pathlib import Path

        if self.mode != "update" or not Path(cassette_dir).is_dir():
            return []
        from replaykit.cassette import iter_cassettes, load_exchanges
        from replaykit.contracts.infer import update_contracts

        exchanges = [ex for path in iter_cassettes(cassette_dir) for ex in load_exchanges(path)]
        return update_contracts(exchanges, self.dir, min_samples=self.min_samples)


def exchanges_of(cassette: Any, indices: Any) -> list[Any]:
    """Decoded, sanitized exchanges of a live cassette (loaded ones as stored, recorded ones scrubbed)."""
    from replaykit.cassette.persister import exchange_from_vcr
    from replaykit.scrub.sanitize import scrub_exchange

    out = []
    for i in indices:
        request, response = cassette.data[i]
        ex, _ = exchange_from_vcr(i, request, response)
        if i >= cassette._loaded_count:
            ex = scrub_exchange(ex, cassette.rules)
        ex.index = i
        out.append(ex)
    return out


def contract_gate(config: pytest.Config) -> ContractGate:
    """The session's contract gate."""
    gate = config.stash.get(GATE, None)
    if gate is None:
        cfg = setup_of(config).config
        gate = ContractGate(cfg.contracts_dir, cfg.contracts, cfg.contract_min_samples)
        config.stash[GATE] = gate
    return gate
