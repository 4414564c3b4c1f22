"""pydantic-ai agents on Bedrock and OpenAI models, with a tool call, and no endpoint arguments."""

from pydantic_ai import Agent
from pydantic_ai.models.bedrock import BedrockConverseModel
from pydantic_ai.models.openai import OpenAIChatModel


def test_bedrock_agent():
    agent = Agent(BedrockConverseModel("anthropic.claude-3-haiku-20240307-v1:0"))
    assert agent.run_sync("Say hello").output


def test_openai_agent_with_a_tool_call():
    agent = Agent(OpenAIChatModel("gpt-4o-mini"))
    cities = []

    @agent.tool_plain
    def get_weather(city: str) -> str:
        """Current weather in a city."""
        cities.append(city)
        return f"sunny in {city}"

    result = agent.run_sync("What is the weather in Paris? Use the get_weather tool.")
    assert cities and result.output


def test_bedrock_agent_with_a_tool_call():
    agent = Agent(BedrockConverseModel("anthropic.claude-3-haiku-20240307-v1:0"))
    cities = []

    @agent.tool_plain
    def get_weather(city: str) -> str:
        """Current weather in a city."""
        cities.append(city)
        return f"sunny in {city}"

    result = agent.run_sync("What is the weather in Paris? Use the get_weather tool.")
    assert cities and result.output
