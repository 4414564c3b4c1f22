"""InvokeModel's native request/response formats per model family, and their streaming chunks."""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from replaykit.sandbox import _text
from replaykit.sandbox.bedrock import models
from replaykit.sandbox.bedrock.models import Model, random_id, validation

ANTHROPIC_VERSION = "bedrock-2023-05-31"
# what current SDKs send: anthropic >= 2 sets its API version date (``2026-10-21``), older ones the bedrock form
_ANTHROPIC_VERSIONS = re.compile(r"^(bedrock-)?20\d\d-\d\d-\d\d$")


def _malformed(*missing: str) -> Exception:
    keys = "".join(f"#: required key [{k}] not found" for k in missing)
    return validation(f"Malformed input request: {keys}, please reformat your input and try again.")


@dataclass
class NativeRequest:
    """A native body reduced to what the model needs, plus its family."""

    family: str
    input_tokens: int
    plan_args: dict[str, Any] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)  # embedding inputs
    dims: int = 0
    body: dict[str, Any] = field(default_factory=dict)


def family_for(model: Model, body: dict[str, Any]) -> str:
    """The family whose format ``body`` uses (sandbox and opaque ARN models are recognised by their keys)."""
    if model.family not in ("sandbox", "generic"):
        return model.family
    if "anthropic_version" in body:
        return "anthropic"
    if "messages" in body:
        return "nova"
    if "inputText" in body:
        return "titan-text"
    if "prompt" in body:
        return "llama"
    raise validation("Malformed input request, please reformat your input and try again.")


def parse(model: Model, body: Any) -> NativeRequest:
    """Validate a native InvokeModel body and reduce it to a NativeRequest."""
    if not isinstance(body, dict):
        raise validation(
            "Malformed input request: #: expected type: JSONObject, found: JSONArray, please reformat "
            "your input and try again."
        )
    family = family_for(model, body)
    parser = _PARSERS.get(family)
    if parser is None:
        raise validation(f"Malformed input request: model family {family!r} is not supported by the sandbox.")
    return parser(model, family, body)


def _parse_anthropic(model: Model, family: str, body: dict[str, Any]) -> NativeRequest:
    """Anthropic Messages on Bedrock: ``anthropic_version``, ``max_tokens`` and ``messages`` are required."""
    missing = [k for k in ("anthropic_version", "max_tokens", "messages") if k not in body]
    if missing:
        raise _malformed(*missing)
    version = body["anthropic_version"]
    if not isinstance(version, str) or not _ANTHROPIC_VERSIONS.match(version):
        raise validation(
            f"Malformed input request: #/anthropic_version: {body['anthropic_version']} is not a "
            "valid enum value, please reformat your input and try again."
        )
    system = body.get("system") or ""
    system_text = system if isinstance(system, str) else " ".join(b.get("text", "") for b in system)
    messages = body["messages"]
    tokens = _text.count_tokens(system_text) + sum(_text.count_tokens(_flat(m.get("content"))) for m in messages)
    tools = [_text.Tool(t["name"], t.get("input_schema") or {}) for t in body.get("tools") or []]
    choice = body.get("tool_choice") or {"type": "auto"}
    results = [b for b in _blocks(messages[-1]) if b.get("type") == "tool_result"] if messages else []
    thinking = (body.get("thinking") or {}).get("type") == "enabled"
    args = dict(
        tools=tools,
        tool_mode={"any": "any", "tool": "any", "none": "none"}.get(str(choice.get("type")), "auto"),
        forced_tool=choice.get("name"),
        max_tokens=body["max_tokens"],
        stop=body.get("stop_sequences") or [],
        reasoning=thinking,
        tool_result=" ".join(_flat(r.get("content")) for r in results) if results else None,
        last_user_text=_flat(messages[-1].get("content")) if messages else "",
        prompt_text="\n".join([system_text, *(_flat(m.get("content")) for m in messages)]),
    )
    return NativeRequest(family, tokens, args, body=body)


