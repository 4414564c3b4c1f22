"""Operation identity for every botocore protocol, from requests real boto3 clients build and sign.

Each request is captured at botocore's ``before-send`` (signed, as it would go on the wire) and identified the
way the recorder and the matcher identify it: from method, URI, headers and body.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

from replaykit.errors import ConfigError
from replaykit.providers import Selectors, canonical_uri, identify, identify_request, selectors


class _Captured(Exception):  # noqa: N818 - control flow, not an error
    def __init__(self, request):
        self.request = request


def _capture(request, **_):
    raise _Captured(request)


def sent(service, operation, params=None, region="us-west-2", endpoint_url=None):
    """The signed request a real boto3 client sends for one call (never sent)."""
    client = boto3.session.Session(
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x" * 40, region_name=region
    ).client(service, endpoint_url=endpoint_url, config=Config(retries={"total_max_attempts": 1}))
    client.meta.events.register("before-send", _capture)
    with pytest.raises(_Captured) as caught:
        getattr(client, operation)(**(params or {}))
    return caught.value.request


def ident_of(request):
    return identify_request(request.method, request.url, dict(request.headers.items()), request.body)


@pytest.mark.parametrize(
    ("service", "call", "params", "operation"),
    [
        # json protocol: every operation is POST /, told apart by X-Amz-Target
        ("dynamodb", "list_tables", {}, "dynamodb.ListTables"),
        ("dynamodb", "describe_limits", {}, "dynamodb.DescribeLimits"),
        ("dynamodb", "put_item", {"TableName": "t", "Item": {"pk": {"S": "a"}}}, "dynamodb.PutItem"),
        ("dynamodb", "query", {"TableName": "t"}, "dynamodb.Query"),
        ("sqs", "send_message", {"QueueUrl": "https://sqs.us-west-2.amazonaws.com/1/q", "MessageBody": "x"},
         "sqs.SendMessage"),
        ("secretsmanager", "get_secret_value", {"SecretId": "s"}, "secretsmanager.GetSecretValue"),
        ("ssm", "get_parameter", {"Name": "p"}, "ssm.GetParameter"),
        # query protocol: Action= in the form body
        ("sts", "get_caller_identity", {}, "sts.GetCallerIdentity"),
        ("sts", "assume_role", {"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "ss"},
         "sts.AssumeRole"),
        ("iam", "list_users", {}, "iam.ListUsers"),
        # ec2 protocol
        ("ec2", "describe_instances", {}, "ec2.DescribeInstances"),
        # smithy-rpc-v2-cbor: /service/<Service>/operation/<Operation> (EventBridge v2 shares "events" signing)
        ("eventbridgev2", "create_event_bus", {"Name": "b"}, "eventbridgev2.CreateEventBus"),
        ("cloudwatch", "list_metrics", {}, "cloudwatch.ListMetrics"),
        # rest-json and rest-xml: method and URI template
        ("bedrock", "list_foundation_models", {}, "bedrock.ListFoundationModels"),
        ("bedrock", "get_foundation_model", {"modelIdentifier": "anthropic.claude-3-haiku-20240307-v1:0"},
         "bedrock.GetFoundationModel"),
        ("bedrock-runtime", "converse", {"modelId": "m", "messages": []}, "bedrock-runtime.Converse"),
        ("sagemaker-runtime", "invoke_endpoint", {"EndpointName": "e", "Body": b"{}"},
         "sagemaker-runtime.InvokeEndpoint"),
        ("s3", "list_buckets", {}, "s3.ListBuckets"),
        ("route53", "list_hosted_zones", {}, "route53.ListHostedZones"),
    ],
)
def test_every_protocol_identifies_from_what_boto3_sends(service, call, params, operation):
    assert ident_of(sent(service, call, params)).operation == operation


def test_global_sts_endpoint_identifies_like_the_regional_one():
    req = sent("sts", "get_caller_identity", endpoint_url="https://sts.amazonaws.com")
    assert ident_of(req).operation == "sts.GetCallerIdentity"


@pytest.mark.parametrize(
    "endpoint_url",
    ["http://127.0.0.1:4566", "https://dynamodb-fips.us-west-2.amazonaws.com", "https://vpce-1a2b.example.internal"],
)
def test_custom_fips_and_dual_stack_endpoints_identify_from_the_signature(endpoint_url):
    req = sent("dynamodb", "get_item", {"TableName": "t", "Key": {"pk": {"S": "a"}}}, endpoint_url=endpoint_url)
    assert ident_of(req).operation == "dynamodb.GetItem"


def test_dual_stack_host_identifies_by_its_endpoint_prefix():
    ident = identify("POST", "https://dynamodb.us-west-2.api.aws/", target="DynamoDB_20120810.GetItem")
    assert ident.operation == "dynamodb.GetItem"


def test_two_operations_with_identical_bodies_are_different_identities():
    a, b = sent("dynamodb", "list_tables"), sent("dynamodb", "describe_limits")
    assert a.body == b.body and a.url == b.url  # only the target header tells them apart
    assert ident_of(a).operation != ident_of(b).operation


@pytest.mark.parametrize(
    ("service", "call", "region", "host"),
    [
        ("dynamodb", "list_tables", "us-west-2", "dynamodb.us-west-2.amazonaws.com"),
        ("sts", "get_caller_identity", "us-east-1", "sts.us-east-1.amazonaws.com"),
        ("sagemaker-runtime", "invoke_endpoint", "eu-west-1", "runtime.sagemaker.eu-west-1.amazonaws.com"),
        ("bedrock", "list_foundation_models", "us-east-1", "bedrock.us-east-1.amazonaws.com"),
        ("bedrock-runtime", "converse", "us-west-2", "bedrock-runtime.us-west-2.amazonaws.com"),
        ("sqs", "list_queues", "ap-southeast-2", "sqs.ap-southeast-2.amazonaws.com"),
    ],
)
def test_local_endpoint_moves_to_the_host_boto3_uses_on_aws_for_the_signed_region(service, call, region, host):
    params = {
        "invoke_endpoint": {"EndpointName": "e", "Body": b"{}"},
        "converse": {"modelId": "m", "messages": []},
    }.get(call, {})
    local = sent(service, call, params, region=region, endpoint_url="http://127.0.0.1:5999")
    on_aws = sent(service, call, params, region=region)
    sel = selectors(local.url, dict(local.headers.items()), local.body)
    rewritten = canonical_uri(local.method, local.url, sel)
    assert rewritten.split("/")[2] == host == on_aws.url.split("/")[2]
    assert rewritten == on_aws.url


def test_path_style_s3_on_a_local_endpoint_becomes_virtual_hosted():
    local = sent("s3", "put_object", {"Bucket": "bkt", "Key": "a/b.txt", "Body": b"x"},
                 region="eu-west-1", endpoint_url="http://127.0.0.1:5999")
    rewritten = canonical_uri(local.method, local.url, selectors(local.url, dict(local.headers.items())))
    assert rewritten == "https://bkt.s3.eu-west-1.amazonaws.com/a/b.txt"


def test_unsigned_requests_keep_the_host_map():
    uri = canonical_uri("POST", "http://127.0.0.1:9/v1/chat", Selectors(), {"http://127.0.0.1:9/v1": "https://x/v1"})
    assert uri == "https://x/v1/chat"


def test_unknown_service_prefix_on_an_aws_host_is_an_error_naming_the_host():
    with pytest.raises(ConfigError, match="nosuchservice.us-east-1.amazonaws.com"):
        identify("GET", "https://nosuchservice.us-east-1.amazonaws.com/x")


def test_unidentifiable_operation_is_service_unknown_with_a_warning(caplog):
    ident = identify("POST", "https://dynamodb.eu-west-3.amazonaws.com/", target="DynamoDB_20120810.NoSuchOp")
    assert ident.operation == "dynamodb.unknown"
    assert "POST /" in caplog.text and "DynamoDB_20120810.NoSuchOp" in caplog.text


def test_selectors_read_presigned_scope_and_query_action():
    sel = selectors("https://x.local/?Action=GetCallerIdentity&X-Amz-Credential=AK%2F20240101%2Feu-west-1%2Fsts"
                    "%2Faws4_request", {})
    assert sel.action == "GetCallerIdentity" and sel.scope == "eu-west-1/sts"


def test_identify_is_cached_per_selector_tuple():
    identify.cache_clear()
    for _ in range(50):
        identify("POST", "https://dynamodb.us-west-2.amazonaws.com/", target="DynamoDB_20120810.Query")
    assert identify.cache_info().misses == 1 and identify.cache_info().hits == 49


def test_miss_on_an_unidentified_operation_says_how_it_was_matched(tmp_path):
    from replaykit import Config, NoMatchError, use_cassette

    path = tmp_path / "c.yaml"
    path.write_text(
        "version: 1\ninteractions:\n"
        "- request: {method: POST, uri: 'https://dynamodb.us-west-2.amazonaws.com/', "
        "headers: {X-Amz-Target: [DynamoDB_20120810.Future]}, body: {json: {a: 1}}}\n"
        "  response: {status: {code: 200, message: OK}, headers: {}, body: {json: {}}}\n"
    )
    import urllib3

    with pytest.raises(NoMatchError) as miss, use_cassette(path, "none", config=Config()):
        try:
            urllib3.PoolManager().request(
                "POST", "https://dynamodb.us-west-2.amazonaws.com/", body=b'{"a": 2}',
                headers={"X-Amz-Target": "DynamoDB_20120810.Future"},
            )
        except Exception:  # noqa: BLE001 - vcrpy raises its own error; the miss is reported on exit
            pass
    assert "dynamodb.unknown" in str(miss.value)
    assert "matched on method, path and body only" in str(miss.value)


def test_api_gateway_apis_are_the_users_own_http_not_aws_operations():
    assert identify("POST", "https://abc123.execute-api.us-east-1.amazonaws.com/prod/orders").operation == "http.POST"
    signed = Selectors(scope="us-east-1/execute-api")
    assert identify("GET", "https://api.example.test/prod/x", *signed).operation == "http.GET"
    assert canonical_uri("GET", "https://api.example.test/prod/x", signed) == "https://api.example.test/prod/x"


def test_account_labelled_hosts_identify_by_their_endpoint_prefix():
    uri = "https://123456789012.s3-control.us-west-2.amazonaws.com/v20180820/jobs"
    assert identify("GET", uri, scope="us-west-2/s3").provider == "s3control"
