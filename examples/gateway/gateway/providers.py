"""The two upstreams: Bedrock Converse (boto3, run in worker threads) and OpenAI chat completions (AsyncOpenAI).

Both turn their SDK's failures into ``ProviderError`` so the gateway can decide: fail over (throttling, outages,
timeouts, broken streams) or give up (the request itself was rejected).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from replaykit.cost import Usage

from gateway.errors import ProviderError

# errors that say nothing about the provider's health: the same request would fail anywhere
_BEDROCK_REJECTIONS = {"ValidationException", "AccessDeniedException", "ResourceNotFoundException"}


@dataclass
class Completion:
    """A finished answer from one provider."""

    provider: str
    model: str
    text: str
    usage: Usage
    stop_reason: str


@dataclass
class Delta:
    """A piece of streamed text."""

    text: str


_END = object()


class BedrockProvider:
    """Bedrock Runtime Converse / ConverseStream through a boto3 client."""

    name = "bedrock"

    def __init__(self, client: Any, model: str = "anthropic.claude-3-haiku-20240307-v1:0") -> None:
        self.client = client
        self.model = model

    def _request(self, prompt: str, max_tokens: int) -> dict[str, Any]:
        return {
            "modelId": self.model,
            "messages": [{"role": "user", "content": [{"text": prompt}]}],
            "inferenceConfig": {"maxTokens": max_tokens},
        }

    async def complete(self, prompt: str, max_tokens: int) -> Completion:
        """One Converse call."""
        try:
            out = await asyncio.to_thread(self.client.converse, **self._request(prompt, max_tokens))
        except Exception as exc:
            raise self._error(exc) from exc
        text = "".join(b.get("text", "") for b in out["output"]["message"]["content"])
        return Completion(self.name, self.model, text, _usage(out.get("usage", {})), out.get("stopReason", ""))

    async def stream(self, prompt: str, max_tokens: int) -> AsyncIterator[Delta | Completion]:
        """ConverseStream: text deltas, then the finished Completion (from the metadata event)."""
        try:
            out = await asyncio.to_thread(self.client.converse_stream, **self._request(prompt, max_tokens))
            events = iter(out["stream"])
            parts: list[str] = []
            usage, stop = Usage(), ""
            while True:
                # each read blocks on the socket: keep it off the event loop
                event = await asyncio.to_thread(next, events, _END)
                if event is _END:
                    break
                if "contentBlockDelta" in event:
                    text = event["contentBlockDelta"]["delta"].get("text", "")
                    parts.append(text)
                    yield Delta(text)
                elif "messageStop" in event:
                    stop = event["messageStop"].get("stopReason", "")
                elif "metadata" in event:
                    usage = _usage(event["metadata"].get("usage", {}))
        except ProviderError:
            raise
        except Exception as exc:
            raise self._error(exc) from exc
        if not stop:
            raise ProviderError(self.name, "stream_cut", "the stream ended without messageStop")
        yield Completion(self.name, self.model, "".join(parts), usage, stop)

    def _error(self, exc: Exception) -> ProviderError:
        from botocore.exceptions import ClientError, EventStreamError

        if isinstance(exc, (ClientError, EventStreamError)):
            code = exc.response.get("Error", {}).get("Code", "ClientError")
            message = exc.response.get("Error", {}).get("Message", "")
            return ProviderError(self.name, code, message, failover=code not in _BEDROCK_REJECTIONS)
        return ProviderError(self.name, type(exc).__name__, str(exc))


def _usage(u: dict[str, Any]) -> Usage:
    return Usage(
        int(u.get("inputTokens", 0)),
        int(u.get("outputTokens", 0)),
        int(u.get("cacheReadInputTokens", 0) or 0),
        int(u.get("cacheWriteInputTokens", 0) or 0),
    )


class OpenAIProvider:
    """OpenAI chat completions through ``openai.AsyncOpenAI``."""

    name = "openai"

    def __init__(self, client: Any, model: str = "gpt-4o-mini") -> None:
        self.client = client
        self.model = model

    def _request(self, prompt: str, max_tokens: int) -> dict[str, Any]:
        return {"model": self.model, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens}

    async def complete(self, prompt: str, max_tokens: int) -> Completion:
        """One chat completion."""
        try:
            out = await self.client.chat.completions.create(**self._request(prompt, max_tokens))
        except Exception as exc:
            raise self._error(exc) from exc
        choice = out.choices[0]
        return Completion(
            self.name, self.model, choice.message.content or "", _openai_usage(out.usage), choice.finish_reason or ""
        )

    async def stream(self, prompt: str, max_tokens: int) -> AsyncIterator[Delta | Completion]:
        """A streamed chat completion (with the usage chunk); a stream without a finish reason was cut."""
        parts: list[str] = []
        usage, finish = Usage(), ""
        try:
            stream = await self.client.chat.completions.create(
                **self._request(prompt, max_tokens), stream=True, stream_options={"include_usage": True}
            )
            async for chunk in stream:
                if chunk.usage is not None:
                    usage = _openai_usage(chunk.usage)
                for choice in chunk.choices:
                    if choice.delta.content:
                        parts.append(choice.delta.content)
                        yield Delta(choice.delta.content)
                    finish = choice.finish_reason or finish
        except Exception as exc:
            raise self._error(exc) from exc
        if not finish:
            raise ProviderError(self.name, "stream_cut", "the stream ended without a finish_reason")
        yield Completion(self.name, self.model, "".join(parts), usage, finish)

    def _error(self, exc: Exception) -> ProviderError:
        import openai

        if isinstance(exc, openai.APIStatusError):
            failover = exc.status_code in (408, 409, 429) or exc.status_code >= 500
            return ProviderError(self.name, type(exc).__name__, f"HTTP {exc.status_code}", failover=failover)
        return ProviderError(self.name, type(exc).__name__, str(exc))


def _openai_usage(u: Any) -> Usage:
    if u is None:
        return Usage()
    details = getattr(u, "prompt_tokens_details", None)
    cached = int(getattr(details, "cached_tokens", 0) or 0) if details is not None else 0
    return Usage(int(u.prompt_tokens) - cached, int(u.completion_tokens), cached, 0)
