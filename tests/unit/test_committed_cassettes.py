"""Committed cassettes are readable documents: no opaque base64 streams, no escaped JSON strings, no secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from replaykit.cassette import iter_cassettes, load_exchanges, read_document
from replaykit.scrub.scanner import scan_path

REPO = Path(__file__).resolve().parents[2]
CASSETTES = [p for root in ("cassettes", "examples/gateway/cassettes") for p in iter_cassettes(REPO / root)]


def test_the_contract_suite_is_committed():
    assert len(CASSETTES) >= 27


@pytest.mark.parametrize("path", CASSETTES, ids=lambda p: str(p.relative_to(REPO)))
def test_cassette_is_readable_and_clean(path):
    text = path.read_text()
    assert "!!binary" not in text and "!!python" not in text
    doc = read_document(path)
    assert doc["replaykit"]["target"] in ("sandbox", "live")
    for item in doc["interactions"]:
        for part in ("request", "response"):
            body = item[part]["body"]
            assert "string" not in body, f"{part} body stored as an opaque string"
    for ex in load_exchanges(path):
        ctype = ex.response.content_type
        if ctype == "application/vnd.amazon.eventstream":
            assert ex.response.body.kind == "eventstream"
        elif ctype == "text/event-stream":
            assert ex.response.body.kind == "sse"
        elif ctype == "application/json" and ex.provider != "s3":
            assert ex.response.body.kind in ("json", "empty")
        if ex.request.body.kind == "text" and ex.provider != "s3":
            assert not ex.request.body.value.lstrip().startswith(("{", "[")), "JSON request stored as text"
        assert "127.0.0.1" not in ex.request.uri
    assert scan_path(path) == []
