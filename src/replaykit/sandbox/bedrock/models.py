"""Bedrock Runtime behaviour without HTTP: model ids, request validation, modeled errors and Converse answers."""

from __future__ import annotations

import base64
import json
import re
import secrets
import string
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from replaykit.providers import bedrock as bedrock_provider
from replaykit.sandbox import _text

INVALID_MODEL = "The provided model identifier is invalid."
ACCOUNT_ID = "123456789012"

# first dotted component of a foundation model id
_PROVIDERS = (
    "anthropic",
    "amazon",
    "meta",
    "mistral",
    "cohere",
    "ai21",
    "deepseek",
    "writer",
    "qwen",
    "openai",
    "twelvelabs",
    "stability",
    "luma",
    "moonshot",
    "minimax",
    "google",
    "nvidia",
    "zai",
)
# cross-region inference profile prefixes ("us.anthropic.claude-...")
_GEOS = ("us", "eu", "apac", "us-gov", "global", "jp", "au", "ca")
_ARN_RE = re.compile(r"^arn:aws(?:-[a-z]+)*:bedrock:[a-z0-9-]*:\d{0,12}:([a-z-]+(?:/[a-z-]+)?)/(.+)$")


# provider knowledge (messages, statuses, stream exceptions) is replaykit.providers.bedrock's
error_statuses = bedrock_provider.error_statuses
stream_exception_types = bedrock_provider.stream_exception_types


class BedrockError(Exception):
    """A modeled Bedrock exception: name, message, HTTP status and any extra body members."""

    def __init__(self, code: str, message: str | None = None, **extra: Any) -> None:
        self.code = code
        self.message = message or bedrock_provider.ERROR_MESSAGES.get(code, code)
        self.status = error_statuses().get(code, 400)
        self.extra = extra
        self.input_field: str | None = None  # set by validation(): which input the sandbox refused
        super().__init__(f"{code}: {self.message}")


def validation(message: str) -> BedrockError:
    """A ValidationException with AWS's wording (marked as the sandbox's own input validation)."""
    err = BedrockError("ValidationException", message)
    if message == INVALID_MODEL:
        err.input_field = "modelId"
        return err
    found = re.search(r"#/([A-Za-z0-9_./-]+)|required key \[([^\]]+)\]|'([A-Za-z]+)' failed", message)
    err.input_field = next((g for g in found.groups() if g), "input") if found else "input"
    return err


@dataclass(frozen=True)
class Model:
    """A resolved model id: the foundation model behind it, its family and any sandbox trigger."""

    model_id: str
    base: str
    family: str
    error: str | None = None
    stream_error: str | None = None


def resolve_model(raw: str) -> Model:
    """Decode and classify a path model id; unknown ids raise AWS's ValidationException."""
    model_id = unquote(raw)
    if model_id.startswith("sandbox.error."):
        name = model_id.removeprefix("sandbox.error.")
        return Model(model_id, model_id, "sandbox", error=name)
    if model_id.startswith("sandbox.stream-error."):
        name = model_id.removeprefix("sandbox.stream-error.")
        return Model(model_id, model_id, "sandbox", stream_error=name)
    base = model_id
    arn = _ARN_RE.match(model_id)
    if arn:
        kind, tail = arn.groups()
        if kind not in ("foundation-model", "inference-profile"):
            # application profiles, provisioned and imported models hide the model: infer the family per request
            return Model(model_id, tail, "generic")
        base = tail
    head, _, rest = base.partition(".")
    if head in _GEOS and rest:
        base = rest
        head, _, rest = base.partition(".")
    if head not in _PROVIDERS or not re.match(r"^[a-z0-9][a-z0-9.:_-]*$", rest or ""):
        raise validation(INVALID_MODEL)
    return Model(model_id, base, family_of(base))


def family_of(base: str) -> str:
    """The request/response family of a foundation model id."""
    rules = (
        ("amazon.nova-2-multimodal-embeddings", "nova-embed"),
        ("amazon.nova", "nova"),
        ("amazon.titan-embed", "titan-embed"),
        ("amazon.titan-text", "titan-text"),
        ("amazon.titan-tg1", "titan-text"),
        ("anthropic.", "anthropic"),
        ("meta.llama", "llama"),
        ("mistral.", "mistral"),
        ("cohere.embed", "cohere-embed"),
        ("deepseek.", "deepseek"),
    )
    for prefix, family in rules:
        if base.startswith(prefix):
            return family
    return "generic"