def _parse_nova(model: Model, family: str, body: dict[str, Any]) -> NativeRequest:
    """Nova's native messages format (``messages`` with ``inferenceConfig`` and ``toolConfig``)."""
    if "messages" not in body:
        raise _malformed("messages")
    messages = body["messages"]
    system = " ".join(b.get("text", "") for b in body.get("system") or [] if isinstance(b, dict))
    tokens = _text.count_tokens(system) + sum(_text.count_tokens(_flat(m.get("content"))) for m in messages)
    config = body.get("inferenceConfig") or {}
    tool_cfg = body.get("toolConfig") or {}
    tools = [
        _text.Tool(t["toolSpec"]["name"], (t["toolSpec"].get("inputSchema") or {}).get("json") or {})
        for t in tool_cfg.get("tools", [])
        if "toolSpec" in t
    ]
    last = messages[-1] if messages else {}
    has_result = any("toolResult" in b for b in _blocks(last))
    args = dict(
        tools=tools,
        max_tokens=config.get("maxTokens", config.get("max_new_tokens")),
        stop=config.get("stopSequences") or [],
        last_user_text=_flat(last.get("content")),
        tool_result=_flat(last.get("content")) if has_result else None,
    )
    return NativeRequest(family, tokens, args, body=body)


def _parse_titan_text(model: Model, family: str, body: dict[str, Any]) -> NativeRequest:
    """Titan Text: ``inputText`` with an optional ``textGenerationConfig``."""
    if "inputText" not in body:
        raise _malformed("inputText")
    config = body.get("textGenerationConfig") or {}
    args = dict(
        max_tokens=config.get("maxTokenCount", 512),
        stop=config.get("stopSequences") or [],
        last_user_text=body["inputText"],
    )
    return NativeRequest(family, _text.count_tokens(body["inputText"]), args, body=body)


def _parse_prompt(model: Model, family: str, body: dict[str, Any]) -> NativeRequest:
    """Llama, Mistral and DeepSeek: a raw ``prompt`` (Llama names its limit ``max_gen_len``)."""
    if "prompt" not in body:
        raise _malformed("prompt")
    limit = body.get("max_gen_len") if family == "llama" else body.get("max_tokens")
    args = dict(max_tokens=limit, stop=body.get("stop") or [], last_user_text=body["prompt"])
    return NativeRequest(family, _text.count_tokens(body["prompt"]), args, body=body)


def _parse_titan_embed(model: Model, family: str, body: dict[str, Any]) -> NativeRequest:
    """Titan Embeddings: ``inputText``; v2 takes ``dimensions`` of 256, 512 or 1024."""
    if "inputText" not in body:
        raise _malformed("inputText")
    dims = int(body.get("dimensions", 1024 if "v2" in model.base else 1536))
    if "v2" in model.base and dims not in (256, 512, 1024):
        raise validation(
            f"Malformed input request: #/dimensions: {dims} is not a valid enum value, please "
            "reformat your input and try again."
        )
    # Titan counts a start-of-text token
    return NativeRequest(family, _text.count_tokens(body["inputText"]) + 1, texts=[body["inputText"]], dims=dims)


def _parse_cohere_embed(model: Model, family: str, body: dict[str, Any]) -> NativeRequest:
    """Cohere Embed: ``texts`` and ``input_type`` are required."""
    missing = [k for k in ("texts", "input_type") if k not in body]
    if missing:
        raise _malformed(*missing)
    texts = [str(t) for t in body["texts"]]
    return NativeRequest(family, sum(_text.count_tokens(t) for t in texts), texts=texts, dims=1024)


def _parse_nova_embed(model: Model, family: str, body: dict[str, Any]) -> NativeRequest:
    """Nova multimodal embeddings: a ``SINGLE_EMBEDDING`` task with ``singleEmbeddingParams``."""
    params = body.get("singleEmbeddingParams")
    if body.get("taskType") != "SINGLE_EMBEDDING" or not isinstance(params, dict):
        raise _malformed("singleEmbeddingParams")
    text = str((params.get("text") or {}).get("value", ""))
    dims = int(params.get("embeddingDimension", 3072))
    return NativeRequest(family, _text.count_tokens(text) + 15, texts=[text], dims=dims)


_Parser = Callable[[Model, str, dict[str, Any]], NativeRequest]

# family -> the parser of its native body
_PARSERS: dict[str, _Parser] = {
    "anthropic": _parse_anthropic,
    "nova": _parse_nova,
    "titan-text": _parse_titan_text,
    "llama": _parse_prompt,
    "mistral": _parse_prompt,
    "deepseek": _parse_prompt,
    "titan-embed": _parse_titan_embed,
    "cohere-embed": _parse_cohere_embed,
    "nova-embed": _parse_nova_embed,
}


