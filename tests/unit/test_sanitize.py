"""Built-in scrub rules: SigV4, presigned URLs, bearer keys, account ids, secrets at any depth; user rules."""

from __future__ import annotations

import base64
import json

from replaykit.exchange import Body, Exchange, Request, Response
from replaykit.scrub.sanitize import Rules, scrub_authorization, scrub_exchange, scrub_string, scrub_uri, scrub_value

AKID = "AKIAZ7XQ3VBN5LMW2PQA"
OPENAI_KEY = "sk-proj-" + "Ab3dE5gH7jK9mN1pQ3sT5vX7zB9dF1hJ"


def test_sigv4_authorization_keeps_scope_drops_key_and_signature():
    value = (f"AWS4-HMAC-SHA256 Credential={AKID}/20261123/us-east-1/bedrock/aws4_request, "
             "SignedHeaders=content-type;host;x-amz-date, Signature=" + "a" * 64)
    out = scrub_authorization(value)
    assert AKID not in out and "a" * 64 not in out and "20261123" not in out
    assert "/us-east-1/bedrock/aws4_request" in out and "SignedHeaders=content-type;host;x-amz-date" in out


def test_presigned_url_query_is_scrubbed():
    url = (f"https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={AKID}%2F20261123%2F"
           "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261123T000000Z&X-Amz-Expires=300&X-Amz-Signature="
           + "b" * 64 + "&X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLETOKEN")
    out = scrub_uri(url)
    assert AKID not in out and "b" * 64 not in out and "FwoGZXIvYXdz" not in out
    assert out.startswith("https://b.s3.amazonaws.com/k?")


def test_secrets_in_json_at_any_depth_keys_arrays_and_base64():
    planted = {
        "messages": [{"content": [{"text": f"my key is {OPENAI_KEY} and {AKID}"}]}],
        f"weird-{AKID}": 1,
        "nested": {"aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Tw3Lp9Vm2"},
        "wrapped": base64.b64encode(f"token {OPENAI_KEY}".encode()).decode(),
        "arn": "arn:aws:bedrock:us-east-1:384756102938:inference-profile/x",
    }
    out = json.dumps(scrub_value(planted))
    for secret in (OPENAI_KEY, AKID, "wJalrXUtnFEMI", "384756102938"):
        assert secret not in out
    decoded = base64.b64decode(scrub_value(planted)["wrapped"]).decode()
    assert OPENAI_KEY not in decoded and "sk-REDACTED" in decoded


def test_text_body_private_key_and_jwt():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    body = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u"
    text = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n{jwt}"
    out = scrub_string(text)
    assert "MIIEowIBAAKCAQEA" not in out and jwt not in out


def test_user_rules_json_paths_headers_regex_keep_shape():
    rules = Rules.from_config({"headers": ["X-Tenant"], "json_paths": ["$.customer.email", "$.customer.age"],
                               "regex": [{"pattern": r"\b\d{3}-\d{2}-\d{4}\b", "replacement": "<SSN>"}]})
    body = {"customer": {"email": "a@b.c", "age": 41, "note": "ssn 123-45-6789"}}
    out = scrub_value(body, rules)
    assert out == {"customer": {"email": "REDACTED", "age": 0, "note": "ssn <SSN>"}}


def test_scrub_exchange_covers_headers_and_streams():
    ex = Exchange(0, "openai.chat.completions",
                  Request("POST", "https://api.openai.com/v1/chat/completions",
                          {"Authorization": [f"Bearer {OPENAI_KEY}"], "OpenAI-Organization": ["org-abc"],
                           "User-Agent": ["OpenAI/Python 3"]}, Body("json", {"model": "m"})),
                  Response(200, "OK", {"openai-organization": ["org-abc"], "set-cookie": ["__cf=xyz"]},
                           Body("sse", [{"data": {"choices": [{"delta": {"content": OPENAI_KEY}}]}}])))
    out = scrub_exchange(ex)
    assert out.request.headers["Authorization"] == ["Bearer sk-REDACTED"]
    assert "User-Agent" not in out.request.headers
    assert out.response.headers["openai-organization"] == ["REDACTED"]
    assert out.response.headers["set-cookie"] == ["REDACTED"]
    assert OPENAI_KEY not in json.dumps(out.response.body.value)


def test_every_stainless_header_is_dropped_by_prefix_and_local_server_header_goes():
    from replaykit.scrub.sanitize import scrub_headers

    req = scrub_headers(
        {
            "x-stainless-timeout": ["600"],
            "X-Stainless-Stream-Helper": ["messages"],
            "x-stainless-some-future-header": ["1"],
            "content-type": ["application/json"],
        },
        request=True,
    )
    assert req == {"content-type": ["application/json"]}
    resp = scrub_headers({"Server": ["Werkzeug/3.1.3 Python/3.11.9"], "x-amzn-requestid": ["abc"]}, request=False)
    assert "Server" not in resp and resp["x-amzn-requestid"] == ["abc"]
    # a provider's own Server header is information, not noise
    assert scrub_headers({"server": ["AmazonS3"]}, request=False) == {"server": ["AmazonS3"]}


def test_signed_headers_list_loses_the_dropped_stainless_names():
    value = (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/bedrock/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-stainless-arch;x-stainless-timeout, Signature=abc123"
    )
    assert "SignedHeaders=content-type;host;x-amz-date, " in scrub_authorization(value)


def test_header_values_are_normalised_to_lists_of_text_whatever_the_mapping() -> None:
    from vcr.request import HeadersDict

    from replaykit.scrub.sanitize import normalise_header_values

    raw = {"X-One": "a", b"X-Bytes": b"caf\xc3\xa9", "X-List": [b"1", "2"], "X-Num": 3}
    assert normalise_header_values(raw) == {"X-One": ["a"], "X-Bytes": ["café"], "X-List": ["1", "2"], "X-Num": ["3"]}
    # a name given twice (pairs) keeps every value, in order; the input lists are never aliased
    given = ["2"]
    out = normalise_header_values([("A", "1"), ("A", given)])
    assert out == {"A": ["1", "2"]} and out["A"] is not given
    assert normalise_header_values(HeadersDict({"Content-Type": "application/json"})) == {
        "Content-Type": ["application/json"]
    }
