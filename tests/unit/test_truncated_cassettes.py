"""A committed cassette cut at any line boundary is a CassetteError naming the file, never a shorter replay."""

from __future__ import annotations

from pathlib import Path

import pytest

from replaykit.cassette import load_exchanges
from replaykit.cassette.format import END_KEY
from replaykit.errors import CassetteError

REPO = Path(__file__).resolve().parents[2]
COMMITTED = sorted((REPO / "cassettes").rglob("*.yaml"))


def test_committed_cassettes_end_with_the_end_key():
    assert COMMITTED
    for path in COMMITTED:
        assert path.read_text(encoding="utf-8").endswith(f"\n{END_KEY}: true\n"), path


def test_a_hand_edit_through_a_yaml_library_keeps_the_cassette_loadable(tmp_path):
    import yaml

    doc = yaml.safe_load(COMMITTED[0].read_text(encoding="utf-8"))
    doc["interactions"][0]["response"]["status"]["message"] = "OK (edited)"
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml.safe_dump(doc))  # sorted keys, comments gone: still complete
    assert load_exchanges(edited)[0].response.reason == "OK (edited)"


@pytest.mark.parametrize("source", COMMITTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_line_boundary_cut_is_a_cassette_error(source, tmp_path):
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    assert load_exchanges(source)  # the whole file loads
    target = tmp_path / source.name
    for cut in range(len(lines)):  # keep the first `cut` lines: 0 .. all but the trailer
        target.write_text("".join(lines[:cut]), encoding="utf-8")
        with pytest.raises(CassetteError) as info:
            load_exchanges(target)
        assert info.value.path == str(target), f"cut after line {cut}"


def _interaction(**response):
    return {"request": {"method": "POST", "uri": "https://api.openai.com/v1/embeddings", "body": {}},
            "response": response}


@pytest.mark.parametrize(
    ("response", "field"),
    [
        ({"headers": {}, "body": {"json": {}}}, "status"),
        ({"status": None, "headers": {}, "body": {"json": {}}}, "status"),
        ({"status": {"code": 200, "message": "OK"}, "headers": {}}, "body"),
        ({"status": {"code": 200, "message": "OK"}, "headers": {}, "body": None}, "body"),
    ],
)
def test_exchange_without_status_or_body_is_named(tmp_path, response, field):
    import json

    path = tmp_path / "c.json"
    path.write_text(json.dumps({"version": 1, "interactions": [_interaction(**response)]}))
    with pytest.raises(CassetteError) as info:
        load_exchanges(path)
    assert info.value.exchange_index == 0 and info.value.field == field
    assert str(path) in str(info.value) and "exchange #0" in str(info.value)
