"""Drift and contracts classify the same change the same way, for every drift check id.

A drift check is *breaking* exactly when the contract check fails (an error); *additive* and *value* drift never
fail it (additive may warn). Checks about things a contract does not describe (headers, cassette layout, what other
exchanges of the run show) are listed with the reason, so a new check id must be placed in one table or the other.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from drift_support import b  # noqa: E402

from replaykit.contracts import CompiledContract, infer_contract
from replaykit.contracts.infer import requiring
from replaykit.drift import CHECKS, DriftConfig, compare_exchanges
from replaykit.exchange import Exchange

MIN_SAMPLES = 3  # the default of [tool.replaykit] contract_min_samples: the committed side has that many samples

NOT_JUDGED_BY_CONTRACTS = {
    "status-changed": "a contract describes the body of each status; which status a call gets is the test's assertion",
    "error-type-changed": "headers are not part of a contract",
    "header-removed": "headers are not part of a contract",
    "header-added": "headers are not part of a contract",
    "stream-event-removed": "a contract validates the events a stream has; an event gone from a stream is drift's",
    "exchange-removed": "cassette layout, not a body",
    "exchange-added": "cassette layout, not a body",
    "cassette-removed": "cassette layout, not a body",
    "cassette-added": "cassette layout, not a body",
    "cassette-unreadable": "nothing to validate",
    "contract-violation": "it is the contract check itself, reported through drift",
    "response-field-varies": "needs the other exchanges of the run; a contract judges one exchange at a time",
    "stream-event-varies": "needs the other exchanges of the run; a contract judges one exchange at a time",
}


def _mutated(ex: Exchange, fn: Callable[[Exchange], Any]) -> Exchange:
    out = copy.deepcopy(ex)
    fn(out)
    return out


def _set(path: list[Any], value: Any, *, request: bool = False) -> Callable[[Exchange], None]:
    def apply(ex: Exchange) -> None:
        node = (ex.request if request else ex.response).body.value
        for key in path[:-1]:
            node = node[key]
        if value is _DELETE:
            del node[path[-1]]
        else:
            node[path[-1]] = value

    return apply


_DELETE = object()


def _cases() -> dict[str, tuple[Exchange, Exchange, DriftConfig | None]]:
    c = b.converse()
    cases = b.cases()
    nulls = _mutated(c, _set(["additionalModelResponseFields"], None))
    return {
        "content-type-changed": (cases["content_type_changed"][0][0], cases["content_type_changed"][1][0], None),
        "response-field-removed": (c, _mutated(c, _set(["metrics"], _DELETE)), None),
        "response-type-changed": (c, _mutated(c, _set(["usage", "inputTokens"], "13")), None),
        "request-field-removed": (c, _mutated(c, _set(["inferenceConfig"], _DELETE, request=True)), None),
        "request-type-changed": (c, _mutated(c, _set(["inferenceConfig", "maxTokens"], "5", request=True)), None),
        "response-field-added": (c, _mutated(c, _set(["usage", "serverToolUsage"], {})), None),
        "response-nullability-changed": (nulls, _mutated(nulls, _set(["additionalModelResponseFields"], "x")), None),
        "stream-event-added": (cases["stream_event_added"][0][0], cases["stream_event_added"][1][0], None),
        "enum-value-added": (c, _mutated(c, _set(["stopReason"], "max_tokens")), None),
        "request-field-added": (c, _mutated(c, _set(["performanceConfig"], {"latency": "x"}, request=True)), None),
        "value-changed": (c, _mutated(c, _set(["usage", "outputTokens"], 99)), DriftConfig(show_values=True)),
    }


def _contract_verdict(old: Exchange, new: Exchange, closed: tuple[str, ...] = ()) -> str:
    with requiring(MIN_SAMPLES):
        doc = infer_contract(old.operation, [copy.deepcopy(old) for _ in range(MIN_SAMPLES)])
    from replaykit.drift.rules import PathSet

    compiled = CompiledContract(doc, "memory", old.operation, closed=PathSet(closed, descendants=False))
    severities = {v.severity for v in compiled.validate(new)}
    return "fail" if "error" in severities else "warn" if severities else "pass"


def _drift_verdict(check: str, old: Exchange, new: Exchange, config: DriftConfig | None) -> str:
    report = compare_exchanges([old], [new], config=config)
    found = {f.severity for f in report.findings if f.check == check}
    assert found, f"the {check} case raised no {check} finding: {[f.check for f in report.findings]}"
    return "breaking" if "breaking" in found else "additive" if "additive" in found else "value"


def test_every_check_id_is_placed() -> None:
    assert set(_cases()) | set(NOT_JUDGED_BY_CONTRACTS) == set(CHECKS)
    assert not set(_cases()) & set(NOT_JUDGED_BY_CONTRACTS)


@pytest.mark.parametrize("check", sorted(_cases()))
def test_contracts_and_drift_agree(check: str) -> None:
    old, new, config = _cases()[check]
    drift = _drift_verdict(check, old, new, config)
    contract = _contract_verdict(old, new)
    assert drift == CHECKS[check].severity
    assert (contract == "fail") == (drift == "breaking"), (check, drift, contract)


def test_closed_enum_is_breaking_for_both() -> None:
    c = b.converse()
    new = _mutated(c, _set(["stopReason"], "max_tokens"))
    assert _contract_verdict(c, new) == "warn"
    assert _drift_verdict("enum-value-added", c, new, None) == "additive"
    assert _contract_verdict(c, new, closed=("stopReason",)) == "fail"
    assert _drift_verdict("enum-value-added", c, new, DriftConfig(closed=["stopReason"])) == "breaking"


def test_required_waits_for_enough_samples() -> None:
    c = b.converse()
    new = _mutated(c, _set(["metrics"], _DELETE))
    with requiring(MIN_SAMPLES):
        few = infer_contract(c.operation, [copy.deepcopy(c) for _ in range(MIN_SAMPLES - 1)])
    assert CompiledContract(few, "memory", c.operation).validate(new) == []
    assert _contract_verdict(c, new) == "fail"
