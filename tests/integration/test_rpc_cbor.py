"""smithy-rpc-v2-cbor end to end: a real boto3 client of a CBOR-only service (EventBridge v2) against a local
CBOR server, recorded and replayed; the cassette stores both bodies as readable JSON and names the operation."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.config import Config as BotoConfig

from replaykit import Config, use_cassette
from replaykit.codecs import cbor


class _CborHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        sent = cbor.decode(self.rfile.read(int(self.headers["Content-Length"])))
        answer = {
            "EventBusArn": f"arn:aws:events:us-west-2:123456789012:event-bus/{sent['Name']}",
            "Name": sent["Name"],
            "State": "ACTIVE",
            "CreationTime": {"$epoch": 1767225600.5},
        }
        body = cbor.encode(answer)
        self.send_response(200)
        self.send_header("Content-Type", "application/cbor")
        self.send_header("smithy-protocol", "rpc-v2-cbor")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def cbor_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CborHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _client(endpoint: str | None) -> Any:
    return boto3.session.Session(
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x" * 40, region_name="us-west-2"
    ).client("eventbridgev2", endpoint_url=endpoint, config=BotoConfig(retries={"total_max_attempts": 1}))


def test_cbor_service_records_readably_and_replays(tmp_path: Path, cbor_server: str) -> None:
    path = tmp_path / "cbor.yaml"
    with use_cassette(path, "once", config=Config()):
        made = _client(cbor_server).create_event_bus(Name="ledger", ClientToken="t-1")
    assert made["State"] == "ACTIVE"

    doc = yaml.safe_load(path.read_text())
    (item,) = doc["interactions"]
    assert item["operation"] == "eventbridgev2.CreateEventBus"
    assert item["request"]["uri"].startswith("https://eventsv2.us-west-2.amazonaws.com/service/")
    assert item["request"]["body"] == {"json": {"Name": "ledger", "ClientToken": "t-1"}, "json_style": "cbor"}
    assert item["response"]["body"]["json"]["Name"] == "ledger"
    assert "127.0.0.1" not in path.read_text()

    with use_cassette(path, "none", config=Config()):
        again = _client(None).create_event_bus(Name="ledger", ClientToken="t-1")
    assert again["EventBusArn"] == made["EventBusArn"] and again["CreationTime"] == made["CreationTime"]


def test_codec_round_trips_what_botocore_writes() -> None:
    from botocore.serialize import create_serializer

    model = boto3.session.Session(region_name="us-west-2").client("eventbridgev2").meta.service_model
    op = model.operation_model("CreateEventBus")
    raw = create_serializer("smithy-rpc-v2-cbor").serialize_to_request(
        {"Name": "b", "Description": "ünïcode", "ClientToken": "x" * 40}, op)["body"]
    assert cbor.encode(cbor.decode(raw)) == raw
    assert cbor.decode(raw)["Description"] == "ünïcode"
    for value in ({"$float32": 1.5}, {"$bytes": "AAE="}, [1, -2, 3_000_000_000, None, True], {"$tag": 4, "value": [1]}):
        assert cbor.decode(cbor.encode(value)) == value
