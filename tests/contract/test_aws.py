"""The project's contract suite for the rest of AWS a gateway touches: a DynamoDB usage ledger, an STS identity
check, the Bedrock control plane, a SageMaker-hosted model and an SQS queue (the sandbox's AWS endpoint when
recording offline)."""

from __future__ import annotations

import json

TABLE = "replaykit-ledger"


def test_dynamodb_ledger(aws_client):
    ddb = aws_client("dynamodb")
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "tenant", "KeyType": "HASH"}, {"AttributeName": "ts", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "tenant", "AttributeType": "S"},
            {"AttributeName": "ts", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for ts, usd in ((1, "0.125"), (2, "0.5")):
        ddb.put_item(TableName=TABLE, Item={"tenant": {"S": "acme"}, "ts": {"N": str(ts)}, "usd": {"N": usd}})
    item = ddb.get_item(TableName=TABLE, Key={"tenant": {"S": "acme"}, "ts": {"N": "1"}})["Item"]
    assert item["usd"] == {"N": "0.125"}
    rows = ddb.query(TableName=TABLE, KeyConditionExpression="tenant = :t",
                     ExpressionAttributeValues={":t": {"S": "acme"}})["Items"]
    assert sum(float(r["usd"]["N"]) for r in rows) == 0.625
    assert TABLE in ddb.list_tables()["TableNames"]
    assert ddb.describe_limits()["AccountMaxWriteCapacityUnits"] > 0


def test_sts_caller_identity(aws_client):
    me = aws_client("sts").get_caller_identity()
    assert me["Account"].isdigit() and me["Arn"].startswith("arn:aws:")


def test_bedrock_model_availability(aws_client):
    models = aws_client("bedrock").list_foundation_models(byOutputModality="TEXT")["modelSummaries"]
    ids = {m["modelId"] for m in models}
    assert "anthropic.claude-3-haiku-20240307-v1:0" in ids


def test_sagemaker_self_hosted_model(aws_client):
    sm = aws_client("sagemaker-runtime")
    out = sm.invoke_endpoint(EndpointName="replaykit-echo", ContentType="application/json",
                             Body=json.dumps({"inputs": "ping"}))
    assert out["ContentType"] == "application/json" and json.loads(out["Body"].read())


def test_sqs_round_trip(aws_client):
    sqs = aws_client("sqs")
    url = sqs.create_queue(QueueName="replaykit-jobs")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="job-1")
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]["Body"] == "job-1"
