"""Wire forms of bodies: Content-Encoding layers, charsets, checksums, the cassette format that records them, and
the replay cache that re-encodes each body once."""

from __future__ import annotations

import base64
import codecs
import gzip
import hashlib
import zlib
from pathlib import Path

import brotli
import pytest

from replaykit.cassette import bodies
from replaykit.cassette.format import FORMAT, load_exchanges
from replaykit.cassette.persister import LazyResponse, RecordedRequest
from replaykit.codecs import charset, checksums, compression
from replaykit.errors import CassetteError
from replaykit.exchange import Body, Exchange, Request, Response

# ---- compression --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gzip", "x-gzip", "deflate", "br", "zstd", "gzip, gzip", "gzip, br", "br, zstd"])
def test_every_layer_stack_round_trips(encoding: str) -> None:
    data = b'{"text": "hello"}' * 50
    wire = compression.redo(data, encoding)
    assert wire != data
    assert compression.undo(wire, encoding) == data


def test_deflate_accepts_raw_deflate_as_some_servers_send_it() -> None:
    c = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    assert compression.undo(c.compress(b"plain") + c.flush(), "deflate") == b"plain"


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd", "deflate"])
def test_a_decompression_bomb_is_kept_as_sent(encoding: str) -> None:
    bomb = compression.redo(b"\0" * 2_000_000, encoding)
    assert compression.undo(bomb, encoding, limit=1_000_000) is None
    if encoding != "br":  # brotli has no signature: only a clean decode to text counts as brotli
        with pytest.raises(compression.TooLargeError):
            compression.unpack(bomb, limit=1_000_000)
    assert compression.salvage(bomb, limit=1_000_000) is None


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd"])
def test_a_bomb_body_is_stored_as_sent_with_its_header(monkeypatch: pytest.MonkeyPatch, encoding: str) -> None:
    bomb = compression.redo(b"\0" * 2_000_000, encoding)
    monkeypatch.setattr(compression, "MAX_DECOMPRESSED", 1_000_000)
    monkeypatch.setattr(compression.undo, "__defaults__", (1_000_000,))
    body, _ = bodies.decode_wire(bomb, "application/octet-stream", encoding)
    assert body.kind == "base64" and body.content_encoding is None
    assert bodies.encode_wire(body) == bomb


def test_unknown_or_damaged_layers_are_kept_as_sent() -> None:
    assert compression.undo(b"abc", "compress") is None
    assert compression.undo(b"\x1f\x8b\x08garbage", "gzip") is None
    assert compression.undo(gzip.compress(b"x")[:-4], "gzip") is None  # truncated


