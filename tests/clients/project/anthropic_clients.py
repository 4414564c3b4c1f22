"""anthropic's AnthropicBedrock (create and stream), with no endpoint or credential arguments."""

from anthropic import AnthropicBedrock

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def test_messages_create():
    message = AnthropicBedrock().messages.create(
        model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "Say hello"}]
    )
    assert message.content[0].text and message.usage.output_tokens


def test_messages_stream():
    with AnthropicBedrock().messages.stream(
        model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "Count to three"}]
    ) as stream:
        assert "".join(stream.text_stream)
