"""The contract gate: checks each exchange a session replays against its operation's contract, once."""

from __future__ import annotations

from typing import Any


class ContractGate:
    """Validates each replayed or recorded exchange once per session against its operation's contract.

    A ``CassetteHooks`` subscriber: exchanges arrive as they are played or recorded (the very objects the persister
    writes) and wait in ``pending`` until the plugin asks for the running test's ``problems()``. Exchanges recorded
    in this session are new evidence, not failures: they widen the in-memory contracts, as
    ``--replaykit-contracts=update`` would, and drift judges them (``replaykit rerecord``).
    """

    def __init__(self, contracts_dir: Any, mode: str | None, min_samples: int = 3) -> None:
        from pathlib import Path

        self.dir = Path(contracts_dir)
        # default: check when the project has contracts; "update" re-infers them at session end
        self.mode = mode or ("check" if self.dir.is_dir() and any(self.dir.rglob("*.json")) else "off")
        self.min_samples = min_samples
        self._store: Any = None
        self._seen: set[tuple[str, int]] = set()
        self.pending: list[tuple[str, Any, bool]] = []

    def store(self) -> Any:
        """The compiled contract store (built on first use)."""
        if self._store is None:
            from replaykit.contracts.validate import ContractStore

            self._store = ContractStore(self.dir)
        return self._store

    def on_play(self, cassette: Any, exchange: Any) -> None:
        """Queue a replayed exchange for checking (once per session)."""
        self._collect(cassette.path, exchange, recorded=False)

    def on_record(self, cassette: Any, exchange: Any) -> None:
        """Queue a recorded exchange: it teaches the in-memory contracts (once per session)."""
        self._collect(cassette.path, exchange, recorded=True)

    def _collect(self, path: str, exchange: Any, *, recorded: bool) -> None:
        if self.mode != "check":
            return  # "update" re-infers contracts at session end, from the written cassettes
        key = (path, exchange.index)
        if key not in self._seen:
            self._seen.add(key)
            self.pending.append((path, exchange, recorded))

    def problems(self) -> list[str]:
        """Violations (as messages) of the replayed exchanges queued since the last call."""
        pending, self.pending = self.pending, []
        if not pending:
            return []
        store = self.store()
        learned: dict[str, list[Any]] = {}
        for _, ex, recorded in pending:
            if recorded:
                learned.setdefault(ex.operation, []).append(ex)
        for operation, new in learned.items():
            store.learn(operation, new, min_samples=self.min_samples)
        problems: list[str] = []
        for path, ex, recorded in pending:
            if recorded or not store.exists(ex.operation):
                continue
            problems.extend(
                str(v) for v in store.validate(ex, cassette=path) if getattr(v, "severity", "error") == "error"
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
        from replaykit.contracts import update_contracts

        exchanges = [ex for path in iter_cassettes(cassette_dir) for ex in load_exchanges(path)]
        return update_contracts(exchanges, self.dir, min_samples=self.min_samples)
