"""S3 GetObject with ChecksumMode=ENABLED on objects holding a secret: recorded through boto3 against the sandbox
(moto), scrubbed, and replayed offline without ``FlexibleChecksumError``: every ``x-amz-checksum-*`` describes the
bytes the replay serves. Objects: plain text, a gzip file (application/gzip), and text stored with
``Content-Encoding: gzip`` (which boto3 hands over compressed, as S3 does)."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

import secret_samples
from replaykit.config import Config
from replaykit.recorder import use_cassette
from replaykit.scrub.scanner import scan_path

LEAK = secret_samples.sample_secret("github-token", random.Random(4))
AWS_KEY = secret_samples.sample_secret("aws-access-key-id", random.Random(5))
OBJECTS: dict[str, dict[str, Any]] = {
    "notes.txt": {"Body": f"deploy notes\ntoken {LEAK}\n".encode(), "ContentType": "text/plain",
                  "ChecksumAlgorithm": "SHA256"},
    "logs.json.gz": {"Body": gzip.compress(json.dumps({"event": "login", "key": AWS_KEY}).encode()),
                     "ContentType": "application/gzip", "ChecksumAlgorithm": "CRC32"},
    "page.html": {"Body": gzip.compress(f"<p>token {LEAK}</p>".encode()), "ContentType": "text/html",
                  "ContentEncoding": "gzip", "ChecksumAlgorithm": "CRC32"},
    "clean.txt": {"Body": b"nothing to hide\n", "ContentType": "text/plain", "ChecksumAlgorithm": "SHA1"},
}


def _s3(sbx: Any) -> Any:
    """A fresh client per cassette: urllib3 pools connections, and one opened under a cassette stays bound to it."""
    import boto3

    return boto3.client("s3", endpoint_url=sbx.s3, region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
                        aws_secret_access_key="sandbox-secret")


def _plain(key: str, data: bytes) -> str:
    return gzip.decompress(data).decode() if key.endswith((".gz", ".html")) else data.decode()


@pytest.fixture
def bucket(sbx_s3: Any) -> str:
    name = f"checksums-{random.randrange(10**8)}"
    sbx_s3.create_bucket(Bucket=name)
    for key, args in OBJECTS.items():
        sbx_s3.put_object(Bucket=name, Key=key, **args)
    return name


def test_get_object_with_checksum_mode_replays_scrubbed(tmp_path: Path, sbx: Any, bucket: str) -> None:
    path = tmp_path / "s3.yaml"
    with use_cassette(path, "once", config=Config(), target="sandbox"):
        live = {}
        for key in OBJECTS:
            got = _s3(sbx).get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
            live[key] = got["Body"].read()
    # vcrpy's urllib3 stub hands over the body decoded: replaykit compresses it again for the test that reads it
    # (the content is exact; a gzip header's mtime is not) and recomputes the checksums to match
    assert {k: _plain(k, v) for k, v in live.items()} == {k: _plain(k, v["Body"]) for k, v in OBJECTS.items()}
    assert live["logs.json.gz"] == OBJECTS["logs.json.gz"]["Body"]

    text = path.read_text()
    assert LEAK not in text and AWS_KEY not in text
    assert scan_path(path) == []  # nor inside the base64 of the gzip file
    doc = yaml.safe_load(text)
    checksummed = [
        name for ex in doc["interactions"] for name in ex["response"]["headers"] if name.startswith("x-amz-checksum-")
    ]
    assert {"x-amz-checksum-sha256", "x-amz-checksum-crc32", "x-amz-checksum-sha1"} <= set(
        checksummed
    )

    with use_cassette(path, "none", config=Config()):
        for key in OBJECTS:
            got = _s3(sbx).get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
            data = got["Body"].read()  # botocore checks the checksum as it reads: no FlexibleChecksumError
            assert got["ResponseMetadata"]["HTTPHeaders"].get("content-encoding") == OBJECTS[key].get(
                "ContentEncoding"
            )
            plain = _plain(key, data)
            assert LEAK not in plain and AWS_KEY not in plain
            if key == "clean.txt":
                assert data == OBJECTS[key]["Body"]
            else:
                assert "REDACTED" in plain or "AKIA_REDACTED" in plain


def test_a_gzip_file_uploaded_with_a_secret_is_scrubbed_inside(tmp_path: Path, sbx: Any, bucket: str) -> None:
    path = tmp_path / "put.yaml"
    payload = gzip.compress(f"line one\napi token {LEAK}\n".encode())
    with use_cassette(path, "once", config=Config(), target="sandbox"):
        _s3(sbx).put_object(Bucket=bucket, Key="upload.gz", Body=payload, ChecksumAlgorithm="SHA256")
    assert scan_path(path) == []
    stored = yaml.safe_load(path.read_text())["interactions"][0]["request"]
    data = __import__("base64").b64decode(stored["body"]["base64"])
    assert gzip.decompress(data).decode() == "line one\napi token REDACTED\n"  # still a valid gzip file
    with use_cassette(path, "none", config=Config()):
        _s3(sbx).put_object(Bucket=bucket, Key="upload.gz", Body=payload, ChecksumAlgorithm="SHA256")


def test_a_secret_in_part_of_a_gzip_file_refuses_the_write(tmp_path: Path, sbx: Any, bucket: str) -> None:
    from replaykit.errors import SecretFoundError

    rng = random.Random(7)
    text = f"api token {LEAK}\n" + "".join(f"{rng.random()}\n" for _ in range(20_000))
    payload = gzip.compress(text.encode())
    path = tmp_path / "multipart.yaml"
    with pytest.raises(SecretFoundError) as refused:
        with use_cassette(path, "once", config=Config(), target="sandbox"):
            client = _s3(sbx)
            upload = client.create_multipart_upload(Bucket=bucket, Key="big.gz")
            client.upload_part(
                Bucket=bucket, Key="big.gz", UploadId=upload["UploadId"], PartNumber=1,
                Body=payload[: len(payload) // 2],
            )
    # half a gzip file cannot be compressed back to the same bytes: the scanner reads it, the write is refused
    assert "<gzip,truncated>" in str(refused.value)
    assert LEAK not in str(refused.value)
    assert not path.exists()
