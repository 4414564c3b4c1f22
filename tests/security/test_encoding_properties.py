"""Property tests: secrets of every family planted inside bodies under every encoding replaykit opens, in requests
and responses, go through the real record path (the request hook, ``exchange_from_vcr`` + ``scrub_exchange`` and
the persister's scan and write) and survive nowhere: not in the file, not in what a replay serves once its layers
are undone by the test itself. Clean bodies replay the same content (byte for byte, layers undone): precision.

Encodings: Content-Encoding gzip, deflate, br, zstd and stacks of them; UTF-16/32 text with and without a BOM
(``charset=`` or sniffed); base64 payloads in JSON that hold gzip, zlib, raw deflate, brotli, zstd or a docx.
"""

from __future__ import annotations

import base64
import codecs
import gzip
import io
import json
import random
import zipfile
import zlib
from pathlib import Path
from typing import Any

import brotli
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vcr.request import Request as VcrRequest

import secret_samples
from replaykit.cassette.persister import ReplaykitPersister
from replaykit.scrub import patterns as P
from replaykit.scrub.sanitize import scrub_request
from replaykit.scrub.scanner import scan_path

try:
    from compression import zstd  # type: ignore[import-not-found,unused-ignore]
except ImportError:
    from backports import zstd  # type: ignore[no-redef,import-not-found,unused-ignore]

LIVE_RULES = [r.id for r in P.RULES if r.id not in ("high-entropy-header", "detect-secrets")]
URI = "https://api.openai.com/v1/chat/completions"


def _raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


def _docx(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("word/document.xml", b"<w:document><w:t>" + data + b"</w:t></w:document>")
    return out.getvalue()


def _undocx(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read("word/document.xml").split(b"<w:t>", 1)[1].rsplit(b"</w:t>", 1)[0]


LAYER = {
    "gzip": (lambda b: gzip.compress(b, mtime=1_700_000_000), gzip.decompress),
    "deflate": (lambda b: zlib.compress(b, 9), zlib.decompress),
    "br": (lambda b: brotli.compress(b, quality=11), brotli.decompress),
    "zstd": (lambda b: zstd.compress(b, 19), zstd.decompress),
}
PAYLOAD = {
    "gzip": LAYER["gzip"],
    "zlib": LAYER["deflate"],
    "raw-deflate": (_raw_deflate, lambda b: zlib.decompress(b, -zlib.MAX_WBITS)),
    "br": LAYER["br"],
    "zstd": LAYER["zstd"],
    "docx": (_docx, _undocx),
}
CHARSET = {  # name: (codec, BOM, Content-Type charset parameter)
    "utf-16le+bom": ("utf-16-le", codecs.BOM_UTF16_LE, ""),
    "utf-16be+bom": ("utf-16-be", codecs.BOM_UTF16_BE, ""),
    "utf-16be": ("utf-16-be", b"", "; charset=utf-16be"),
    "utf-16le sniffed": ("utf-16-le", b"", ""),
    "utf-32le+bom": ("utf-32-le", codecs.BOM_UTF32_LE, ""),
    "utf-32be": ("utf-32-be", b"", "; charset=utf-32be"),
    "utf-8+bom": ("utf-8", codecs.BOM_UTF8, ""),
}
ENCODINGS = (
    [f"ce:{e}" for e in ("gzip", "deflate", "br", "zstd", "gzip, gzip", "gzip, br", "br, zstd", "deflate, gzip")]
    + [f"cs:{c}" for c in CHARSET]
    + [f"b64:{p}" for p in PAYLOAD]
)
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                            HealthCheck.function_scoped_fixture])


def _wire(encoding: str, text: str, as_json: bool) -> tuple[bytes, dict[str, list[str]]]:
    """The body bytes and headers a client or server would send for ``text`` under ``encoding``."""
    kind, _, name = encoding.partition(":")
    ctype = "application/json" if as_json else "text/plain"
    if kind == "b64":
        payload = PAYLOAD[name][0](text.encode())
        doc = {"messages": [{"role": "user", "content": [
            {"document": {"format": "docx", "name": "notes", "source": {"bytes": base64.b64encode(payload).decode()}}}
        ]}]}
        return json.dumps(doc, separators=(",", ":")).encode(), {"Content-Type": ["application/json"]}
    doc_text = json.dumps({"note": text, "n": 1}, separators=(",", ":"), ensure_ascii=False)
    content = (doc_text if as_json else text).encode()
    if kind == "cs":
        codec, bom, param = CHARSET[name]
        return bom + content.decode().encode(codec), {"Content-Type": [ctype + param]}
    data = content
    for layer in [e.strip() for e in name.split(",")]:
        data = LAYER[layer][0](data)
    return data, {"Content-Type": [ctype], "Content-Encoding": [name]}


def _reveal(encoding: str, data: bytes, headers: dict[str, Any]) -> str:
    """What a reader gets out of replayed bytes, every layer undone by the test (not by replaykit's codecs)."""
    kind, _, name = encoding.partition(":")
    if kind == "ce":
        served = next(v for k, v in headers.items() if k.lower() == "content-encoding")
        served = served[0] if isinstance(served, list) else served
        assert [e.strip() for e in served.split(",")] == [e.strip() for e in name.split(",")]
        for layer in reversed([e.strip() for e in name.split(",")]):
            data = LAYER[layer][1](data)
        return data.decode()
    if kind == "cs":
        codec, bom, _ = CHARSET[name]
        assert data.startswith(bom)
        return data[len(bom) :].decode(codec)
    doc = json.loads(data)
    payload = base64.b64decode(doc["messages"][0]["content"][0]["document"]["source"]["bytes"])
    return PAYLOAD[name][1](payload).decode()


