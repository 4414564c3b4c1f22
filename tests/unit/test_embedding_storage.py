"""Base64 embedding vectors are stored as numbers (readable, no entropy-scanner hits) and replay byte-exact."""

from __future__ import annotations

import base64
import random
import struct
from pathlib import Path

from replaykit.cassette import format as F
from replaykit.cassette.bodies import EMBEDDING_KEY, pack_embeddings, unpack_embeddings
from replaykit.exchange import Body, Exchange, Request, Response


def _vector(rng: random.Random, n: int) -> str:
    return base64.b64encode(struct.pack(f"<{n}f", *(rng.uniform(-1, 1) for _ in range(n)))).decode()


def test_round_trip_is_exact_and_stored_as_numbers(tmp_path: Path) -> None:
    rng = random.Random(5)
    body = {"object": "list", "data": [{"object": "embedding", "index": i, "embedding": _vector(rng, 64)}
                                       for i in range(3)], "model": "text-embedding-3-small"}
    packed = pack_embeddings(body)
    assert all(isinstance(d["embedding"][EMBEDDING_KEY], list) for d in packed["data"])
    assert unpack_embeddings(packed) == body

    req = Request("POST", "https://api.openai.com/v1/embeddings", {}, Body("json", {"input": ["a"]}))
    ex = Exchange(0, "openai.embeddings", req, Response(200, "OK", {}, Body("json", body, "compact")))
    path = tmp_path / "c.yaml"
    F.write_atomic(path, F.dump_document(F.make_document([ex], {}), path))
    text = path.read_text()
    assert body["data"][0]["embedding"] not in text
    assert F.load_exchanges(path)[0].response.body.value == body


def test_float_lists_and_non_vectors_are_left_alone() -> None:
    body = {"data": [{"embedding": [0.1, 0.2]}, {"embedding": "not base64 at all!!"}, {"embedding": "AAAA"}]}
    assert pack_embeddings(body) == body
    assert unpack_embeddings(body) == body
