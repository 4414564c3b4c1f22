"""langchain-aws and langchain-openai clients built by the test, with no endpoint arguments."""

from langchain_aws import ChatBedrockConverse
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


@tool
def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"sunny in {city}"


def test_bedrock_converse_invoke():
    llm = ChatBedrockConverse(model=MODEL, max_tokens=50)
    assert llm.invoke("Say hello").content


def test_bedrock_converse_stream():
    llm = ChatBedrockConverse(model=MODEL, max_tokens=50)
    assert "".join(chunk.text for chunk in llm.stream("Count to three"))


def test_bedrock_converse_tool_call():
    llm = ChatBedrockConverse(model=MODEL, max_tokens=200).bind_tools([get_weather])
    message = llm.invoke("What is the weather in Paris? Use the get_weather tool.")
    assert message.tool_calls and message.tool_calls[0]["name"] == "get_weather"
    assert "city" in message.tool_calls[0]["args"]


def test_chat_openai():
    llm = ChatOpenAI(model="gpt-4o-mini", max_tokens=50)
    assert llm.invoke("Say hello").content
