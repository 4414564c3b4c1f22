"""Compare two recordings of the same suite: pair exchanges, diff their structure, and collect raw findings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replaykit.drift.classify import Classifier
from replaykit.drift.config import DriftConfig
from replaykit.drift.contracts import ContractRules
from replaykit.drift.diff import compare_headers, compare_request, compare_response, diff_shapes
from replaykit.drift.model import CASSETTE_LEVEL, DriftReport, Finding, PairResult
from replaykit.drift.pair import load_cassette, pair_cassettes, pair_exchanges
from replaykit.drift.rules import PathSet, ancestors, model_of, volatile_for
from replaykit.drift.shape import BodyShape, body_shape, count_value_changes
from replaykit.drift.values import value_findings
from replaykit.errors import CassetteError
from replaykit.exchange import Exchange

__all__ = ["compare_exchanges", "compare_trees", "diff_shapes"]

# findings that may be content variance rather than API change, and what they become if so
_VARIANCE = {
    "response-field-removed": "response-field-varies",
    "response-field-added": "response-field-varies",
    "stream-event-removed": "stream-event-varies",
    "stream-event-added": "stream-event-varies",
}


@dataclass
class _Info:
    """What one exchange looks like, computed once."""

    model: str
    response: BodyShape

    def variant(self, ex: Exchange) -> tuple[str, str, int]:
        # same operation, model and status: responses that should share one structure
        return (ex.operation, self.model, ex.response.status)


def compare_trees(old: Path, new: Path, *, config: DriftConfig | None = None) -> DriftReport:
    """Compare two cassette directories (paired by relative path) or two cassette files."""
    session = _Session(config or DriftConfig(), str(old), str(new))
    for cp in pair_cassettes(Path(old), Path(new)):
        try:
            old_ex = load_cassette(cp.old) if cp.old is not None else None
            new_ex = load_cassette(cp.new) if cp.new is not None else None
        except CassetteError as exc:
            session.cassettes += 1
            session.emit(
                "cassette-unreadable",
                CASSETTE_LEVEL,
                "cassette",
                "",
                f"unreadable: {exc}",
                cassette=cp.name,
                new=str(exc),
            )
            continue
        session.add_cassette(cp.name, old_ex, new_ex)
    return session.finish()


def compare_exchanges(
    old: Sequence[Exchange], new: Sequence[Exchange], *, config: DriftConfig | None = None, cassette: str = "<memory>"
) -> DriftReport:
    """Compare two in-memory recordings of one cassette."""
    session = _Session(config or DriftConfig(), cassette, cassette)
    session.add_cassette(cassette, list(old), list(new))
    return session.finish()


class _Session:
    """Accumulates pairs and the per-operation knowledge needed to judge them (variance, enum values)."""

    def __init__(self, config: DriftConfig, old_root: str, new_root: str) -> None:
        self.config = config
        self.old_root, self.new_root = old_root, new_root
        self.contracts = ContractRules(config.contracts_dir)
        self.raw: list[Finding] = []
        self.pairs: list[PairResult] = []
        self.cassettes = 0
        self.paths: dict[str, dict[tuple[Any, ...], set[str]]] = {"old": defaultdict(set), "new": defaultdict(set)}
        self.events: dict[str, dict[tuple[Any, ...], set[str]]] = {"old": defaultdict(set), "new": defaultdict(set)}
        self.old_enums: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        self.new_enums: dict[tuple[str, str, str, str], list[tuple[str, int | None, int | None, str]]] = defaultdict(
            list
        )
        self._variance: list[tuple[Finding, tuple[Any, ...]]] = []
        self._per_op: dict[tuple[str, str], tuple[PathSet, PathSet, PathSet]] = {}

    # -- per-operation rules -------------------------------------------------------------------------------------
    def _rules(self, operation: str, where: str = "*") -> tuple[PathSet, PathSet, PathSet]:
        """(volatile, closed, enum) path sets of an operation's request/response/event part (``*``: all parts)."""
        got = self._per_op.get((operation, where))
        if got is None:
            provider = operation.split(".", 1)[0]
            contract_volatile = self.contracts.volatile_paths(operation, where)
            volatile = volatile_for(provider, tuple(self.config.volatile) + contract_volatile)
            closed = PathSet([*self.config.closed, *self.contracts.closed_paths(operation, where)], descendants=False)
            got = self._per_op[(operation, where)] = (volatile, closed, closed)
        return got

    def emit(
        self,
        check: str,
        operation: str,
        where: str,
        path: str,
        message: str,
        *,
        cassette: str,
        old_index: int | None = None,
        new_index: int | None = None,
        old: str | None = None,
        new: str | None = None,
        model: str = "",
        variant: tuple[Any, ...] | None = None,
    ) -> None:
        """Record a raw finding (severity is decided later, in ``finish``)."""
        f = Finding(check, "", operation, where, path, message, cassette, old_index, new_index, old, new, model)
        self.raw.append(f)
        if variant is not None and check in _VARIANCE:
            self._variance.append((f, variant))

    # -- cassettes and exchanges ---------------------------------------------------------------------------------
    def add_cassette(self, name: str, old: list[Exchange] | None, new: list[Exchange] | None) -> None:
        """Compare the exchanges of one cassette (None: the cassette exists on one side only)."""
        self.cassettes += 1
        if new is None:
            self.emit("cassette-removed", CASSETTE_LEVEL, "cassette", "", "exists only in OLD", cassette=name)
        if old is None:
            self.emit("cassette-added", CASSETTE_LEVEL, "cassette", "", "exists only in NEW", cassette=name)
        if old is None or new is None:
            for ex in old or []:
                self._observe("old", ex, self._info(ex), (name, ex.index, None))
            for ex in new or []:
                # a new test's values are not drift: its exchanges widen no enum and raise no enum finding
                self._observe("new", ex, self._info(ex), None)
            return
        for o, n in pair_exchanges(old, new):
            if o is not None and n is not None:
                self._compare(name, o, n)
            elif o is not None:
                info = self._info(o)
                self._observe("old", o, info, (name, o.index, None))
                self.pairs.append(PairResult(name, o.operation, o.index, None, info.model))
                self.emit(
                    "exchange-removed",
                    o.operation,
                    "exchange",
                    "",
                    "call no longer made",
                    cassette=name,
                    old_index=o.index,
                    model=info.model,
                )
            elif n is not None:
                info = self._info(n)
                self._observe("new", n, info, None)
                self.pairs.append(PairResult(name, n.operation, None, n.index, info.model))
                self.emit(
                    "exchange-added",
                    n.operation,
                    "exchange",
                    "",
                    "new call",
                    cassette=name,
                    new_index=n.index,
                    model=info.model,
                )
                self._contracts(name, None, n, info.model)

    def _info(self, ex: Exchange, like: tuple[Exchange, _Info] | None = None) -> _Info:
        if like is not None and like[0].response.body == ex.response.body:
            return like[1]  # identical bodies: reuse the signature instead of walking them again
        op = ex.operation
        return _Info(
            model_of(ex),
            body_shape(
                ex.response.body,
                content_type=ex.response.content_type,
                enum_for=lambda where: self._rules(op, where)[2],
            ),
        )

    def _observe(
        self,
        side: str,
        ex: Exchange,
        info: _Info,
        loc: tuple[str, int | None, int | None] | None,
        *,
        evidence: bool = True,
    ) -> None:
        variant = info.variant(ex)
        resp = info.response
        if evidence:
            self.paths[side][(*variant, "response.body")].update(resp.shape)
        hits = [("response.body", p, v) for p, v in resp.enums]
        if resp.events:
            if evidence:
                self.events[side][variant].update(resp.events)
            for etype, shape in resp.events.items():
                if evidence:
                    self.paths[side][(*variant, f"event:{etype}")].update(shape)
                hits.extend((f"event:{etype}", p, v) for p, v in resp.event_enums.get(etype, ()))
        for where, path, value in dict.fromkeys(hits):  # once per exchange, however many events repeat it
            if side == "old":
                self.old_enums[(ex.operation, where, path)].add(value)
            elif loc is not None:
                self.new_enums[(ex.operation, where, path, value)].append((*loc, info.model))

    def _compare(self, cas: str, old: Exchange, new: Exchange) -> None:
        oi = self._info(old)
        ni = self._info(new, like=(old, oi))
        self._observe("old", old, oi, (cas, old.index, new.index))
        # an unchanged response was most likely not re-recorded (a scratch copy keeps every cassette): it is no
        # evidence that a field is still served, so it does not widen the new-side unions used for variance
        self._observe("new", new, ni, (cas, old.index, new.index), evidence=ni is not oi)
        op, model = new.operation, ni.model or oi.model
        volatile = self._rules(op)[0]  # every part's volatile paths: used for counting value noise
        pair = PairResult(cas, op, old.index, new.index, model)
        self.pairs.append(pair)

        def emit(
            check: str,
            where: str,
            path: str,
            message: str,
            o: str | None = None,
            n: str | None = None,
            variant: tuple[Any, ...] | None = None,
        ) -> None:
            self.emit(
                check,
                op,
                where,
                path,
                message,
                cassette=cas,
                old_index=old.index,
                new_index=new.index,
                old=o,
                new=n,
                model=model,
                variant=variant,
            )

        consequences = False  # a status or media type change makes every body difference a mere consequence
        if old.response.status != new.response.status:
            consequences = True
            emit(
                "status-changed",
                "response.status",
                "",
                f"{old.response.status} → {new.response.status}",
                str(old.response.status),
                str(new.response.status),
            )
        cto, ctn = old.response.content_type, new.response.content_type
        if cto and ctn and cto != ctn:
            consequences = True
            emit("content-type-changed", "response.headers", "content-type", f"{cto} → {ctn}", cto, ctn)
        if not consequences:
            compare_headers(old, new, emit)
        compare_request(old, new, emit)
        if not consequences:
            compare_response(
                new, oi.response, ni.response, lambda where: self._rules(op, where)[0], emit, ni.variant(new)
            )
        self._contracts(cas, old.index, new, model)
        for o_body, n_body in ((old.request.body, new.request.body), (old.response.body, new.response.body)):
            total, vol = count_value_changes(o_body, n_body, volatile)
            pair.value_changes += total
            pair.value_changes_volatile += vol
        if self.config.show_values and pair.value_changes:
            for where, path, o_val, n_val in value_findings(old, new):
                tag = " (volatile)" if volatile(path) else ""
                emit("value-changed", where, path, f"{o_val} → {n_val}{tag}", o_val, n_val)

    def _contracts(self, cas: str, old_index: int | None, new: Exchange, model: str) -> None:
        for where, path, message in self.contracts.violations(new, cas):
            self.emit(
                "contract-violation",
                new.operation,
                where,
                path,
                f"contract: {message}",
                cassette=cas,
                old_index=old_index,
                new_index=new.index,
                new=message,
                model=model,
            )

    @staticmethod
    def _without_duplicate_violations(raw: list[Finding]) -> list[Finding]:
        """Drop contract violations a structural finding of the same pair already reports (same part and path)."""
        covered: dict[tuple[Any, ...], set[str]] = defaultdict(set)
        for f in raw:
            if f.check != "contract-violation" and f.check not in _VARIANCE.values() and f.check != "value-changed":
                covered[(f.cassette, f.old_index, f.new_index, f.where)].add(f.path)
        out = []
        for f in raw:
            if f.check == "contract-violation":
                paths = covered.get((f.cassette, f.old_index, f.new_index, f.where), set())
                if "" in paths or any(p in paths for p in ancestors(f.path)):
                    continue
            out.append(f)
        return out

    # -- tree-level judgement ------------------------------------------------------------------------------------
    def finish(self) -> DriftReport:
        """Apply variance and enum knowledge gathered over the whole tree, classify, and build the report."""
        for f, variant in self._variance:
            if f.check.startswith("stream-event"):
                other = self.events["new" if f.check.endswith("removed") else "old"].get(variant, set())
                key = f.where.split(":", 1)[1]
            else:
                other = self.paths["new" if f.check.endswith("removed") else "old"].get((*variant, f.where), set())
                key = f.path
            if key in other:
                f.message += " (still seen in other exchanges of this operation and model)"
                f.check = _VARIANCE[f.check]
        self.raw = self._without_duplicate_violations(self.raw)
        for (op, where, path, value), locs in self.new_enums.items():
            known = self.old_enums.get((op, where, path))
            if not known or value in known:
                continue
            before = ", ".join(sorted(known)[:8]) + (", …" if len(known) > 8 else "")
            for cas, oi, ni, model in locs:
                self.emit(
                    "enum-value-added",
                    op,
                    where,
                    path,
                    f"new value {value!r} (seen before: {before})",
                    cassette=cas,
                    old_index=oi,
                    new_index=ni,
                    old=before,
                    new=value,
                    model=model,
                )
        classifier = Classifier(self.config, lambda op, where: self._rules(op, where)[1])
        findings = classifier.apply(self.raw)
        return DriftReport(
            self.old_root,
            self.new_root,
            findings,
            self.pairs,
            self.cassettes,
            classifier.ignored,
            list(self.contracts.notes),
            self.config.show_values,
        )
