"""aiobotocore: async Converse, ConverseStream and S3, with no endpoint arguments."""

import json

from aiobotocore.session import get_session

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
HELLO = [{"role": "user", "content": [{"text": "hello"}]}]


async def test_converse_and_converse_stream():
    async with get_session().create_client("bedrock-runtime") as bedrock:
        out = await bedrock.converse(modelId=MODEL, messages=HELLO)
        assert out["output"]["message"]["content"][0]["text"]
        stream = await bedrock.converse_stream(modelId=MODEL, messages=HELLO)
        events = [event async for event in stream["stream"]]
        assert any("contentBlockDelta" in event for event in events) and "metadata" in events[-1]


async def test_s3_round_trip():
    async with get_session().create_client("s3") as s3:
        await s3.create_bucket(Bucket="replaykit-adoption")
        await s3.put_object(Bucket="replaykit-adoption", Key="a.json", Body=json.dumps({"a": 1}).encode())
        obj = await s3.get_object(Bucket="replaykit-adoption", Key="a.json")
        assert json.loads(await obj["Body"].read()) == {"a": 1}
