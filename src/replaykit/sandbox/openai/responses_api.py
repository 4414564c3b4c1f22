"""The Responses API (``POST /v1/responses``) without HTTP: request validation, Response objects, stream events."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from replaykit.sandbox import _text
from replaykit.sandbox.openai.models import (
    check_model,
    check_temperature,
    content_text,
    invalid,
    is_reasoning,
    random_id,
    snapshot,
    tool_mode,
)


def _item_id(prefix: str) -> str:
    return prefix + secrets.token_hex(25)


def _input_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    raw = body.get("input")
    if raw is None:
        return []
    if isinstance(raw, str):
        return [{"role": "user", "content": raw}]
    if not isinstance(raw, list):
        raise invalid(
            "Invalid type for 'input': expected a string or an array of input items.", "input", "invalid_type"
        )
    return [i for i in raw if isinstance(i, dict)]


def create(body: Any) -> dict[str, Any]:
    """Validate a request and build the completed Response object."""
    model, items, limit = _check_create(body)
    tools = [
        _text.Tool(t["name"], t.get("parameters") or {})
        for t in body.get("tools") or []
        if isinstance(t, dict) and t.get("type") == "function" and t.get("name")
    ]
    choice = body.get("tool_choice", "auto")
    forced = choice.get("name") if isinstance(choice, dict) else None
    fmt = (body.get("text") or {}).get("format") or {"type": "text"}
    instructions = body.get("instructions")
    prompt = _prompt_tokens(body, instructions, items, tools)
    last = items[-1] if items else {}
    tool_result = str(last.get("output", "")) if last.get("type") == "function_call_output" else None
    seed = _text.seed_of("openai-responses", model, instructions, items, body.get("tools"), fmt)
    reasoning_tokens = 64 * (1 + seed % 4) if is_reasoning(model) else 0
    budget = None if limit is None else max(0, limit - reasoning_tokens)
    plan = _text.plan(
        seed,
        input_tokens=prompt,
        last_user_text=content_text(last.get("content")),
        tool_result=tool_result,
        tools=tools,
        tool_mode=tool_mode(choice, forced),
        forced_tool=forced,
        max_tokens=budget,
        json_schema=fmt.get("schema") if fmt.get("type") == "json_schema" else None,
        json_object=fmt.get("type") == "json_object",
        called=[str(i.get("name")) for i in items if i.get("type") == "function_call"],
    )
    output = _output_items(plan)
    now = int(time.time())
    incomplete = plan.stop == "length"
    completion = plan.output_tokens + reasoning_tokens
    return {
        "id": _item_id("resp_"),
        "object": "response",
        "created_at": now,
        "status": "incomplete" if incomplete else "completed",
        "background": bool(body.get("background", False)),
        "completed_at": None if incomplete else now,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "instructions": instructions,
        "max_output_tokens": limit,
        "max_tool_calls": body.get("max_tool_calls"),
        "model": snapshot(model),
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "prompt_cache_retention": None,
        "reasoning": {"effort": "medium" if is_reasoning(model) else None, "summary": None},
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": "default",
        "temperature": float(body.get("temperature", 1.0)),
        "text": {"format": fmt, "verbosity": "medium"},
        "tool_choice": choice,
        "tools": [_echo_tool(t) for t in body.get("tools") or [] if isinstance(t, dict)],
        "top_logprobs": body.get("top_logprobs", 0),
        "top_p": float(body.get("top_p", 1.0)),
        "truncation": body.get("truncation", "disabled"),
        "usage": _usage(prompt, completion, reasoning_tokens),
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }


def _check_create(body: Any) -> tuple[str, list[dict[str, Any]], int | None]:
    """The model, input items and ``max_output_tokens`` of a request, or the 400 OpenAI sends for it."""
    if not isinstance(body, dict):
        raise invalid("Invalid type for request body: expected an object.")
    model = check_model(body.get("model"))
    items = _input_items(body)
    if not items and not body.get("previous_response_id"):
        raise invalid("Missing required parameter: 'input'.", "input", "missing_required_parameter")
    check_temperature(body)
    limit = body.get("max_output_tokens")
    if limit is not None and (not isinstance(limit, int) or limit < 16):
        raise invalid(
            f"Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got "
            f"{limit} instead.",
            "max_output_tokens",
            "integer_below_min_value",
        )
    return model, items, limit


def _prompt_tokens(
    body: dict[str, Any], instructions: Any, items: list[dict[str, Any]], tools: list[_text.Tool]
) -> int:
    """Input tokens: instructions plus 7, each item's text (or output) plus 4, and the tool definitions."""
    prompt = _text.count_tokens(instructions or "") + 7
    prompt += sum(_text.count_tokens(content_text(i.get("content")) or str(i.get("output", ""))) + 4 for i in items)
    if tools:
        prompt += _text.count_tokens(json.dumps(body.get("tools")))
    return prompt