EMBEDDING_FAMILIES = ("titan-embed", "nova-embed", "cohere-embed")


def random_id(prefix: str, n: int = 22) -> str:
    """A per-call id like the providers' (``tooluse_...``, ``msg_bdrk_...``)."""
    alphabet = string.ascii_letters + string.digits + ("_-" if prefix.startswith("tooluse") else "")
    return prefix + "".join(secrets.choice(alphabet) for _ in range(n))


def _block_tokens(block: dict[str, Any]) -> int:
    if "text" in block:
        return _text.count_tokens(str(block["text"]))
    if "toolUse" in block:
        return _text.count_tokens(json.dumps(block["toolUse"].get("input", {}))) + 4
    if "toolResult" in block:
        return sum(
            _block_tokens(c) if "text" in c else _text.count_tokens(json.dumps(c.get("json", c)))
            for c in block["toolResult"].get("content", [])
            if isinstance(c, dict)
        )
    if "document" in block:
        raw = block["document"].get("source", {}).get("bytes", "")
        try:
            return _text.count_tokens(base64.b64decode(raw).decode("utf-8", "replace")) + 5
        except (ValueError, TypeError):
            return 5
    if "image" in block:
        return 85
    if "reasoningContent" in block:
        return _text.count_tokens(str(block["reasoningContent"].get("reasoningText", {}).get("text", "")))
    return 0


@dataclass
class ConverseOutput:
    """The model-side result of a Converse call, before any wire formatting."""

    content: list[dict[str, Any]]
    stop_reason: str
    usage: dict[str, int]
    trace: dict[str, Any] | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    seed: int = 0


_STOP = {"end": "end_turn", "tool": "tool_use", "length": "max_tokens", "stop_sequence": "stop_sequence"}


def validate_converse(model: Model, req: Any) -> None:
    """Raise the ValidationException Bedrock would send for a malformed Converse request."""
    if model.family in EMBEDDING_FAMILIES:
        raise validation(
            "This action doesn't support the model that you provided. Try again with a supported text or chat model."
        )
    if not isinstance(req, dict):
        raise validation("Invalid request body: a JSON object is required.")
    messages = req.get("messages")
    if not isinstance(messages, list) or not messages:
        raise validation(
            "A conversation must start with a user message. Try again with a conversation that starts "
            "with a user message."
        )
    previous = None
    for i, msg in enumerate(messages):
        previous = _validate_message(req, i, msg, previous)
    max_tokens = (req.get("inferenceConfig") or {}).get("maxTokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise validation(
            f"1 validation error detected: Value '{max_tokens}' at 'inferenceConfig.maxTokens' failed "
            "to satisfy constraint: Member must have value greater than or equal to 1"
        )


def _validate_message(req: dict[str, Any], i: int, msg: Any, previous: str | None) -> str:
    """Check message ``i`` (role, alternation, content, toolConfig when it carries tool blocks); its role."""
    role = msg.get("role") if isinstance(msg, dict) else None
    if role not in ("user", "assistant"):
        raise validation(
            f"1 validation error detected: Value '{role}' at 'messages.{i + 1}.member.role' failed "
            "to satisfy constraint: Member must satisfy enum value set: [user, assistant]"
        )
    if i == 0 and role != "user":
        raise validation(
            "A conversation must start with a user message. Try again with a conversation that "
            "starts with a user message."
        )
    if role == previous:
        raise validation(
            "A conversation must alternate between user and assistant roles. Make sure the "
            "conversation alternates between user and assistant roles and try again."
        )
    if not isinstance(msg.get("content"), list) or not msg["content"]:
        raise validation(
            f"The content field in the Message object at messages.{i} is empty. Add a ContentBlock "
            "object to the content field and try again."
        )
    uses_tools = any(isinstance(b, dict) and ("toolUse" in b or "toolResult" in b) for b in msg["content"])
    if uses_tools and not req.get("toolConfig"):
        raise validation("The toolConfig field must be defined when using toolUse and toolResult content blocks.")
    return role


