"""Operation names derived from botocore's service model and the OpenAI endpoint paths."""

from __future__ import annotations

import pytest

from replaykit.providers import identify, rewrite_to_canonical

BR = "https://bedrock-runtime.us-east-1.amazonaws.com"


@pytest.mark.parametrize(
    ("method", "uri", "operation"),
    [
        ("POST", f"{BR}/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", "bedrock-runtime.Converse"),
        ("POST", f"{BR}/model/x/converse-stream", "bedrock-runtime.ConverseStream"),
        ("POST", f"{BR}/model/x/invoke", "bedrock-runtime.InvokeModel"),
        ("POST", f"{BR}/model/x/invoke-with-response-stream", "bedrock-runtime.InvokeModelWithResponseStream"),
        ("POST", f"{BR}/model/x/count-tokens", "bedrock-runtime.CountTokens"),
        ("GET", "https://b.s3.amazonaws.com/?list-type=2&prefix=a", "s3.ListObjectsV2"),
        ("GET", "https://b.s3.eu-west-1.amazonaws.com/k/e/y.txt", "s3.GetObject"),
        ("PUT", "https://b.s3.amazonaws.com/k", "s3.PutObject"),
        ("HEAD", "https://b.s3.amazonaws.com/k", "s3.HeadObject"),
        ("POST", "https://b.s3.amazonaws.com/k?uploads", "s3.CreateMultipartUpload"),
        ("PUT", "https://b.s3.amazonaws.com/k?partNumber=1&uploadId=u", "s3.UploadPart"),
        ("POST", "https://b.s3.amazonaws.com/k?uploadId=u", "s3.CompleteMultipartUpload"),
        ("DELETE", "https://b.s3.amazonaws.com/k", "s3.DeleteObject"),
        ("PUT", "https://s3.amazonaws.com/b", "s3.CreateBucket"),
        ("POST", "https://api.openai.com/v1/chat/completions", "openai.chat.completions"),
        ("POST", "https://api.openai.com/v1/embeddings", "openai.embeddings"),
        ("POST", "https://api.openai.com/v1/responses", "openai.responses"),
        ("GET", "https://api.openai.com/v1/models", "openai.models.list"),
        ("GET", "https://api.openai.com/v1/models/gpt-4o-mini", "openai.models.retrieve"),
        ("GET", "https://example.com/x", "http.GET"),
    ],
)
def test_operation_names(method, uri, operation):
    assert identify(method, uri).operation == operation


def test_copy_source_header_selects_copy_object():
    assert identify("PUT", "https://b.s3.amazonaws.com/k", True).operation == "s3.CopyObject"


def test_model_id_label_is_unquoted_and_account_scrubbed():
    uri = f"{BR}/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.x/converse"
    ident = identify("POST", uri)
    assert ident.operation == "bedrock-runtime.Converse"
    assert ident.path == "/model/arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.x/converse"


def test_path_and_virtual_host_styles_are_one_key():
    assert identify("GET", "https://b.s3.amazonaws.com/k").path == identify("GET", "https://s3.amazonaws.com/b/k").path


def test_presigned_query_is_not_part_of_identity():
    a = identify("GET", "https://b.s3.amazonaws.com/k?X-Amz-Signature=abc&X-Amz-Date=1")
    b = identify("GET", "https://b.s3.amazonaws.com/k?X-Amz-Signature=def&X-Amz-Date=2")
    assert a == b


def test_sandbox_hosts_rewrite_to_canonical():
    host_map = {"http://127.0.0.1:9/v1": "https://api.openai.com/v1",
                "http://127.0.0.1:9": BR, "http://127.0.0.1:8": "https://s3.amazonaws.com"}
    assert rewrite_to_canonical("http://127.0.0.1:9/v1/chat/completions", host_map) == \
        "https://api.openai.com/v1/chat/completions"
    assert rewrite_to_canonical("http://127.0.0.1:9/model/m/converse", host_map) == f"{BR}/model/m/converse"
    assert rewrite_to_canonical("http://127.0.0.1:8/bkt/a/b.txt", host_map) == "https://bkt.s3.amazonaws.com/a/b.txt"
    assert rewrite_to_canonical("http://127.0.0.1:8/bkt?list-type=2", host_map) == \
        "https://bkt.s3.amazonaws.com/?list-type=2"


def test_identification_survives_sdk_clients_built_on_the_shared_loader():
    """Building a client edits botocore's cached model in place (S3 drops ``{Bucket}`` from its request URIs):
    identification reads its models from a session no client is built on, so CreateBucket stays CreateBucket."""
    from replaykit.providers import aws, identify_request
    from replaykit.providers.aws import botocore_session

    botocore_session().create_client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    aws._routes.cache_clear()
    headers = {"Authorization": ["AWS4-HMAC-SHA256 Credential=K/20260101/us-east-1/s3/aws4_request, Signature=x"]}
    assert identify_request("PUT", "https://reports.s3.amazonaws.com/", headers).operation == "s3.CreateBucket"
    assert aws.operation_name("s3", "PUT", "/reports/", "") == "CreateBucket"


def test_selectors_read_headers_case_insensitively_in_any_mapping() -> None:
    from replaykit.providers import Selectors, selectors

    auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host"
    mixed = {"Authorization": auth, "X-Amz-Target": [b"DynamoDB_20120810.GetItem"], "X-Amz-Copy-Source": "b/k"}
    assert selectors("https://dynamodb.us-east-1.amazonaws.com/", mixed) == Selectors(
        True, "DynamoDB_20120810.GetItem", "", "us-east-1/dynamodb"
    )
    # a name spelt in lower case wins over another spelling of it, as an exact lookup would find it
    both = {"X-Amz-Target": "Other.Op", "x-amz-target": "DynamoDB_20120810.PutItem"}
    assert selectors("https://dynamodb.us-east-1.amazonaws.com/", both).target == "DynamoDB_20120810.PutItem"
    # a form body names its Action; a JSON body that merely mentions the word does not
    assert selectors("https://sts.amazonaws.com/", {}, b"Action=GetCallerIdentity&Version=2011-06-15").action == (
        "GetCallerIdentity"
    )
    assert selectors("https://sts.amazonaws.com/", {}, b'{"note": "no Action here"}').action == ""


def test_selectors_of_vcrpy_headers_match_those_of_the_same_plain_dict() -> None:
    from vcr.request import HeadersDict

    from replaykit.providers import selectors

    auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/eu-west-1/bedrock/aws4_request, SignedHeaders=host"
    plain = {"Authorization": auth, "X-Amz-Target": "T.Op", "Content-Type": "application/json"}
    uri = "https://bedrock-runtime.eu-west-1.amazonaws.com/model/m/converse"
    assert selectors(uri, HeadersDict(plain)) == selectors(uri, plain)
    assert selectors(uri, HeadersDict(plain)).scope == "eu-west-1/bedrock"
