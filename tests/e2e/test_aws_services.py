"""Outside-in: a throwaway project's tests call DynamoDB, STS, Bedrock, SageMaker Runtime and SQS through
``aws_client``, record once against the sandbox, then replay offline twice; the cassettes name every operation
at its AWS host in the client's region."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PYPROJECT = """
[tool.replaykit]
region = "us-west-2"
target = "sandbox"
"""

TESTS = '''
import json


def test_ledger(aws_client):
    ddb = aws_client("dynamodb")
    ddb.create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "tenant", "KeyType": "HASH"}, {"AttributeName": "ts", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "tenant", "AttributeType": "S"},
            {"AttributeName": "ts", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="ledger", Item={"tenant": {"S": "t1"}, "ts": {"N": "1"}, "usd": {"N": "0.25"}})
    ddb.put_item(TableName="ledger", Item={"tenant": {"S": "t1"}, "ts": {"N": "2"}, "usd": {"N": "0.5"}})
    got = ddb.get_item(TableName="ledger", Key={"tenant": {"S": "t1"}, "ts": {"N": "1"}})
    assert got["Item"]["usd"] == {"N": "0.25"}
    rows = ddb.query(
        TableName="ledger",
        KeyConditionExpression="tenant = :t",
        ExpressionAttributeValues={":t": {"S": "t1"}},
    )["Items"]
    assert sum(float(r["usd"]["N"]) for r in rows) == 0.75
    assert ddb.list_tables()["TableNames"] == ["ledger"]
    assert ddb.describe_limits()["TableMaxReadCapacityUnits"] > 0


def test_fresh_state_per_test(aws_client):
    # the table test_ledger created is gone: every recorded test starts from an empty sandbox
    assert aws_client("dynamodb").list_tables()["TableNames"] == []


def test_identity_and_models(aws_client):
    assert aws_client("sts").get_caller_identity()["Account"].isdigit()
    models = aws_client("bedrock").list_foundation_models(byProvider="anthropic")["modelSummaries"]
    assert any(m["modelId"].startswith("anthropic.") for m in models)


def test_self_hosted_model(aws_client):
    sm = aws_client("sagemaker-runtime", region_name="eu-west-1")
    out = sm.invoke_endpoint(EndpointName="echo", Body=json.dumps({"inputs": "hi"}), ContentType="application/json")
    assert json.loads(out["Body"].read())["input"] == {"inputs": "hi"}


def test_queue(aws_client):
    sqs = aws_client("sqs")
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="job-1")
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    assert msgs[0]["Body"] == "job-1"
'''


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "REPLAYKIT_", "PYTEST_"))}


def _pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", *args],
        cwd=root, env=_env(), capture_output=True, text=True, timeout=300,
    )


def _replaykit(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("replaykit")
    return subprocess.run([str(exe), *args], cwd=root, env=_env(), capture_output=True, text=True, timeout=120)


def _project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_gateway.py").write_text(TESTS)
    return tmp_path


def test_aws_services_record_against_the_sandbox_and_replay_offline(tmp_path):
    _project(tmp_path)

    recorded = _pytest(tmp_path, "--record-mode=once", "--replaykit-target=sandbox")
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    for _ in range(2):
        replayed = _pytest(tmp_path)
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        assert "5 passed" in replayed.stdout

    cassettes = tmp_path / "cassettes" / "test_gateway"
    seen = {}
    for path in sorted(cassettes.glob("*.yaml")):
        text = path.read_text()
        assert "127.0.0.1" not in text, path
        for item in yaml.safe_load(text)["interactions"]:
            seen.setdefault(item["operation"], set()).add(item["request"]["uri"].split("/")[2])
    assert seen == {
        "dynamodb.CreateTable": {"dynamodb.us-west-2.amazonaws.com"},
        "dynamodb.PutItem": {"dynamodb.us-west-2.amazonaws.com"},
        "dynamodb.GetItem": {"dynamodb.us-west-2.amazonaws.com"},
        "dynamodb.Query": {"dynamodb.us-west-2.amazonaws.com"},
        "dynamodb.ListTables": {"dynamodb.us-west-2.amazonaws.com"},
        "dynamodb.DescribeLimits": {"dynamodb.us-west-2.amazonaws.com"},
        "sts.GetCallerIdentity": {"sts.us-west-2.amazonaws.com"},
        "bedrock.ListFoundationModels": {"bedrock.us-west-2.amazonaws.com"},
        "sagemaker-runtime.InvokeEndpoint": {"runtime.sagemaker.eu-west-1.amazonaws.com"},
        "sqs.CreateQueue": {"sqs.us-west-2.amazonaws.com"},
        "sqs.SendMessage": {"sqs.us-west-2.amazonaws.com"},
        "sqs.ReceiveMessage": {"sqs.us-west-2.amazonaws.com"},
    }


def test_operations_with_identical_bodies_never_answer_each_other(tmp_path):
    # ListTables and DescribeLimits are both POST / with body {}: only X-Amz-Target tells them apart
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "tests").mkdir()
    test = tmp_path / "tests" / "test_order.py"
    test.write_text(
        "def test_order(aws_client):\n"
        "    ddb = aws_client('dynamodb')\n"
        "    assert 'TableNames' in ddb.list_tables()\n"
        "    assert 'AccountMaxReadCapacityUnits' in ddb.describe_limits()\n"
    )
    assert _pytest(tmp_path, "--record-mode=once").returncode == 0
    # swapped: each call still gets its own operation's response (before, each got the other's)
    test.write_text(
        "def test_order(aws_client):\n"
        "    ddb = aws_client('dynamodb')\n"
        "    assert 'AccountMaxReadCapacityUnits' in ddb.describe_limits()\n"
        "    assert 'TableNames' in ddb.list_tables()\n"
    )
    swapped = _pytest(tmp_path)
    assert swapped.returncode == 0, swapped.stdout
    # an operation the cassette does not hold misses, naming the operation sent and the closest one recorded
    (tmp_path / "cassettes" / "test_order" / "test_order.yaml").unlink()
    test.write_text("def test_order(aws_client):\n    aws_client('dynamodb').list_tables()\n")
    assert _pytest(tmp_path, "--record-mode=once").returncode == 0
    test.write_text("def test_order(aws_client):\n    aws_client('dynamodb').describe_limits()\n")
    result = _pytest(tmp_path)
    assert result.returncode == 1
    assert "no unplayed exchange for dynamodb.DescribeLimits" in result.stdout
    assert "operation: dynamodb.ListTables recorded, dynamodb.DescribeLimits sent" in result.stdout


@pytest.mark.skipif(not os.environ.get("REPLAYKIT_SLOW_TESTS"), reason="set REPLAYKIT_SLOW_TESTS=1 (records twice)")
def test_contracts_official_shapes_and_drift_work_per_operation(tmp_path):
    root = _project(tmp_path)
    assert _pytest(root, "--record-mode=once").returncode == 0
    updated = _pytest(root, "--replaykit-contracts=update")
    assert updated.returncode == 0, updated.stdout
    for name in ("dynamodb/PutItem", "dynamodb/Query", "dynamodb/ListTables", "dynamodb/DescribeLimits",
                 "sts/GetCallerIdentity", "bedrock/ListFoundationModels", "sagemaker-runtime/InvokeEndpoint",
                 "sqs/SendMessage", "sqs/ReceiveMessage"):
        assert (root / "contracts" / f"{name}.json").is_file(), name
    assert _pytest(root).returncode == 0  # replay checks every exchange against its own operation's contract

    official = _replaykit(root, "contracts", "official", "--operation", "dynamodb.Query")
    assert official.returncode == 0 and '"Items"' in official.stdout

    # re-recorded in the same session: paired by operation, no drift between the two recordings
    shutil.copytree(root / "cassettes", root / "before")
    assert _pytest(root, "--record-mode=all").returncode == 0
    drift = _replaykit(root, "drift", "before", "cassettes", "--format", "json", "--fail-on", "additive")
    assert drift.returncode == 0, drift.stdout + drift.stderr
