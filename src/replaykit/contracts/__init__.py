"""JSON-Schema contracts per operation: inferred from cassettes, checked against recordings and official shapes.

A cassette says what the provider answered once; a contract says what our code relies on it answering.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from replaykit.contracts.bodies import DONE_EVENT, StreamEvent, body_value, event_type, iter_events, xml_to_json
    from replaykit.contracts.check import (
        CheckReport,
        check_cassettes,
        check_official,
        compare_contract,
        official_contract,
    )
    from replaykit.contracts.document import (
        CLOSED,
        DISCRIMINATOR,
        DOCUMENT,
        MANUAL,
        ONLY_NULL,
        SCHEMA_URI,
        UNION,
        VOLATILE,
        contract_path,
        dump_contract,
        load_contract,
        write_contract,
    )
    from replaykit.contracts.infer import infer_schema, merge_schema
    from replaykit.contracts.official import DEFAULT_OPERATIONS, has_official, official_schema
    from replaykit.contracts.update import infer_contract, merge_contract
    from replaykit.contracts.validate import CompiledContract, ContractStore, Violation, marked_paths
    from replaykit.contracts.write import update_contracts

# the public names and their modules: imported on first use, so the pytest plugin (which needs only the gate) does
# not pay for jsonschema and the validators at start-up
_EXPORTS = {
    "CLOSED": "document",
    "CheckReport": "check",
    "CompiledContract": "validate",
    "ContractStore": "validate",
    "DEFAULT_OPERATIONS": "official",
    "DISCRIMINATOR": "document",
    "DOCUMENT": "document",
    "DONE_EVENT": "bodies",
    "MANUAL": "document",
    "ONLY_NULL": "document",
    "SCHEMA_URI": "document",
    "StreamEvent": "bodies",
    "UNION": "document",
    "VOLATILE": "document",
    "Violation": "validate",
    "body_value": "bodies",
    "check_cassettes": "check",
    "check_official": "check",
    "compare_contract": "check",
    "contract_path": "document",
    "dump_contract": "document",
    "event_type": "bodies",
    "has_official": "official",
    "infer_contract": "update",
    "infer_schema": "infer",
    "iter_events": "bodies",
    "load_contract": "document",
    "marked_paths": "validate",
    "merge_contract": "update",
    "merge_schema": "infer",
    "official_contract": "check",
    "official_schema": "official",
    "update_contracts": "write",
    "write_contract": "document",
    "xml_to_json": "bodies",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'replaykit.contracts' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"replaykit.contracts.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "CLOSED",
    "CheckReport",
    "CompiledContract",
    "ContractStore",
    "DEFAULT_OPERATIONS",
    "DISCRIMINATOR",
    "DOCUMENT",
    "DONE_EVENT",
    "MANUAL",
    "ONLY_NULL",
    "SCHEMA_URI",
    "StreamEvent",
    "UNION",
    "VOLATILE",
    "Violation",
    "body_value",
    "check_cassettes",
    "check_official",
    "compare_contract",
    "contract_path",
    "dump_contract",
    "event_type",
    "has_official",
    "infer_contract",
    "infer_schema",
    "iter_events",
    "load_contract",
    "marked_paths",
    "merge_contract",
    "merge_schema",
    "official_contract",
    "official_schema",
    "update_contracts",
    "write_contract",
    "xml_to_json",
]