def test_salvage_reads_what_a_truncated_stream_holds() -> None:
    whole = gzip.compress(b"first line\n" + bytes(range(256)) * 400)
    assert compression.unpack(whole[: len(whole) // 2]) is None
    salvaged = compression.salvage(whole[: len(whole) // 2])
    assert salvaged is not None and salvaged[1].startswith(b"first line\n")


# ---- charsets -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "ctype", "codec", "bom"),
    [
        (codecs.BOM_UTF16_LE + "héllo".encode("utf-16-le"), "", "utf-16-le", True),
        (codecs.BOM_UTF16_BE + "héllo".encode("utf-16-be"), "", "utf-16-be", True),
        (codecs.BOM_UTF32_LE + "héllo".encode("utf-32-le"), "", "utf-32-le", True),
        (codecs.BOM_UTF8 + "héllo".encode(), "", "utf-8", True),
        ("hello".encode("utf-16-le"), "", "utf-16-le", False),  # sniffed from the NUL lanes
        ("hello".encode("utf-32-be"), "", "utf-32-be", False),
        ("héllo wörld".encode("utf-16-be"), "text/plain; charset=UTF-16BE", "utf-16-be", False),
        ("héllo wörld".encode("utf-16-be"), 'text/plain; charset="utf-16"', "utf-16-be", False),  # RFC 2781
    ],
)
def test_charsets_are_detected_and_re_encoded_byte_exact(raw: bytes, ctype: str, codec: str, bom: bool) -> None:
    found = charset.detect(raw, ctype)
    assert found is not None
    text, cs = found
    assert "llo" in text and cs == charset.Charset(codec, bom)
    assert cs.encode(text) == raw
    body, exact = bodies.decode_wire(raw, ctype or "text/plain")
    assert exact and (body.kind, body.charset, body.bom) == ("text", codec, bom)
    assert bodies.encode_wire(body) == raw


def test_binary_data_is_not_mistaken_for_utf16() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00"
    assert bodies.decode_wire(png, "image/png")[0].kind == "base64"
    assert charset.decode_text(png) is None


# ---- checksums ----------------------------------------------------------------------------------------------


def test_checksum_algorithms_match_their_check_values() -> None:
    data = b"123456789"
    assert checksums.crc32c(data).hex() == "e3069283"  # CRC-32C check value
    assert checksums.crc64nvme(data).hex() == "ae8b14860a799888"  # CRC-64/NVME check value
    assert checksums.checksum("crc32", data) == base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    assert checksums.checksum("sha256", data) == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert checksums.checksum("xxhash64", data) is None


def test_refresh_keeps_composite_checksums_and_unknown_ones_on_replay() -> None:
    headers = {
        "x-amz-checksum-crc32": ["AAAAAA==-3"],  # a multipart object's: botocore skips it
        "x-amz-checksum-xxhash64": ["abc="],
        "x-amz-checksum-type": ["COMPOSITE"],
    }
    assert checksums.refresh(headers, b"x", keep_unknown=True) == headers
    assert "x-amz-checksum-xxhash64" not in checksums.refresh(headers, b"x")


# ---- the cassette form, and the replay ---------------------------------------------------------------------


def _cassette(tmp_path: Path, fmt: int, body: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(
        f"""version: 1
replaykit:
  format: {fmt}
interactions:
- operation: openai.chat.completions
  request:
    method: POST
    uri: https://api.openai.com/v1/chat/completions
    headers: {{}}
    body: {{}}
  response:
    status: {{code: 200, message: OK}}
    headers:
      Content-Type: [application/json]
      Content-Encoding: [br]
    body: {body}
"""
    )
    return path


def test_format_2_is_written_and_both_formats_are_read(tmp_path: Path) -> None:
    assert FORMAT == 2
    new = load_exchanges(_cassette(tmp_path, 2, '{json: {a: 1}, content_encoding: br}'))[0]
    assert new.response.body == Body("json", {"a": 1}, content_encoding="br")
    old = load_exchanges(_cassette(tmp_path, 1, "{json: {a: 1}}"))[0]
    assert old.response.body == Body("json", {"a": 1})


def test_a_newer_format_is_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match="format 3 is not one this replaykit reads .1, 2.; upgrade replaykit"):
        load_exchanges(_cassette(tmp_path, 3, "{json: {a: 1}}"))


def test_replay_serves_the_recorded_layers_and_an_old_decoded_body_plain(tmp_path: Path) -> None:
    layered = load_exchanges(_cassette(tmp_path, 2, "{json: {a: 1}, content_encoding: br}"))[0]
    served = LazyResponse(layered)
    assert served["headers"]["Content-Encoding"] == ["br"]
    assert brotli.decompress(served["body"]["string"]) == b'{"a":1}'
    # a body stored decoded under its old header (another tool's cassette): served plain, without it
    plain = load_exchanges(_cassette(tmp_path, 1, "{json: {a: 1}}"))[0]
    served = LazyResponse(plain)
    assert not any(k.lower() == "content-encoding" for k in served["headers"])
    assert served["body"]["string"] == b'{"a":1}'


def test_a_replayed_body_is_compressed_once_however_often_it_plays(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = compression.redo
    monkeypatch.setattr(compression, "redo", lambda raw, enc: calls.append(enc) or real(raw, enc))
    body = Body("json", {"answer": "x" * 100}, content_encoding="gzip, br")
    ex = Exchange(
        0,
        "openai.chat.completions",
        Request("POST", "https://api.openai.com/v1/chat/completions", {}, Body("text", "q", content_encoding="gzip")),
        Response(200, "OK", {"Content-Type": ["application/json"], "x-amz-checksum-crc32": ["AAAAAA=="]}, body),
    )
    first = [LazyResponse(ex)["body"]["string"] for _ in range(5)]
    requests = [RecordedRequest(ex).body for _ in range(5)]
    assert calls == ["gzip, br", "gzip"]
    assert len(set(first)) == 1 and len(set(requests)) == 1
    assert gzip.decompress(brotli.decompress(first[0])) == b'{"answer":"' + b"x" * 100 + b'"}'
    headers = LazyResponse(ex)["headers"]
    assert headers["x-amz-checksum-crc32"] == [checksums.checksum("crc32", first[0])]
    assert headers["Content-Length"] == [str(len(first[0]))]


def test_urllib3_decoded_recordings_are_repaired_in_place() -> None:
    """vcrpy's urllib3 stub records ``response.data`` (decoded) under ``Content-Encoding: gzip``."""
    content = b"<p>hello</p>"
    original = gzip.compress(content, mtime=5)
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {"Content-Encoding": ["gzip"], "Content-Length": [str(len(original))],
                    "x-amz-checksum-crc32": [checksums.checksum("crc32", original)]},
        "body": {"string": content},
    }
    bodies.repair_recorded(response)
    wire = response["body"]["string"]
    assert gzip.decompress(wire) == content
    assert response["headers"]["Content-Length"] == [str(len(wire))]
    assert response["headers"]["x-amz-checksum-crc32"] == [checksums.checksum("crc32", wire)]
    again = dict(response)
    bodies.repair_recorded(again)  # compressed bytes are left alone
    assert again["body"]["string"] == wire


def test_a_bomb_inside_a_payload_is_neither_opened_nor_salvaged(monkeypatch: pytest.MonkeyPatch) -> None:
    from replaykit.scrub.sanitize import scrub_value
    from replaykit.scrub.scanner import scan_value

    monkeypatch.setattr(compression, "MAX_DECOMPRESSED", 1_000_000)
    monkeypatch.setattr(compression.unpack, "__defaults__", (1_000_000,))

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("a bomb was inflated a second way")

    monkeypatch.setattr(compression, "salvage", never)
    monkeypatch.setattr(compression, "embedded", never)
    bomb = gzip.compress(b"\0" * 3_000_000)
    doc = {"document": {"source": {"bytes": base64.b64encode(bomb).decode()}}}
    assert scan_value(doc) == []
    assert scrub_value(doc) == doc
