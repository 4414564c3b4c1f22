"""Operation identity per request stays O(1): S3, DynamoDB (json protocol) and STS (query protocol).

    .venv/bin/python benchmarks/identify.py            # N = 100 and 10,000
    .venv/bin/python benchmarks/identify.py --sizes 100,1000,10000

Each request is built from one real signed boto3 request per service (captured at ``before-send``, never sent),
then varied so every request differs: S3 GetObject of N different keys (N distinct URIs: every lookup misses
``identify``'s cache), DynamoDB PutItem of N different items and STS AssumeRole with N session names (one URI,
N bodies: the operation comes from ``X-Amz-Target`` / ``Action``, so after the first request identification is
a cache hit whatever the body). Timed: ``selectors`` (what the headers and the head of the body say) plus
``identify``, per request, in CPU time (the machine is shared), with identify's and the route lookup's caches
cleared before each run (botocore's models stay loaded: a one-off per process). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import boto3
from botocore.config import Config

from replaykit.providers import aws, identify, selectors


class _Captured(Exception):  # noqa: N818 - control flow
    def __init__(self, request: Any) -> None:
        self.request = request


def _signed(service: str, call: str, params: dict[str, Any]) -> Any:
    client = boto3.session.Session(
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x" * 40, region_name="us-west-2"
    ).client(service, config=Config(retries={"total_max_attempts": 1}))

    def capture(request: Any, **_: Any) -> None:
        raise _Captured(request)

    client.meta.events.register("before-send", capture)
    try:
        getattr(client, call)(**params)
    except _Captured as caught:
        return caught.request
    raise AssertionError("no request captured")


def workloads(n: int) -> dict[str, list[tuple[str, str, dict[str, str], bytes]]]:
    """N distinct (method, uri, headers, body) per service."""
    s3 = _signed("s3", "get_object", {"Bucket": "bkt", "Key": "k"})
    ddb = _signed("dynamodb", "put_item", {"TableName": "t", "Item": {"pk": {"S": "a"}}})
    sts = _signed("sts", "assume_role", {"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "ss"})
    out: dict[str, list[tuple[str, str, dict[str, str], bytes]]] = {
        "S3 GetObject": [],
        "DynamoDB PutItem": [],
        "STS AssumeRole": [],
    }
    for i in range(n):
        out["S3 GetObject"].append(("GET", s3.url.replace("/k", f"/data/{i}.json"), dict(s3.headers.items()), b""))
        item = json.dumps({"TableName": "t", "Item": {"pk": {"S": f"tenant-{i}"}, "usd": {"N": str(i)}}})
        out["DynamoDB PutItem"].append(("POST", ddb.url, dict(ddb.headers.items()), item.encode()))
        body = sts.body if isinstance(sts.body, bytes) else str(sts.body).encode()
        form = body.replace(b"RoleSessionName=ss", f"RoleSessionName=session-{i}".encode())
        out["STS AssumeRole"].append(("POST", sts.url, dict(sts.headers.items()), form))
    return out


def run(requests: list[tuple[str, str, dict[str, str], bytes]]) -> tuple[float, str]:
    identify.cache_clear()
    aws.operation_name.cache_clear()  # the route lookup's own cache: every S3 key is a first lookup
    ops = set()
    start = time.process_time()  # CPU time: other engineers' jobs on the machine do not count
    for method, uri, headers, body in requests:
        ops.add(identify(method, uri, *selectors(uri, headers, body)).operation)
    elapsed = time.process_time() - start
    assert len(ops) == 1, ops
    return elapsed, ops.pop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,10000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    # warm botocore's models and routes once: a one-off per process, not per request
    for reqs in workloads(2).values():
        run(reqs)
    rows = []
    for n in sizes:
        for name, reqs in workloads(n).items():
            best = min(run(reqs)[0] for _ in range(3))
            rows.append((name, run(reqs)[1], n, best * 1e3, best / n * 1e6))
    print("| workload | operation | N | total ms | µs / request |")
    print("|---|---|---:|---:|---:|")
    for name, op, n, total, per in rows:
        print(f"| {name} | {op} | {n:,} | {total:.1f} | {per:.1f} |")


if __name__ == "__main__":
    main()
