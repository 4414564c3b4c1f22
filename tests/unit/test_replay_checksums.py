"""Replayed bodies are re-encoded from their readable form, so every header that describes the bytes is recomputed:
Content-Length, and DynamoDB's ``x-amz-crc32``, which botocore verifies (a mismatch is retried, then fails)."""

from __future__ import annotations

import zlib

from replaykit.cassette.persister import LazyResponse
from replaykit.exchange import Body, Exchange, Request, Response


def test_dynamodb_crc32_describes_the_replayed_bytes():
    recorded_bytes = b'{"TableDescription": {"TableName": "t",   "ItemCount": 0}}'  # spacing a re-encode drops
    headers = {"Content-Type": ["application/x-amz-json-1.0"], "x-amz-crc32": [str(zlib.crc32(recorded_bytes))]}
    exchange = Exchange(
        0,
        "dynamodb.CreateTable",
        Request("POST", "https://dynamodb.us-east-1.amazonaws.com/"),
        Response(200, "OK", headers, Body("json", {"TableDescription": {"TableName": "t", "ItemCount": 0}})),
    )
    replayed = LazyResponse(exchange)
    raw = replayed["body"]["string"]
    assert raw != recorded_bytes
    assert replayed["headers"]["x-amz-crc32"] == [str(zlib.crc32(raw))]
    assert replayed["headers"]["Content-Length"] == [str(len(raw))]
