"""``replaykit sandbox`` as a real subprocess, and the lifecycle of ``running()`` (ports freed, threads joined)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

import replaykit.sandbox
from replaykit.cli import main
from replaykit.errors import SandboxError


def _port(url: str) -> int:
    return int(urlsplit(url).port or 0)


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _start(*args: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen([sys.executable, "-m", "replaykit.cli", "sandbox", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line:
        proc.kill()
        raise AssertionError(f"no endpoints line; stderr: {proc.communicate()[1]}")
    return proc, json.loads(line)


def test_cli_serves_then_exits_cleanly_on_sigterm() -> None:
    proc, endpoints = _start("--profile", "legacy-2024")
    try:
        assert set(endpoints) == {"aws", "bedrock_runtime", "openai", "s3", "profile"}
        assert endpoints["profile"] == "legacy-2024"
        assert endpoints["openai"] == endpoints["bedrock_runtime"] + "/v1"
        client = boto3.client("bedrock-runtime", endpoint_url=endpoints["bedrock_runtime"], region_name="us-east-1",
                              aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x")
        resp = client.converse(modelId="amazon.nova-micro-v1:0",
                               messages=[{"role": "user", "content": [{"text": "hi"}]}])
        assert resp["stopReason"] == "end_turn" and "metrics" not in resp  # the legacy-2024 profile is active
        s3 = boto3.client("s3", endpoint_url=endpoints["s3"], region_name="us-east-1",
                          aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x")
        s3.create_bucket(Bucket="cli")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["cli"]
        ddb = boto3.client("dynamodb", endpoint_url=endpoints["aws"], region_name="us-west-2",
                           aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x")
        assert ddb.list_tables()["TableNames"] == []
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert out == ""  # exactly one line was printed, and it was read above
    assert _bindable(_port(endpoints["bedrock_runtime"])) and _bindable(_port(endpoints["s3"]))


def test_cli_explicit_port_and_sigint() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc, endpoints = _start("--port", str(port))
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=15)
    assert endpoints["bedrock_runtime"] == f"http://127.0.0.1:{port}" and endpoints["profile"] == "default"
    assert proc.returncode == 0 and _bindable(port)


def test_cli_unknown_profile_exits_2_with_one_line() -> None:
    proc = subprocess.run([sys.executable, "-m", "replaykit.cli", "sandbox", "--profile", "nope"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "default" in lines[0] and "legacy-2024" in lines[0] and "next-2027" in lines[0]


def test_cli_in_process_unknown_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "--profile", "nope"]) == 2
    assert "choose from" in capsys.readouterr().err


def test_running_is_reusable_fast_and_frees_everything() -> None:
    before = {t.ident for t in threading.enumerate()}
    for profile in ("default", "next-2027"):
        started = time.monotonic()
        with replaykit.sandbox.running(profile=profile) as ep:
            assert time.monotonic() - started < 1.5
            assert ep.profile == profile and ep.as_dict()["s3"] == ep.s3
            # clients that keep idle keep-alive connections open must not block or outlive shutdown
            s3 = boto3.client("s3", endpoint_url=ep.s3, region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
                              aws_secret_access_key="x")
            s3.list_buckets()
            idle = socket.create_connection(("127.0.0.1", _port(ep.bedrock_runtime)), timeout=2)
            ports = (_port(ep.bedrock_runtime), _port(ep.s3))
            stopping = time.monotonic()
        assert time.monotonic() - stopping < 1.0
        idle.close()
        assert all(_bindable(p) for p in ports)
    assert [t.name for t in threading.enumerate() if t.ident not in before and t.is_alive()] == []


def test_running_rejects_bad_profile_and_busy_port() -> None:
    with pytest.raises(SandboxError, match="choose from"):
        with replaykit.sandbox.running(profile="nope"):
            pass
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(SandboxError, match="cannot listen"):
            with replaykit.sandbox.running(port=busy.getsockname()[1]):
                pass
