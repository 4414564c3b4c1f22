"""The boto3 fast path's reading of botocore's request headers."""

from __future__ import annotations

from botocore.awsrequest import AWSRequest

from replaykit.cassette._botocore import _header_items


def test_header_pairs_of_a_botocore_request_are_its_items_in_order() -> None:
    request = AWSRequest("GET", "https://b.s3.amazonaws.com/k", headers={"X-Amz-Date": "1", "Authorization": "a"})
    prepared = request.prepare()
    prepared.headers["User-Agent"] = b"Boto3/1"
    prepared.headers["x-amz-date"] = "2"  # same name in another case: replaces the value, keeps the first spelling
    assert list(_header_items(prepared.headers)) == list(prepared.headers.items())
    assert list(_header_items(prepared.headers))[0] == ("X-Amz-Date", "2")
    # any other mapping: its own items
    assert list(_header_items({"A": "1"})) == [("A", "1")]