def _record(tmp: Path, side: str, encoding: str, text: str, as_json: bool) -> tuple[Path, bytes, dict[str, Any]]:
    """Record one exchange through the persister; (cassette, replayed bytes of ``side``, their headers)."""
    data, headers = _wire(encoding, text, as_json)
    plain = json.dumps({"id": "chatcmpl-1", "object": "chat.completion"}).encode()
    if side == "request":
        request = VcrRequest("POST", URI, data, {k: v[0] for k, v in headers.items()})
        response = {"status": {"code": 200, "message": "OK"}, "headers": {"Content-Type": ["application/json"]},
                    "body": {"string": plain}}
    else:
        request = VcrRequest("POST", URI, plain, {"Content-Type": "application/json"})
        response = {"status": {"code": 200, "message": "OK"}, "headers": dict(headers), "body": {"string": data}}
    path = tmp / f"c{random.randrange(10**9)}.yaml"
    persister = ReplaykitPersister()
    persister.save_cassette(path, {"requests": [scrub_request(request)], "responses": [response]})
    requests, responses = persister.load_cassette(path)
    if side == "request":
        return path, requests[0].body, dict(requests[0].headers)
    return path, responses[0]["body"]["string"], responses[0]["headers"]


_rngs = st.integers(0, 2**64 - 1).map(random.Random)


@SETTINGS
@given(rule=st.sampled_from(LIVE_RULES), rng=_rngs, encoding=st.sampled_from(ENCODINGS),
       side=st.sampled_from(["request", "response"]), as_json=st.booleans())
def test_no_planted_secret_survives_any_encoding(
    tmp_path: Path, rule: str, rng: random.Random, encoding: str, side: str, as_json: bool
) -> None:
    secret = secret_samples.sample_secret(rule, rng)
    core = secret.split("-----")[2].strip() if rule == "private-key" else secret
    text = f"notes for the deploy\n{secret_samples.sample_in_context(rule, secret)}\nend of notes"
    path, replayed, headers = _record(tmp_path, side, encoding, text, as_json)
    written = path.read_text()
    assert core not in written
    assert scan_path(path) == []
    revealed = _reveal(encoding, replayed, headers)
    assert core not in revealed
    assert "notes for the deploy" in revealed and "end of notes" in revealed  # scrubbed, not dropped


CLEAN = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=200)


@SETTINGS
@given(words=CLEAN, encoding=st.sampled_from(ENCODINGS), side=st.sampled_from(["request", "response"]),
       as_json=st.booleans())
def test_clean_bodies_replay_their_content_unchanged(
    tmp_path: Path, words: str, encoding: str, side: str, as_json: bool
) -> None:
    text = f"weather in Paris: {words} thanks"
    if P.secret_spans(text):
        return  # hypothesis drew something shaped like a key: not a clean body
    data, _ = _wire(encoding, text, as_json)
    path, replayed, headers = _record(tmp_path, side, encoding, text, as_json)
    revealed = _reveal(encoding, replayed, headers)
    if as_json and not encoding.startswith("b64:"):
        assert json.loads(revealed) == {"note": text, "n": 1}
    else:
        assert revealed == text
    if encoding.startswith(("cs:", "b64:")):
        assert replayed == data  # a charset, or a payload inside JSON, replays the very bytes recorded


def test_the_layers_are_stored_readable(tmp_path: Path) -> None:
    path, _, _ = _record(tmp_path, "response", "ce:gzip, br", "plain words", True)
    written = path.read_text()
    assert "plain words" in written and "content_encoding: gzip, br" in written
    path, _, _ = _record(tmp_path, "response", "cs:utf-16le+bom", "plain words", False)
    written = path.read_text()
    assert "text: plain words" in written and "charset: utf-16-le" in written and "bom: true" in written


@pytest.mark.parametrize("encoding", ["ce:br", "cs:utf-16le sniffed", "b64:docx"])
def test_a_planted_secret_is_found_by_the_scanner_when_not_scrubbed(tmp_path: Path, encoding: str) -> None:
    """The scanner reads the same layers on its own (the second line of defence, and `replaykit scan`)."""
    from replaykit.scrub.scanner import scan_cassette_data

    secret = secret_samples.sample_secret("github-token", random.Random(3))
    data, headers = _wire(encoding, f"token {secret}", False)
    doc = {"interactions": [{"response": {"headers": headers, "body": {"base64": base64.b64encode(data).decode()}}}]}
    if encoding.startswith("ce:"):  # what a plain vcrpy cassette holds: the compressed bytes, as base64
        data = brotli.decompress(data)
        doc["interactions"][0]["response"]["body"] = {"base64": base64.b64encode(brotli.compress(data)).decode()}
    findings = scan_cassette_data(doc)
    assert [f.rule for f in findings] == ["github-token"]
