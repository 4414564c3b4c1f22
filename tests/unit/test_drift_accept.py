"""``rerecord --accept`` keeps a committed cassette when only volatile values changed, and only then."""

from __future__ import annotations

import copy
from pathlib import Path

from replaykit.cassette import load_exchanges
from replaykit.drift.accept import accept_cassettes, only_volatile_changes

REPO = Path(__file__).resolve().parents[2]
TOOL_USE = REPO / "cassettes" / "test_bedrock" / "test_converse_tool_use_multi_turn.yaml"
S3 = REPO / "cassettes" / "test_s3" / "test_multipart_upload.yaml"


def _walk_replace(value, old, new):
    if isinstance(value, dict):
        return {k: _walk_replace(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk_replace(v, old, new) for v in value]
    return value.replace(old, new) if isinstance(value, str) else value


def test_new_ids_echoed_by_later_requests_keep_the_cassette():
    old = load_exchanges(TOOL_USE)
    tool_id = old[0].response.body.value["output"]["message"]["content"][-1]["toolUse"]["toolUseId"]
    new = copy.deepcopy(old)
    for ex in new:  # a fresh recording: the provider hands out another id and the test sends it back
        ex.response.body.value = _walk_replace(ex.response.body.value, tool_id, "tooluse_fresh")
        ex.request.body.value = _walk_replace(ex.request.body.value, tool_id, "tooluse_fresh")
        ex.response.body.value["usage"]["outputTokens"] += 1
    assert only_volatile_changes(old, new)


def test_a_changed_prompt_replaces_the_cassette():
    old = load_exchanges(TOOL_USE)
    new = copy.deepcopy(old)
    new[0].request.body.value["messages"][0]["content"][0]["text"] = "What's the weather in Rome?"
    assert not only_volatile_changes(old, new)  # text is volatile in responses, never in what the test sends


def test_a_structural_change_replaces_the_cassette():
    old = load_exchanges(TOOL_USE)
    new = copy.deepcopy(old)
    new[1].response.body.value["usage"]["serverToolUsage"] = {}
    assert not only_volatile_changes(old, new)
    assert not only_volatile_changes(old, new[:1])


def test_s3_upload_ids_and_etags_are_volatile():
    old = load_exchanges(S3)
    text = S3.read_text()
    ids = [ex.response.body.value for ex in old if ex.operation == "s3.CreateMultipartUpload"]
    assert ids and "<UploadId>" in ids[0]
    upload_id = ids[0].split("<UploadId>")[1].split("</UploadId>")[0]
    assert upload_id in text
    new = copy.deepcopy(old)
    for ex in new:
        ex.request.uri = ex.request.uri.replace(upload_id, "fresh-upload-id")
        if isinstance(ex.response.body.value, str):
            ex.response.body.value = ex.response.body.value.replace(upload_id, "fresh-upload-id")
    assert only_volatile_changes(old, new)


def test_accept_cassettes_copies_only_real_changes(tmp_path):
    committed, scratch = tmp_path / "cassettes", tmp_path / "scratch"
    for root in (committed, scratch):
        (root / "t").mkdir(parents=True)
    (committed / "t" / "same.yaml").write_bytes(TOOL_USE.read_bytes())
    (scratch / "t" / "same.yaml").write_bytes(TOOL_USE.read_bytes())
    (committed / "t" / "noise.yaml").write_bytes(TOOL_USE.read_bytes())
    (scratch / "t" / "noise.yaml").write_text(
        TOOL_USE.read_text().replace("recorded_at: '", "recorded_at: '1").replace("RequestId", "requestid")
    )
    (committed / "t" / "changed.yaml").write_bytes(TOOL_USE.read_bytes())
    (scratch / "t" / "changed.yaml").write_text(TOOL_USE.read_text().replace("weather in Paris", "weather in Rome"))
    (scratch / "t" / "added.yaml").write_bytes(S3.read_bytes())
    before = (committed / "t" / "noise.yaml").read_bytes()
    result = accept_cassettes(committed, scratch)
    assert (result.unchanged, result.kept, sorted(result.updated)) == (
        ["t/same.yaml"], ["t/noise.yaml"], ["t/added.yaml", "t/changed.yaml"])
    assert (committed / "t" / "noise.yaml").read_bytes() == before
    assert "weather in Rome" in (committed / "t" / "changed.yaml").read_text()
    assert not [p for p in committed.rglob("*") if ".rerecord-tmp" in p.name]
