"""The project's S3 contract suite: real boto3 against moto's server when recording."""

from __future__ import annotations

import urllib.request

import httpx

BUCKET = "replaykit-contract"


def test_object_lifecycle(s3):
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="docs/hello.txt", Body=b"hello world", ContentType="text/plain",
                  Metadata={"owner": "contract-suite"})
    head = s3.head_object(Bucket=BUCKET, Key="docs/hello.txt")
    assert head["ContentLength"] == 11 and head["Metadata"] == {"owner": "contract-suite"}
    assert s3.get_object(Bucket=BUCKET, Key="docs/hello.txt")["Body"].read() == b"hello world"
    s3.copy_object(Bucket=BUCKET, Key="docs/copy.txt", CopySource={"Bucket": BUCKET, "Key": "docs/hello.txt"})
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="docs/")
    assert sorted(o["Key"] for o in listed["Contents"]) == ["docs/copy.txt", "docs/hello.txt"]
    s3.delete_object(Bucket=BUCKET, Key="docs/copy.txt")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="docs/")["Contents"]] == ["docs/hello.txt"]


def test_multipart_upload(s3):
    s3.create_bucket(Bucket=BUCKET + "-mp")
    upload = s3.create_multipart_upload(Bucket=BUCKET + "-mp", Key="big.bin")
    # one small part: only the last part may be under 5 MiB, and cassettes stay small
    part1 = b"multipart payload"
    parts = []
    for number, data in enumerate([part1], start=1):
        etag = s3.upload_part(Bucket=BUCKET + "-mp", Key="big.bin", UploadId=upload["UploadId"], PartNumber=number,
                              Body=data)["ETag"]
        parts.append({"ETag": etag, "PartNumber": number})
    s3.complete_multipart_upload(Bucket=BUCKET + "-mp", Key="big.bin", UploadId=upload["UploadId"],
                                 MultipartUpload={"Parts": parts})
    head = s3.head_object(Bucket=BUCKET + "-mp", Key="big.bin")
    assert head["ContentLength"] == len(part1)
    assert s3.get_object(Bucket=BUCKET + "-mp", Key="big.bin")["Body"].read() == part1


def test_presigned_get(s3):
    s3.create_bucket(Bucket=BUCKET + "-url")
    s3.put_object(Bucket=BUCKET + "-url", Key="shared.txt", Body=b"shared via url")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET + "-url", "Key": "shared.txt"},
                                    ExpiresIn=300)
    assert httpx.get(url).content == b"shared via url"
    with urllib.request.urlopen(url) as resp:  # noqa: S310 - the sandbox or a cassette, never the network in CI
        assert resp.read() == b"shared via url"
