"""Compressed (br, zstd, stacked) and UTF-16/32 bodies: stored decoded, scrubbed, and re-encoded on replay.

A local server answers the real openai SDK (httpx2) and httpx with every Content-Encoding layering and text
charset; each is recorded with ``use_cassette(record_mode="once")`` and replayed with ``record_mode="none"``.
Before replaykit re-encoded them, a br or double-gzip recording replayed as raw compressed bytes without their
header, and the SDK failed with ``UnicodeDecodeError``.
"""

from __future__ import annotations

import codecs
import gzip
import json
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import brotli
import httpx
import openai
import pytest
import yaml

import secret_samples
from replaykit.config import Config
from replaykit.recorder import use_cassette

try:
    from compression import zstd  # type: ignore[import-not-found,unused-ignore]
except ImportError:
    from backports import zstd  # type: ignore[no-redef,import-not-found,unused-ignore]

LEAK = secret_samples.sample_secret("github-token", __import__("random").Random(13))
_DO = {
    "gzip": lambda b: gzip.compress(b, mtime=1234567),  # a server's gzip: mtime set, not replaykit's bytes
    "deflate": lambda b: zlib.compress(b, 9),
    "br": lambda b: brotli.compress(b, quality=11),
    "zstd": lambda b: zstd.compress(b, 19),
}
ENCODINGS = ["br", "zstd", "gzip, gzip", "gzip, br", "deflate", "br, zstd"]
CHARSETS = {
    "utf-16 bom": ("utf-16-le", codecs.BOM_UTF16_LE, "application/json"),
    "utf-16be no bom": ("utf-16-be", b"", "application/json; charset=utf-16be"),
    "utf-32 bom": ("utf-32-le", codecs.BOM_UTF32_LE, "application/json"),
    "utf-16le sniffed": ("utf-16-le", b"", "application/json"),
}


def _completion(text: str) -> dict[str, object]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}},
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


@pytest.fixture()
def server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            # /<kind>/<choice>/<secret?>/v1/chat/completions
            _, kind, choice, leak, *_ = self.path.split("/")
            text = f"hello via {choice}" + (f" token {LEAK}" if leak == "leak" else "")
            data = json.dumps(_completion(text), separators=(",", ":")).encode()  # as providers send it
            self.send_response(200)
            if kind == "enc":
                encoding = choice.replace("+", ", ")
                for layer in [e.strip() for e in encoding.split(",")]:
                    data = _DO[layer](data)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Encoding", encoding)
            else:
                codec, bom, ctype = CHARSETS[choice.replace("_", " ")]
                data = bom + data.decode().encode(codec)
                self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _chat(base: str) -> str:
    client = openai.OpenAI(base_url=base + "/v1", api_key="sk-test", max_retries=0)
    out = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    return out.choices[0].message.content or ""


def _stored_body(path: Path) -> dict[str, object]:
    doc = yaml.safe_load(path.read_text())
    return doc["interactions"][0]["response"]["body"]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_openai_sdk_replays_every_content_encoding(tmp_path: Path, server: str, encoding: str) -> None:
    path = tmp_path / "c.yaml"
    base = f"{server}/enc/{encoding.replace(', ', '+')}/clean"
    with use_cassette(path, "once", config=Config(), target="sandbox"):
        assert _chat(base) == f"hello via {encoding.replace(', ', '+')}"
    body = _stored_body(path)
    # readable (and so scanned and scrubbed), with the layers the replay must redo beside it
    assert body["json"]["choices"][0]["message"]["content"] == f"hello via {encoding.replace(', ', '+')}"
    assert body["content_encoding"] == encoding
    with use_cassette(path, "none", config=Config()):
        assert _chat(base) == f"hello via {encoding.replace(', ', '+')}"


@pytest.mark.parametrize("encoding", ["br", "gzip, gzip", "zstd"])
def test_replay_serves_the_recorded_layers(tmp_path: Path, server: str, encoding: str) -> None:
    path = tmp_path / "c.yaml"
    url = f"{server}/enc/{encoding.replace(', ', '+')}/clean/v1/chat/completions"
    with use_cassette(path, "once", config=Config(), target="sandbox"):
        live = httpx.post(url, json={"model": "m"})
    with use_cassette(path, "none", config=Config()):
        replayed = httpx.post(url, json={"model": "m"})
    assert replayed.headers["content-encoding"] == live.headers["content-encoding"] == encoding
    assert replayed.json() == live.json()
    # the bytes on the wire are compressed again (not necessarily as the server did): what they decode to is exact
    assert int(replayed.headers["content-length"]) == replayed.num_bytes_downloaded


@pytest.mark.parametrize("encoding", ["br", "gzip, br", "zstd"])
def test_a_secret_inside_a_compressed_response_is_scrubbed(tmp_path: Path, server: str, encoding: str) -> None:
    path = tmp_path / "c.yaml"
    base = f"{server}/enc/{encoding.replace(', ', '+')}/leak"
    with use_cassette(path, "once", config=Config(), target="sandbox"):
        assert LEAK in _chat(base)
    assert LEAK not in path.read_text()
    with use_cassette(path, "none", config=Config()):
        replayed = _chat(base)
    assert LEAK not in replayed and replayed.startswith("hello via")


@pytest.mark.parametrize("charset", sorted(CHARSETS))
def test_utf16_and_utf32_bodies_are_stored_readable_and_replay_byte_exact(
    tmp_path: Path, server: str, charset: str
) -> None:
    path = tmp_path / "c.yaml"
    url = f"{server}/cs/{charset.replace(' ', '_')}/clean/v1/chat/completions"
    with use_cassette(path, "once", config=Config(), target="sandbox"):
        live = httpx.post(url, json={"model": "m"})
    codec, bom, _ = CHARSETS[charset]
    body = _stored_body(path)
    assert body["json"]["choices"][0]["message"]["content"] == f"hello via {charset.replace(' ', '_')}"
    assert body["charset"] == codec and body.get("bom", False) == bool(bom)
    with use_cassette(path, "none", config=Config()):
        replayed = httpx.post(url, json={"model": "m"})
    assert replayed.content == live.content  # nothing scrubbed: the very bytes the server sent


@pytest.mark.parametrize("charset", ["utf-16 bom", "utf-16le sniffed"])
def test_a_secret_inside_utf16_is_scrubbed(tmp_path: Path, server: str, charset: str) -> None:
    path = tmp_path / "c.yaml"
    url = f"{server}/cs/{charset.replace(' ', '_')}/leak/v1/chat/completions"
    codec, bom, _ = CHARSETS[charset]

    def text(resp: httpx.Response) -> str:
        assert resp.content.startswith(bom)
        return resp.content[len(bom) :].decode(codec)

    with use_cassette(path, "once", config=Config(), target="sandbox"):
        assert LEAK in text(httpx.post(url, json={"model": "m"}))
    assert LEAK not in path.read_text()
    with use_cassette(path, "none", config=Config()):
        replayed = text(httpx.post(url, json={"model": "m"}))
    assert LEAK not in replayed and "REDACTED" in replayed