def converse(model: Model, req: dict[str, Any], region: str = "us-east-1") -> ConverseOutput:
    """Answer a validated Converse request deterministically."""
    messages = req["messages"]
    system = [b for b in req.get("system") or [] if isinstance(b, dict)]
    tool_config = req.get("toolConfig") or {}
    tools = _converse_tools(tool_config)
    choice = tool_config.get("toolChoice") or {"auto": {}}
    forced = (choice.get("tool") or {}).get("name")
    inference = req.get("inferenceConfig") or {}
    reasoning = _wants_reasoning(model, req)

    all_blocks = [b for m in messages for b in m["content"] if isinstance(b, dict)]
    input_tokens = _converse_input_tokens(system, all_blocks, tools, tool_config)
    last = messages[-1]
    tool_result = _converse_tool_result(last)
    last_text = " ".join(str(b.get("text", "")) for b in last["content"] if isinstance(b, dict))
    seed = _text.seed_of("bedrock", model.base, system, messages, tool_config)
    plan = _text.plan(
        seed,
        input_tokens=input_tokens,
        last_user_text=last_text,
        tool_result=tool_result,
        tools=tools,
        tool_mode="any" if ("any" in choice or forced) else "auto",
        forced_tool=forced,
        max_tokens=inference.get("maxTokens"),
        stop=inference.get("stopSequences") or [],
        reasoning=reasoning,
        called=[b["toolUse"].get("name") for b in all_blocks if "toolUse" in b],
        prompt_text="\n".join(
            [*(str(b.get("text", "")) for b in system), *(str(b.get("text", "")) for b in all_blocks)]
        ),
    )
    content = _converse_content(model, plan, seed)
    usage = _converse_usage(model, plan, system, messages)
    out = ConverseOutput(content, _STOP[plan.stop], usage, seed=seed)
    _add_echoes(out, req, region, last_text, plan.text)
    return out


def _converse_tools(tool_config: dict[str, Any]) -> list[_text.Tool]:
    """The tools a ``toolConfig`` declares (``toolSpec`` entries)."""
    return [
        _text.Tool(t["toolSpec"]["name"], (t["toolSpec"].get("inputSchema") or {}).get("json") or {})
        for t in tool_config.get("tools", [])
        if isinstance(t, dict) and "toolSpec" in t
    ]


def _wants_reasoning(model: Model, req: dict[str, Any]) -> bool:
    """Whether the answer carries reasoning: Claude with thinking enabled, or DeepSeek R1 always."""
    extra = req.get("additionalModelRequestFields") or {}
    thinking = isinstance(extra.get("thinking"), dict) and extra["thinking"].get("type") in ("enabled", "adaptive")
    return (model.family == "anthropic" and thinking) or model.base.startswith("deepseek.r1")


def _converse_input_tokens(
    system: list[dict[str, Any]], all_blocks: list[dict[str, Any]], tools: list[_text.Tool], tool_config: dict[str, Any]
) -> int:
    """Input tokens: system text, every message block, and the tool definitions when there are tools."""
    input_tokens = sum(_text.count_tokens(str(b.get("text", ""))) for b in system)
    input_tokens += sum(_block_tokens(b) for b in all_blocks)
    if tools:
        input_tokens += _text.count_tokens(json.dumps(tool_config.get("tools", [])))
    return input_tokens


def _converse_tool_result(last: dict[str, Any]) -> str | None:
    """The text of the tool results a final user message carries, or None."""
    results = [b["toolResult"] for b in last["content"] if isinstance(b, dict) and "toolResult" in b]
    if not (results and last["role"] == "user"):
        return None
    return " ".join(
        str(c.get("text", json.dumps(c.get("json", ""))))
        for r in results
        for c in r.get("content", [])
        if isinstance(c, dict)
    )