def _blocks(message: Any) -> list[dict[str, Any]]:
    content = message.get("content") if isinstance(message, dict) else None
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _flat(content: Any) -> str:
    """All text inside a message content value (string, blocks, nested tool results)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(_flat(b) for b in content)
    if isinstance(content, dict):
        parts = [str(content[k]) for k in ("text",) if k in content]
        for key in ("content", "toolResult"):
            if key in content:
                parts.append(_flat(content[key]))
        if "json" in content:
            parts.append(json.dumps(content["json"]))
        return " ".join(parts)
    return ""


def plan(model: Model, req: NativeRequest) -> _text.Plan:
    """The deterministic answer for a generative native request."""
    # limits stay out of the seed so a smaller limit yields a prefix of the same answer
    limits = ("max_tokens", "max_gen_len", "inferenceConfig", "textGenerationConfig")
    seed = _text.seed_of("bedrock-native", model.base, {k: v for k, v in req.body.items() if k not in limits})
    return _text.plan(seed, input_tokens=req.input_tokens, **req.plan_args)


def _model_name(model: Model) -> str:
    return model.base.removeprefix("anthropic.").split(":")[0].removesuffix("-v1").removesuffix("-v2")


def _stop_for(family: str, stop: str) -> str | None:
    table = {
        "anthropic": {"end": "end_turn", "tool": "tool_use", "length": "max_tokens", "stop_sequence": "stop_sequence"},
        "nova": {"end": "end_turn", "tool": "tool_use", "length": "max_tokens", "stop_sequence": "end_turn"},
        "titan-text": {"end": "FINISH", "length": "LENGTH", "stop_sequence": "STOP_CRITERIA_MET"},
    }
    return table.get(family, {"end": "stop", "length": "length", "stop_sequence": "stop"}).get(stop, "stop")


def response(model: Model, req: NativeRequest) -> tuple[dict[str, Any], int, int | None]:
    """The native response body with its input and output token counts (output None for embeddings)."""
    embed = _EMBEDDING_BODIES.get(req.family)
    if embed is not None:
        return embed(model, req), req.input_tokens, None
    p = plan(model, req)
    stop = _stop_for(req.family, p.stop)
    body = _RESPONSE_BODIES.get(req.family, _choices_body)(model, req, p, stop)
    return body, p.input_tokens, p.output_tokens


def _titan_embed_body(model: Model, req: NativeRequest) -> dict[str, Any]:
    vec = _text.embedding(req.texts[0], req.dims, model.base)
    if "v2" in model.base:
        return {"embedding": vec, "embeddingsByType": {"float": vec}, "inputTextTokenCount": req.input_tokens}
    return {"embedding": vec, "inputTextTokenCount": req.input_tokens}


def _cohere_embed_body(model: Model, req: NativeRequest) -> dict[str, Any]:
    vecs = [_text.embedding(t, req.dims, model.base) for t in req.texts]
    return {
        "embeddings": vecs,
        "id": str(uuid.uuid4()),
        "response_type": "embeddings_floats",
        "texts": [t.lower() for t in req.texts],
    }


def _nova_embed_body(model: Model, req: NativeRequest) -> dict[str, Any]:
    vec = _text.embedding(req.texts[0], req.dims, model.base)
    return {"embeddings": [{"embedding": vec, "embeddingType": "TEXT"}]}


# embedding family -> its response body
_EMBEDDING_BODIES: dict[str, Callable[[Model, NativeRequest], dict[str, Any]]] = {
    "titan-embed": _titan_embed_body,
    "cohere-embed": _cohere_embed_body,
    "nova-embed": _nova_embed_body,
}


def _anthropic_body(model: Model, req: NativeRequest, p: _text.Plan, stop: str | None) -> dict[str, Any]:
    return {
        "id": random_id("msg_bdrk_01"),
        "type": "message",
        "role": "assistant",
        "model": _model_name(model),
        "content": _anthropic_blocks(p),
        "stop_reason": stop,
        "stop_sequence": _matched_stop(req, p),
        "usage": {
            "input_tokens": p.input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": p.output_tokens,
        },
    }


def _nova_body(model: Model, req: NativeRequest, p: _text.Plan, stop: str | None) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"text": p.text}] if p.text or not p.tool_calls else []
    content += [{"toolUse": {"toolUseId": str(uuid.uuid4()), "name": n, "input": a}} for n, a in p.tool_calls]
    return {
        "output": {"message": {"content": content, "role": "assistant"}},
        "stopReason": stop,
        "usage": {
            "inputTokens": p.input_tokens,
            "outputTokens": p.output_tokens,
            "totalTokens": p.input_tokens + p.output_tokens,
            "cacheReadInputTokenCount": 0,
            "cacheWriteInputTokenCount": 0,
        },
    }


def _titan_text_body(model: Model, req: NativeRequest, p: _text.Plan, stop: str | None) -> dict[str, Any]:
    return {
        "inputTextTokenCount": p.input_tokens,
        "results": [{"tokenCount": p.output_tokens, "outputText": p.text, "completionReason": stop}],
    }


def _llama_body(model: Model, req: NativeRequest, p: _text.Plan, stop: str | None) -> dict[str, Any]:
    return {
        "generation": p.text,
        "prompt_token_count": p.input_tokens,
        "generation_token_count": p.output_tokens,
        "stop_reason": stop,
    }


def _mistral_body(model: Model, req: NativeRequest, p: _text.Plan, stop: str | None) -> dict[str, Any]:
    return {"outputs": [{"text": p.text, "stop_reason": stop}]}


def _choices_body(model: Model, req: NativeRequest, p: _text.Plan, stop: str | None) -> dict[str, Any]:
    return {"choices": [{"text": p.text, "stop_reason": stop}]}


_Builder = Callable[[Model, NativeRequest, _text.Plan, str | None], Any]

# generative family -> its response body (others, DeepSeek, answer in ``choices``)
_RESPONSE_BODIES: dict[str, _Builder] = {
    "anthropic": _anthropic_body,
    "nova": _nova_body,
    "titan-text": _titan_text_body,
    "llama": _llama_body,
    "mistral": _mistral_body,
}


def _matched_stop(req: NativeRequest, p: _text.Plan) -> str | None:
    if p.stop != "stop_sequence":
        return None
    return next(iter(req.plan_args.get("stop") or []), None)


def _anthropic_blocks(p: _text.Plan) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if p.reasoning:
        blocks.append({"type": "thinking", "thinking": p.reasoning, "signature": _text.hex_id(len(p.reasoning), 64)})
    if p.text or not p.tool_calls:
        blocks.append({"type": "text", "text": p.text})
    blocks += [{"type": "tool_use", "id": random_id("toolu_bdrk_01"), "name": n, "input": a} for n, a in p.tool_calls]
    return blocks


def stream_chunks(model: Model, req: NativeRequest) -> tuple[list[dict[str, Any]], int, int]:
    """The native streaming chunks (JSON documents carried base64 in ``chunk`` events), without metrics."""
    if req.family in ("titan-embed", "cohere-embed", "nova-embed"):
        raise validation("The model is unsupported for streaming.")
    p = plan(model, req)
    stop = _stop_for(req.family, p.stop)
    deltas = _text.split_deltas(p.text, _text.seed_of(p.text, "deltas"))
    chunks = _STREAMS.get(req.family, _choices_chunks)(model, req, p, stop, deltas)
    return chunks, p.input_tokens, p.output_tokens


def _anthropic_chunks(
    model: Model, req: NativeRequest, p: _text.Plan, stop: str | None, deltas: list[str]
) -> list[dict[str, Any]]:
    chunks: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": random_id("msg_bdrk_01"),
                "type": "message",
                "role": "assistant",
                "model": _model_name(model),
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": p.input_tokens,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                    "output_tokens": 1,
                },
            },
        }
    ]
    for index, block in enumerate(_anthropic_blocks(p)):
        chunks += _anthropic_block_events(index, block, deltas)
    chunks.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": _matched_stop(req, p)},
            "usage": {"output_tokens": p.output_tokens},
        }
    )
    chunks.append({"type": "message_stop"})
    return chunks


def _nova_chunks(
    model: Model, req: NativeRequest, p: _text.Plan, stop: str | None, deltas: list[str]
) -> list[dict[str, Any]]:
    chunks: list[dict[str, Any]] = [{"messageStart": {"role": "assistant"}}]
    # Nova gives every text delta its own content block index, as the real service does
    for index, delta in enumerate(deltas):
        chunks += [
            {"contentBlockDelta": {"delta": {"text": delta}, "contentBlockIndex": index}},
            {"contentBlockStop": {"contentBlockIndex": index}},
        ]
    for offset, (name, args) in enumerate(p.tool_calls):
        index = len(deltas) + offset
        chunks += [
            {
                "contentBlockStart": {
                    "start": {"toolUse": {"toolUseId": str(uuid.uuid4()), "name": name}},
                    "contentBlockIndex": index,
                }
            },
            {"contentBlockDelta": {"delta": {"toolUse": {"input": json.dumps(args)}}, "contentBlockIndex": index}},
            {"contentBlockStop": {"contentBlockIndex": index}},
        ]
    chunks += [
        {"messageStop": {"stopReason": stop}},
        {
            "metadata": {
                "usage": {
                    "inputTokens": p.input_tokens,
                    "outputTokens": p.output_tokens,
                    "cacheReadInputTokenCount": 0,
                    "cacheWriteInputTokenCount": 0,
                },
                "metrics": {},
                "trace": {},
            }
        },
    ]
    return chunks


def _titan_text_chunks(
    model: Model, req: NativeRequest, p: _text.Plan, stop: str | None, deltas: list[str]
) -> list[dict[str, Any]]:
    chunks, total = [], 0
    for i, delta in enumerate(deltas or [""]):
        total += _text.count_tokens(delta)
        chunks.append(
            {
                "outputText": delta,
                "index": 0,
                "totalOutputTextTokenCount": total,
                "completionReason": stop if i == len(deltas or [""]) - 1 else None,
                "inputTextTokenCount": p.input_tokens if i == 0 else None,
            }
        )
    return chunks


def _llama_chunks(
    model: Model, req: NativeRequest, p: _text.Plan, stop: str | None, deltas: list[str]
) -> list[dict[str, Any]]:
    chunks, total = [], 0
    for i, delta in enumerate(deltas or [""]):
        total += _text.count_tokens(delta)
        last = i == len(deltas or [""]) - 1
        chunks.append(
            {
                "generation": delta,
                "prompt_token_count": p.input_tokens if i == 0 else None,
                "generation_token_count": total,
                "stop_reason": stop if last else None,
            }
        )
    return chunks


def _choices_chunks(
    model: Model, req: NativeRequest, p: _text.Plan, stop: str | None, deltas: list[str]
) -> list[dict[str, Any]]:
    # Mistral streams ``outputs``, the others (DeepSeek) ``choices``
    key = "outputs" if req.family == "mistral" else "choices"
    return [
        {key: [{"text": d, "stop_reason": stop if i == len(deltas) - 1 else None}]}
        for i, d in enumerate(deltas or [""])
    ]


# generative family -> its streaming chunks (others answer in ``choices``/``outputs``)
_STREAMS: dict[str, Callable[[Model, NativeRequest, _text.Plan, str | None, list[str]], list[dict[str, Any]]]] = {
    "anthropic": _anthropic_chunks,
    "nova": _nova_chunks,
    "titan-text": _titan_text_chunks,
    "llama": _llama_chunks,
}


def _anthropic_block_events(index: int, block: dict[str, Any], deltas: list[str]) -> list[dict[str, Any]]:
    if block["type"] == "text":
        start: dict[str, Any] = {"type": "text", "text": ""}
        parts = [{"type": "text_delta", "text": d} for d in deltas]
    elif block["type"] == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        parts = [
            {"type": "thinking_delta", "thinking": block["thinking"]},
            {"type": "signature_delta", "signature": block["signature"]},
        ]
    else:
        start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        raw = json.dumps(block["input"])
        parts = [{"type": "input_json_delta", "partial_json": ""}]
        parts += [{"type": "input_json_delta", "partial_json": c} for c in _text.split_json(raw, len(raw))]
    events = [{"type": "content_block_start", "index": index, "content_block": start}]
    events += [{"type": "content_block_delta", "index": index, "delta": d} for d in parts]
    events.append({"type": "content_block_stop", "index": index})
    return events


def count_tokens(model: Model, req: Any) -> int:
    """CountTokens: the input tokens a Converse or InvokeModel request would be billed for."""
    if not isinstance(req, dict) or not isinstance(req.get("input"), dict):
        raise validation(
            "1 validation error detected: Value null at 'input' failed to satisfy constraint: Member must not be null"
        )
    given = req["input"]
    if "converse" in given:
        body = given["converse"]
        models.validate_converse(model, body)
        return models.converse(model, body).usage["inputTokens"]
    if "invokeModel" in given:
        try:
            raw = base64.b64decode(given["invokeModel"].get("body", ""))
            body = json.loads(raw)
        except (ValueError, TypeError) as exc:
            raise validation("Malformed input request, please reformat your input and try again.") from exc
        return parse(model, body).input_tokens
    raise validation("The input must contain either converse or invokeModel.")
