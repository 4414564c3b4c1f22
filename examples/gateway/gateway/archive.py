"""The S3 archive: every answer the gateway serves is stored as JSON under ``<tenant>/<request key>.json``."""

from __future__ import annotations

import asyncio
import json
from typing import Any


class S3Archive:
    """Writes answers to one bucket with a boto3 S3 client (run in a worker thread: boto3 blocks)."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    @staticmethod
    def key(tenant: str, request_key: str) -> str:
        """The object key of one answer."""
        return f"{tenant}/{request_key}.json"

    async def store(self, tenant: str, request_key: str, record: dict[str, Any]) -> str:
        """Store one answer; returns its key."""
        key = self.key(tenant, request_key)
        body = json.dumps(record, sort_keys=True, separators=(",", ":")).encode("utf-8")
        await asyncio.to_thread(
            self.s3.put_object, Bucket=self.bucket, Key=key, Body=body, ContentType="application/json"
        )
        return key

    async def load(self, tenant: str, request_key: str) -> dict[str, Any]:
        """Read an archived answer back."""
        out = await asyncio.to_thread(self.s3.get_object, Bucket=self.bucket, Key=self.key(tenant, request_key))
        return json.loads(out["Body"].read())
