"""The sandbox's S3 (moto's server), driven by a real boto3 client and presigned URLs over urllib."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from typing import Any

import boto3
import pytest

import replaykit.sandbox


@pytest.fixture
def bucket(sbx_s3: Any, request: pytest.FixtureRequest) -> str:
    name = "sbx-" + request.node.name.replace("_", "-")[:40].lower()
    sbx_s3.create_bucket(Bucket=name)
    return name


def test_put_get_head_list_delete(sbx_s3: Any, bucket: str) -> None:
    put = sbx_s3.put_object(Bucket=bucket, Key="a/one.txt", Body=b"hello", ContentType="text/plain",
                            Metadata={"owner": "tests"})
    assert put["ETag"] == '"5d41402abc4b2a76b9719d911017c592"'
    got = sbx_s3.get_object(Bucket=bucket, Key="a/one.txt")
    assert got["Body"].read() == b"hello" and got["Metadata"] == {"owner": "tests"}
    head = sbx_s3.head_object(Bucket=bucket, Key="a/one.txt")
    assert head["ContentLength"] == 5 and head["ContentType"] == "text/plain"
    sbx_s3.put_object(Bucket=bucket, Key="a/two.txt", Body=b"x")
    sbx_s3.put_object(Bucket=bucket, Key="b/three.txt", Body=b"x")
    listed = sbx_s3.list_objects_v2(Bucket=bucket, Prefix="a/")
    assert [o["Key"] for o in listed["Contents"]] == ["a/one.txt", "a/two.txt"] and listed["KeyCount"] == 2
    paged = sbx_s3.list_objects_v2(Bucket=bucket, MaxKeys=1)
    assert paged["IsTruncated"] and paged["NextContinuationToken"]
    sbx_s3.delete_object(Bucket=bucket, Key="a/one.txt")
    with pytest.raises(sbx_s3.exceptions.NoSuchKey):
        sbx_s3.get_object(Bucket=bucket, Key="a/one.txt")


def test_copy_and_multipart(sbx_s3: Any, bucket: str) -> None:
    sbx_s3.put_object(Bucket=bucket, Key="src", Body=b"copy me")
    sbx_s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert sbx_s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"copy me"
    upload = sbx_s3.create_multipart_upload(Bucket=bucket, Key="big")
    part1 = b"a" * (5 * 1024 * 1024)
    parts = []
    for number, data in ((1, part1), (2, b"tail")):
        etag = sbx_s3.upload_part(Bucket=bucket, Key="big", UploadId=upload["UploadId"], PartNumber=number,
                                  Body=data)["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    done = sbx_s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=upload["UploadId"],
                                            MultipartUpload={"Parts": parts})
    assert done["ETag"].endswith('-2"')
    assert sbx_s3.head_object(Bucket=bucket, Key="big")["ContentLength"] == len(part1) + 4


def test_presigned_get_and_put(sbx_s3: Any, bucket: str) -> None:
    put_url = sbx_s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "signed"}, ExpiresIn=60)
    # urllib would send a form content type, whose body moto's server (Flask) swallows as form fields
    req = urllib.request.Request(put_url, data=b"via presigned put", method="PUT",
                                 headers={"Content-Type": "application/octet-stream"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200
    get_url = sbx_s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "signed"}, ExpiresIn=60)
    with urllib.request.urlopen(get_url, timeout=10) as resp:
        assert resp.read() == b"via presigned put"


def test_state_is_reset_when_a_sandbox_starts() -> None:
    # in a fresh process: the session sandbox of this one shares moto's global state
    code = """
import boto3, replaykit.sandbox
def client(url):
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="A",
                        aws_secret_access_key="x")
with replaykit.sandbox.running() as first:
    client(first.s3).create_bucket(Bucket="left-over")
with replaykit.sandbox.running() as second:
    print(len(client(second.s3).list_buckets()["Buckets"]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"


def test_a_second_sandbox_does_not_wipe_a_running_one(sbx_s3: Any, bucket: str) -> None:
    sbx_s3.put_object(Bucket=bucket, Key="keep", Body=b"me")
    with replaykit.sandbox.running() as other:
        client = boto3.client("s3", endpoint_url=other.s3, region_name="us-east-1", aws_access_key_id="A",
                              aws_secret_access_key="x")
        assert bucket in [b["Name"] for b in client.list_buckets()["Buckets"]]
    assert sbx_s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"me"
