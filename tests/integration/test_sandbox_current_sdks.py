"""The sandbox keeps up with current SDKs: anthropic's AnthropicBedrock version strings, instructor-style JSON
prompts (Mode.JSON with the schema in the prompt, Mode.MD_JSON asking for a ```json block), and its own input
validation errors marked so a recording can warn."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest

PERSON = {
    "type": "object",
    "title": "Person",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "tags": {"type": "array",
                                                                                     "items": {"type": "string"}}},
    "required": ["name", "age", "tags"],
}
# instructor's wording for Mode.JSON / Mode.MD_JSON (the schema is embedded in the system message)
JSON_MODE_SYSTEM = (
    "As a genius expert, your task is to understand the content and provide the parsed objects in json that match "
    f"the following json_schema:\n\n{json.dumps(PERSON, indent=2)}\n\nMake sure to return an instance of the JSON, "
    "not the schema itself"
)
MD_JSON_USER = "Return the correct JSON response within a ```json codeblock. not the JSON_SCHEMA"


def test_anthropic_bedrock_current_sdk_create_and_stream(sbx: Any) -> None:
    from anthropic import AnthropicBedrock

    client = AnthropicBedrock(aws_access_key="AKIAREPLAYDUMMY", aws_secret_key="dummy", aws_region="us-east-1",
                              base_url=sbx.bedrock_runtime, max_retries=0)
    msg = client.messages.create(model="anthropic.claude-3-haiku-20240307-v1:0", max_tokens=40,
                                 messages=[{"role": "user", "content": "hello"}])
    assert msg.content[0].text and msg.usage.output_tokens > 0
    with client.messages.stream(model="anthropic.claude-3-haiku-20240307-v1:0", max_tokens=40,
                                messages=[{"role": "user", "content": "hello"}]) as stream:
        assert "".join(stream.text_stream)


@pytest.mark.parametrize("version", ["bedrock-2023-05-31", "2026-10-21", "2023-06-01"])
def test_anthropic_versions_accepted_and_garbage_refused_naming_the_field(sbx_bedrock: Any, version: str) -> None:
    body = {"anthropic_version": version, "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
    out = sbx_bedrock.invoke_model(modelId="anthropic.claude-3-haiku-20240307-v1:0", body=json.dumps(body))
    assert json.loads(out["body"].read())["content"]


def test_sandbox_validation_error_is_marked_with_the_field(sbx_bedrock: Any) -> None:
    from botocore.exceptions import ClientError

    body = {"anthropic_version": "v-next", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(ClientError) as info:
        sbx_bedrock.invoke_model(modelId="anthropic.claude-3-haiku-20240307-v1:0", body=json.dumps(body))
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert info.value.response["ResponseMetadata"]["HTTPHeaders"]["x-replaykit-sandbox-validation"] == (
        "anthropic_version"
    )


def test_openai_json_mode_with_schema_in_prompt_satisfies_it(sbx_openai: Any) -> None:
    resp = sbx_openai.chat.completions.create(
        model="gpt-4o-mini", response_format={"type": "json_object"},
        messages=[{"role": "system", "content": JSON_MODE_SYSTEM}, {"role": "user", "content": "Ann is 31."}])
    jsonschema.validate(json.loads(resp.choices[0].message.content), PERSON)


def test_openai_md_json_prompt_gets_a_fenced_instance(sbx_openai: Any) -> None:
    resp = sbx_openai.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": JSON_MODE_SYSTEM}, {"role": "user", "content": "Ann is 31."},
                  {"role": "user", "content": MD_JSON_USER}])
    text = resp.choices[0].message.content
    fenced = re.fullmatch(r"```json\n(.*)\n```", text, re.S)
    assert fenced, text
    jsonschema.validate(json.loads(fenced.group(1)), PERSON)


def test_bedrock_converse_reply_in_json_gets_fenced_json(sbx_bedrock: Any) -> None:
    out = sbx_bedrock.converse(
        modelId="anthropic.claude-3-haiku-20240307-v1:0", system=[{"text": JSON_MODE_SYSTEM}],
        messages=[{"role": "user", "content": [{"text": "Ann is 31. Reply in JSON."}]}])
    text = out["output"]["message"]["content"][0]["text"]
    jsonschema.validate(json.loads(text.removeprefix("```json\n").removesuffix("\n```")), PERSON)
