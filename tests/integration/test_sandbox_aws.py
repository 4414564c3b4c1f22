"""The sandbox's one AWS endpoint with real boto3 clients: moto's services, Bedrock's control plane and
SageMaker Runtime routed by the SigV4 scope, and a reset that empties every service."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.config import Config


def client(sbx: Any, service: str, region: str = "us-west-2", profile: str | None = None) -> Any:
    c = boto3.client(service, endpoint_url=sbx.aws, region_name=region, aws_access_key_id="AKIDEXAMPLE",
                     aws_secret_access_key="sandbox-secret", config=Config(retries={"total_max_attempts": 1}))
    if profile:
        c.meta.events.register("before-sign", lambda request, **_: request.headers.add_header(
            "x-replaykit-sandbox-profile", profile))
    return c


def test_moto_services_answer_on_the_aws_endpoint(sbx: Any) -> None:
    ddb = client(sbx, "dynamodb")
    ddb.create_table(TableName="aws-t", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName="aws-t", Item={"k": {"S": "a"}})
    assert ddb.get_item(TableName="aws-t", Key={"k": {"S": "a"}})["Item"] == {"k": {"S": "a"}}
    assert client(sbx, "sts").get_caller_identity()["Account"] == "123456789012"
    sm = client(sbx, "secretsmanager")
    sm.create_secret(Name="db", SecretString="pw")
    assert sm.get_secret_value(SecretId="db")["SecretString"] == "pw"
    ssm = client(sbx, "ssm")
    ssm.put_parameter(Name="/gw/mode", Value="fast", Type="String")
    assert ssm.get_parameter(Name="/gw/mode")["Parameter"]["Value"] == "fast"
    url = client(sbx, "sqs").create_queue(QueueName="aws-q")["QueueUrl"]
    assert url.startswith("https://sqs.us-west-2.amazonaws.com/")  # the URL AWS would give, not 127.0.0.1


def test_reset_empties_every_service(sbx: Any) -> None:
    ddb = client(sbx, "dynamodb", region="eu-west-1")
    ddb.create_table(TableName="gone", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    with urllib.request.urlopen(urllib.request.Request(sbx.aws + "/moto-api/reset", method="POST")) as resp:
        assert resp.status == 200
    assert ddb.list_tables()["TableNames"] == []


def test_bedrock_control_plane_lists_the_catalogue(sbx: Any) -> None:
    bedrock = client(sbx, "bedrock", region="eu-central-1")
    models = bedrock.list_foundation_models()["modelSummaries"]
    ids = {m["modelId"] for m in models}
    assert {"anthropic.claude-3-haiku-20240307-v1:0", "amazon.nova-micro-v1:0"} <= ids
    assert all(m["modelArn"].startswith("arn:aws:bedrock:eu-central-1::foundation-model/") for m in models)
    embed = bedrock.list_foundation_models(byOutputModality="EMBEDDING")["modelSummaries"]
    assert embed and all(m["outputModalities"] == ["EMBEDDING"] for m in embed)
    got = bedrock.get_foundation_model(modelIdentifier="amazon.nova-micro-v1:0")["modelDetails"]
    assert got["modelName"] == "Nova Micro"
    with pytest.raises(bedrock.exceptions.ResourceNotFoundException):
        bedrock.get_foundation_model(modelIdentifier="acme.no-such-model")


def test_bedrock_control_plane_follows_the_profile(sbx: Any) -> None:
    legacy = client(sbx, "bedrock", profile="legacy-2024").list_foundation_models()["modelSummaries"]
    assert all("modelLifecycle" not in m for m in legacy)
    today = client(sbx, "bedrock").list_foundation_models()["modelSummaries"]
    assert all("modelLifecycle" in m for m in today)


def test_sagemaker_runtime_echoes_and_raises_modeled_errors(sbx: Any) -> None:
    sm = client(sbx, "sagemaker-runtime", region="eu-west-1")
    out = sm.invoke_endpoint(EndpointName="llm", Body=json.dumps({"inputs": "hi"}), ContentType="application/json")
    assert json.loads(out["Body"].read()) == {
        "endpoint": "llm", "variant": "AllTraffic", "input": {"inputs": "hi"}, "contentType": "application/json"}
    assert out["InvokedProductionVariant"] == "AllTraffic"
    with pytest.raises(sm.exceptions.ModelError) as err:
        sm.invoke_endpoint(EndpointName="sandbox-error-ModelError", Body=b"{}")
    assert err.value.response["OriginalStatusCode"] == 500
    with pytest.raises(sm.exceptions.ModelNotReadyException):
        sm.invoke_endpoint(EndpointName="sandbox-error-ModelNotReadyException", Body=b"{}")


def test_bedrock_runtime_answers_on_the_aws_endpoint_too(sbx: Any) -> None:
    br = client(sbx, "bedrock-runtime", region="us-east-1")
    out = br.converse(modelId="amazon.nova-micro-v1:0", messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert out["output"]["message"]["content"][0]["text"]