def _converse_content(model: Model, plan: _text.Plan, seed: int) -> list[dict[str, Any]]:
    """The output message's content blocks: reasoning (signed for Claude), text, tool uses."""
    content: list[dict[str, Any]] = []
    if plan.reasoning:
        text_block: dict[str, Any] = {"text": plan.reasoning}
        if model.family == "anthropic":
            text_block["signature"] = base64.b64encode(_text.hex_id(seed, 48).encode()).decode()
        content.append({"reasoningContent": {"reasoningText": text_block}})
    if plan.text or not plan.tool_calls:
        content.append({"text": plan.text})
    for name, args in plan.tool_calls:
        content.append({"toolUse": {"toolUseId": random_id("tooluse_"), "name": name, "input": args}})
    return content


def _converse_usage(
    model: Model, plan: _text.Plan, system: list[dict[str, Any]], messages: list[dict[str, Any]]
) -> dict[str, int]:
    """Converse ``usage``; Claude reports the prompt before its last cachePoint as a cache write."""
    usage = {"inputTokens": plan.input_tokens, "outputTokens": plan.output_tokens}
    if model.family == "anthropic":
        cached = _cached_prefix_tokens(system, messages)
        usage["inputTokens"] -= cached
        usage["cacheReadInputTokens"] = 0
        usage["cacheWriteInputTokens"] = cached
    usage["totalTokens"] = sum(usage.values())
    return usage


def _add_echoes(out: ConverseOutput, req: dict[str, Any], region: str, prompt: str, answer: str) -> None:
    """The guardrail trace, performanceConfig and serviceTier the response echoes when the request asked."""
    guard = req.get("guardrailConfig") or {}
    if guard.get("trace") in ("enabled", "enabled_full"):
        out.trace = {"guardrail": _guardrail_trace(guard, region, prompt, answer)}
    if isinstance(req.get("performanceConfig"), dict) and req["performanceConfig"].get("latency"):
        out.extras["performanceConfig"] = {"latency": req["performanceConfig"]["latency"]}
    if isinstance(req.get("serviceTier"), dict) and req["serviceTier"].get("type"):
        out.extras["serviceTier"] = {"type": req["serviceTier"]["type"]}


def _cached_prefix_tokens(system: list[dict[str, Any]], messages: list[dict[str, Any]]) -> int:
    # tokens before the last cachePoint are written to the prompt cache (deterministic: always a write, never a read)
    seq = list(system) + [b for m in messages for b in m["content"] if isinstance(b, dict)]
    marks = [i for i, b in enumerate(seq) if "cachePoint" in b]
    if not marks:
        return 0
    return sum(_block_tokens(b) for b in seq[: marks[-1]])


def _guardrail_trace(guard: dict[str, Any], region: str, prompt: str, answer: str) -> dict[str, Any]:
    gid = str(guard.get("guardrailIdentifier", "sandboxguard")).rsplit("/", 1)[-1]
    version = str(guard.get("guardrailVersion", "DRAFT"))

    def assessment(chars: int) -> dict[str, Any]:
        units = {
            k: 0
            for k in (
                "automatedReasoningPolicies",
                "automatedReasoningPolicyUnits",
                "contentPolicyImageUnits",
                "contentPolicyUnits",
                "contextualGroundingPolicyUnits",
                "sensitiveInformationPolicyFreeUnits",
                "sensitiveInformationPolicyUnits",
                "topicPolicyUnits",
                "wordPolicyUnits",
            )
        }
        units["topicPolicyUnits"] = 1
        return {
            "appliedGuardrailDetails": {
                "guardrailArn": f"arn:aws:bedrock:{region}:{ACCOUNT_ID}:guardrail/{gid}",
                "guardrailId": gid,
                "guardrailOrigin": ["REQUEST"],
                "guardrailOwnership": "SELF",
                "guardrailVersion": version,
            },
            "invocationMetrics": {
                "guardrailCoverage": {"textCharacters": {"guarded": chars, "total": chars}},
                "guardrailProcessingLatency": 300 + chars % 100,
                "usage": units,
            },
        }

    return {
        "actionReason": "No action.",
        "inputAssessment": {gid: assessment(len(prompt))},
        "modelOutput": [],
        "outputAssessments": {gid: [assessment(len(answer))]},
    }