def _output_items(plan: _text.Plan) -> list[dict[str, Any]]:
    """The Response's ``output``: the assistant message (when there is text) and one function_call per call."""
    output: list[dict[str, Any]] = []
    if plan.text or not plan.tool_calls:
        status = "incomplete" if plan.stop == "length" else "completed"
        output.append(
            {
                "id": _item_id("msg_"),
                "type": "message",
                "status": status,
                "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": plan.text}],
                "role": "assistant",
            }
        )
    for name, args in plan.tool_calls:
        output.append(
            {
                "id": _item_id("fc_"),
                "type": "function_call",
                "status": "completed",
                "arguments": json.dumps(args, separators=(",", ":")),
                "call_id": random_id("call_", 24),
                "name": name,
            }
        )
    return output


def _usage(prompt: int, completion: int, reasoning_tokens: int) -> dict[str, Any]:
    """The Response ``usage`` object."""
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": prompt + completion,
    }


def _echo_tool(tool: dict[str, Any]) -> dict[str, Any]:
    if tool.get("type") != "function":
        return tool
    return {
        "type": "function",
        "description": tool.get("description"),
        "name": tool.get("name"),
        "parameters": tool.get("parameters"),
        "strict": tool.get("strict", True),
    }


def stream_events(response: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The typed event sequence a streaming request receives, ending with response.completed."""
    pending = {
        **response,
        "status": "in_progress",
        "output": [],
        "usage": None,
        "completed_at": None,
        "incomplete_details": None,
    }
    events: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"response": pending}),
        ("response.in_progress", {"response": pending}),
    ]
    for index, item in enumerate(response["output"]):
        base = {"output_index": index}
        if item["type"] == "message":
            text = item["content"][0]["text"]
            opened = {**item, "status": "in_progress", "content": []}
            events.append(("response.output_item.added", {**base, "item": opened}))
            ids = {"item_id": item["id"], **base, "content_index": 0}
            empty = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
            events.append(("response.content_part.added", {**ids, "part": empty}))
            for delta in _text.split_deltas(text, _text.seed_of(text, "responses")):
                events.append(("response.output_text.delta", {**ids, "delta": delta, "logprobs": []}))
            events.append(("response.output_text.done", {**ids, "text": text, "logprobs": []}))
            events.append(("response.content_part.done", {**ids, "part": item["content"][0]}))
        else:
            opened = {**item, "status": "in_progress", "arguments": ""}
            events.append(("response.output_item.added", {**base, "item": opened}))
            ids = {"item_id": item["id"], **base}
            for piece in _text.split_json(item["arguments"], len(item["arguments"])):
                events.append(("response.function_call_arguments.delta", {**ids, "delta": piece}))
            events.append(("response.function_call_arguments.done", {**ids, "arguments": item["arguments"]}))
        events.append(("response.output_item.done", {**base, "item": item}))
    final = "response.incomplete" if response["status"] == "incomplete" else "response.completed"
    events.append((final, {"response": response}))
    return events


def sequence(events: list[tuple[str | None, Any]]) -> list[tuple[str | None, Any]]:
    """Stamp ``type`` first and a running ``sequence_number`` on every event payload."""
    out: list[tuple[str | None, Any]] = []
    for i, (name, payload) in enumerate(events):
        rest = {k: v for k, v in payload.items() if k not in ("type", "sequence_number")}
        out.append((name, {"type": name, **rest, "sequence_number": i}))
    return out
