"""JSON-Schema contracts per operation: inferred from cassettes, checked against recordings and official shapes.

A cassette says what the provider answered once; a contract says what our code relies on it answering.
"""

from __future__ import annotations

from replaykit.contracts.bodies import DONE_EVENT, StreamEvent, body_value, event_type, iter_events, xml_to_json
from replaykit.contracts.check import CheckReport, check_cassettes, check_official, compare_contract, official_contract
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
