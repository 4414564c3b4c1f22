"""Drift on cassette files: the synthetic case pairs, a directory tree, real provider recordings, contracts, scale."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

import real_corpus
from replaykit.drift import DriftConfig, compare_exchanges, compare_trees

_CASES = Path(__file__).resolve().parents[1] / "cases" / "drift"
REAL = real_corpus.REAL_CASSETTES
MAX_TOKENS = "tests/models/cassettes/test_bedrock/test_bedrock_model_max_tokens.yaml"


from drift_support import b  # noqa: E402

EXPECTED = {
    "noise": [],
    "field_added": [("response-field-added", False, "usage.serverToolUsage")],
    "field_removed": [("response-field-removed", True, "metrics")],
    "type_changed": [("response-type-changed", True, "usage.inputTokens")],
    "enum_value": [("enum-value-added", False, "stopReason")],
    "stream_event_added": [("stream-event-added", False, "")],
    "stream_event_removed": [("stream-event-removed", True, "")],
    "status_changed": [("status-changed", True, "")],
    "content_type_changed": [("content-type-changed", True, "content-type")],
    "request_drift": [
        ("request-field-added", False, "fetch-owner"),
        ("request-field-added", False, "performanceConfig"),
        ("request-field-removed", True, "system"),
    ],
    "one_sided": [("exchange-added", False, ""), ("exchange-removed", True, "")],
    "headers": [
        ("error-type-changed", True, "x-amzn-errortype"),
        ("header-added", False, "retry-after"),
        ("header-removed", True, "x-ratelimit-remaining-tokens"),
    ],
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_case_files(case):
    report = compare_trees(_CASES / case / "old.yaml", _CASES / case / "new.yaml")
    got = sorted((f.check, f.severity == "breaking", f.path) for f in report.findings)
    assert got == EXPECTED[case]
    assert report.failed("breaking") is any(breaking for _c, breaking, _p in EXPECTED[case])
    assert report.failed("additive") is bool(EXPECTED[case])


def test_case_files_match_their_builders():
    # the committed cassettes are what builders.py writes; a stale file would test something else
    from replaykit.cassette import load_exchanges

    for name, (old, _new) in b.cases().items():
        loaded = load_exchanges(_CASES / name / "old.yaml")
        assert [e.response.body.value for e in loaded] == [e.response.body.value for e in b.reindexed(old)], name


def test_directory_trees_pair_by_relative_path():
    report = compare_trees(_CASES / "tree" / "old", _CASES / "tree" / "new")
    got = sorted((f.check, f.cassette, f.severity) for f in report.findings)
    assert got == [
        ("cassette-added", "test_brand_new.yaml", "additive"),
        ("cassette-removed", "test_retired.yaml", "breaking"),
        ("response-field-added", "bedrock/test_converse.yaml", "additive"),
    ]
    assert report.cassettes == 4
    assert report.counts()["pairs"] == 6
    assert report.counts()["value_changes"] > 0


def test_directory_against_file_is_a_usage_error():
    from replaykit.errors import ConfigError

    with pytest.raises(ConfigError, match="both be directories or both be files"):
        compare_trees(_CASES / "tree" / "old", _CASES / "noise" / "old.yaml")
    with pytest.raises(ConfigError, match="no such file"):
        compare_trees(_CASES / "nope", _CASES / "tree" / "new")


def test_unreadable_cassette_is_reported(tmp_path):
    for side in ("old", "new"):
        (tmp_path / side).mkdir()
        (tmp_path / side / "ok.yaml").write_text((_CASES / "noise" / f"{side}.yaml").read_text())
    (tmp_path / "new" / "broken.yaml").write_text("interactions: [\n")
    (tmp_path / "old" / "broken.yaml").write_text("version: 1\ninteractions: []\n")
    report = compare_trees(tmp_path / "old", tmp_path / "new")
    [f] = report.findings
    assert (f.check, f.cassette, f.severity) == ("cassette-unreadable", "broken.yaml", "breaking")


@real_corpus.requires_real
def test_real_bedrock_drift_between_2025_and_2026():
    from replaykit.cassette import load_exchanges  # the lead's loader reads pydantic-ai's parsed_body format

    old = REAL / "pydantic__pydantic-ai@6f991cb24" / MAX_TOKENS
    new = REAL / "pydantic__pydantic-ai" / MAX_TOKENS
    assert load_exchanges(old)[0].operation == "bedrock-runtime.Converse"
    report = compare_trees(old, new)
    assert [(f.check, f.severity, f.where, f.path, f.new) for f in report.findings] == [
        ("response-field-added", "additive", "response.body", "usage.serverToolUsage", "object")
    ]
    # latency moved 159 → 249 ms: counted as value noise at a known-volatile path, never listed
    counts = report.counts()
    assert (counts["value_changes"], counts["value_changes_volatile"]) == (1, 1)
    assert not report.failed("breaking") and report.failed("additive")


@real_corpus.requires_real
def test_real_stream_drift_is_request_temperature_and_metadata_usage():
    rel = "tests/models/cassettes/test_bedrock/test_bedrock_model_stream.yaml"
    report = compare_trees(REAL / "pydantic__pydantic-ai@6f991cb24" / rel, REAL / "pydantic__pydantic-ai" / rel)
    assert sorted((f.check, f.where, f.path) for f in report.findings) == [
        ("request-field-added", "request.body", "inferenceConfig.temperature"),
        ("response-field-added", "event:metadata", "usage.serverToolUsage"),
    ]


def _contract(tmp_path: Path) -> Path:
    doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "x-replaykit": {"format": 1, "operation": "bedrock-runtime.Converse", "samples": 1, "streaming": False},
        "request": {"type": "object"},
        "response": {
            "content_types": ["application/json"],
            "success": {
                "type": "object",
                "required": ["output", "stopReason", "usage"],
                "properties": {
                    "stopReason": {"type": "string", "enum": ["end_turn", "max_tokens"], "x-replaykit-closed": True},
                    "usage": {"type": "object", "properties": {"inputTokens": {"type": "integer", "minimum": 1}}},
                    "metrics": {"type": "object", "x-replaykit-volatile": True},
                },
            },
        },
    }
    path = tmp_path / "contracts" / "bedrock-runtime" / "Converse.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(doc))
    return tmp_path / "contracts"


def test_contract_violations_and_closed_enums_from_the_contract(tmp_path):
    pytest.importorskip("replaykit.contracts.validate")
    cfg = DriftConfig(contracts_dir=_contract(tmp_path))
    old = b.converse()
    typed = copy.deepcopy(old)
    typed.response.body.value["usage"]["inputTokens"] = "13"
    got = sorted((f.check, f.severity, f.path) for f in compare_exchanges([old], [typed], config=cfg).findings)
    # the contract says the same as the structural check: reported once
    assert got == [("response-type-changed", "breaking", "usage.inputTokens")]
    zero = copy.deepcopy(old)
    zero.response.body.value["usage"]["inputTokens"] = 0
    # a value the contract forbids is invisible to a structural comparison: the contract catches it
    [f] = compare_exchanges([old], [zero], config=cfg).findings
    assert (f.check, f.severity, f.where, f.path) == (
        "contract-violation",
        "breaking",
        "response.body",
        "usage.inputTokens",
    )
    stop = copy.deepcopy(old)
    stop.response.body.value["stopReason"] = "refused"
    # the contract closes stopReason: a new value is breaking, reported once (as enum-value-added)
    got = [(f.check, f.severity) for f in compare_exchanges([old], [stop], config=cfg).findings]
    assert got == [("enum-value-added", "breaking")]


def test_contract_adapter_tolerates_a_minimal_store(tmp_path, monkeypatch):
    import replaykit.drift.contracts as adapter

    class Store:
        def __init__(self, path):
            self.path = path

        def validate(self, exchange, *, cassette=None):
            return [
                {
                    "part": "event:metadata",
                    "path": "$[4].json.usage",
                    "message": "required field missing",
                    "expected": "present (required)",
                    "found": "missing",
                },
                {"part": "response", "path": "$.x", "message": "value not in enum"},
                {"part": "response", "path": "$.y", "message": "field", "severity": "warning"},
            ]

        def volatile_paths(self, operation):
            return {"response:$.output.message.content[*].text"}

    monkeypatch.setattr(adapter, "_import_store", lambda: Store)
    (tmp_path / "c").mkdir()
    report = compare_exchanges([b.converse()], [b.converse()], config=DriftConfig(contracts_dir=tmp_path / "c"))
    assert [(f.check, f.where, f.path, f.message) for f in report.findings] == [
        (
            "contract-violation",
            "event:metadata",
            "usage",
            "contract: required field missing: expected present (required), found missing",
        )
    ]


def test_ten_thousand_exchanges():
    # the scheduled run compares whole suites; this must stay linear (timing is measured outside the tests)
    base_old, base_new = b._noise_pair()
    old, new = [], []
    for i in range(10_000):
        # shallow copies share the (read-only) bodies: building the input stays cheap, comparing does not
        o, n = copy.copy(base_old[i % 5]), copy.copy(base_new[i % 5])
        o.index = n.index = i
        old.append(o)
        new.append(n)
    new[-5] = copy.deepcopy(new[-5])
    new[-5].response.body.value["usage"]["serverToolUsage"] = {}
    report = compare_exchanges(old, new)
    assert report.counts()["pairs"] == 10_000
    # 40 per cycle: the S3 listing's XML is compared element by element (its two ETags are two changes)
    assert report.counts()["value_changes"] == 2000 * 40
    assert [(f.check, f.new_index) for f in report.findings] == [("response-field-added", 9995)]


REPO_CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"


@pytest.mark.parametrize("profile_name", ["legacy-2024", "next-2027"])
def test_sandbox_profile_changes_are_each_reported(profile_name):
    # the committed contract suite is recorded with the default profile; a profile's listed changes applied to it
    # (by the sandbox's own code) must each come out of drift as the matching check
    sandbox = pytest.importorskip("replaykit.sandbox")
    if not REPO_CASSETTES.is_dir():
        pytest.skip("no committed cassettes")
    from replaykit.drift.compare import _Session
    from replaykit.drift.pair import load_cassette

    profile = sandbox.PROFILES[profile_name]
    session = _Session(DriftConfig(), "default", profile_name)
    for path in sorted(REPO_CASSETTES.rglob("*.yaml")):
        old = load_cassette(path)
        session.add_cassette(path.relative_to(REPO_CASSETTES).as_posix(), old, b.apply_profile(old, profile))
    report = session.finish()
    missing = [c for c in profile.changes if not b.profile_change_found(c, report.findings)]
    assert missing == []
    expected = {
        "field_removed": "breaking",
        "type_changed": "breaking",
        "field_added": "additive",
        "enum_value_added": "additive",
        "event_added": "additive",
    }
    for f in report.findings:
        assert f.severity == expected[next(k for k, v in b.PROFILE_CHECKS.items() if v == f.check)], f
