"""Fuzz the cassette loader: malformed input is a CassetteError naming the file, never another exception type."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replaykit.cassette import load_exchanges
from replaykit.errors import CassetteError

REPO = Path(__file__).resolve().parents[2]
SEED = (REPO / "cassettes" / "test_bedrock" / "test_converse_stream.yaml").read_bytes()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


def _load(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    try:
        for ex in load_exchanges(path):
            assert ex.operation
    except CassetteError as exc:
        assert exc.path == str(path)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, len(SEED)), flips=st.lists(st.tuples(st.integers(0, len(SEED) - 1), st.integers(0, 255)),
                                                     max_size=6))
def test_truncated_and_bit_flipped_cassettes(tmp_path, cut, flips):
    data = bytearray(SEED[:cut])
    for pos, byte in flips:
        if pos < len(data):
            data[pos] = byte
    _load(tmp_path, "c.yaml", bytes(data))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=json_values)
def test_arbitrary_documents(tmp_path, doc):
    _load(tmp_path, "c.json", json.dumps(doc).encode())


interaction = st.fixed_dictionaries(
    {"request": st.fixed_dictionaries({}, optional={"method": json_values, "uri": json_values, "body": json_values,
                                                    "headers": json_values}),
     "response": st.fixed_dictionaries({}, optional={"status": json_values, "headers": json_values,
                                                     "body": json_values})},
    optional={"operation": json_values})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(interaction, max_size=3), version=st.sampled_from([1, 1, 2, "1", None]))
def test_structurally_wrong_interactions(tmp_path, items, version):
    _load(tmp_path, "c.json", json.dumps({"version": version, "interactions": items}).encode())
