"""OpenAI API behaviour without HTTP: model catalogue, errors, chat completions and embeddings."""

from __future__ import annotations

import base64
import functools
import json
import re
import secrets
import string
import struct
from dataclasses import dataclass, field
from typing import Any, get_args

from replaykit.providers import openai as openai_provider
from replaykit.sandbox import _text

EMBEDDING_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
_EXTRA_MODELS = (
    "gpt-4o-mini-2024-07-18",
    "gpt-4o-2024-08-06",
    "gpt-image-1",
    "whisper-1",
    "tts-1",
    "dall-e-3",
    "omni-moderation-latest",
)
_ERROR_RE = re.compile(r"^sandbox-error-(\d{3})$")
STREAM_CUT_MODEL = "sandbox-stream-cut"


class OpenAIError(Exception):
    """An error response: status plus the ``{"error": {message, type, param, code}}`` members."""

    def __init__(
        self,
        status: int,
        message: str,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code
        self.input_field: str | None = None  # set by invalid(): which input the sandbox refused
        super().__init__(message)

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def triggered_error(status: int, model: str = "") -> OpenAIError:
    """The error a ``sandbox-error-<status>`` model or the trigger header asks for."""
    message, kind, code = openai_provider.ERRORS_BY_STATUS.get(
        status, (f"Sandbox error {status}.", "server_error", None)
    )
    return OpenAIError(status, message.format(model=model or "gpt-4o-mini"), kind, None, code)


def invalid(message: str, param: str | None = None, code: str | None = None) -> OpenAIError:
    """A 400 invalid_request_error (marked as the sandbox's own input validation)."""
    err = OpenAIError(400, message, "invalid_request_error", param, code)
    err.input_field = param or "request"
    return err


@functools.lru_cache(maxsize=1)
def catalogue() -> tuple[str, ...]:
    """Model ids the sandbox serves: the openai SDK's known chat/responses models plus embeddings."""
    names: list[str] = []
    try:
        from openai.types.shared import ResponsesModel

        def walk(tp: Any) -> None:
            for arg in get_args(tp):
                if isinstance(arg, str):
                    names.append(arg)
                else:
                    walk(arg)

        walk(ResponsesModel)
    except ImportError:  # pragma: no cover - the SDK is a dependency, but keep a floor
        names += ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o3-mini", "gpt-5", "gpt-5-mini"]
    return tuple(dict.fromkeys([*names, *_EXTRA_MODELS, *EMBEDDING_DIMS]))


def known_model(name: str) -> bool:
    """Whether the model exists (catalogue, fine-tunes, or a sandbox trigger model)."""
    return name in catalogue() or name.startswith("ft:") or name.startswith("sandbox-")


def check_model(name: Any) -> str:
    """The model name, or raise the 400/404 (or triggered error) OpenAI would send."""
    if not name or not isinstance(name, str):
        raise invalid("you must provide a model parameter")
    match = _ERROR_RE.match(name)
    if match:
        raise triggered_error(int(match.group(1)), name)
    if not known_model(name):
        raise OpenAIError(
            404,
            f"The model `{name}` does not exist or you do not have access to it.",
            "invalid_request_error",
            None,
            "model_not_found",
        )
    return name


# aliases whose current snapshot is not simply the newest dated name
_ALIASES = {
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
    "gpt-4": "gpt-4-0613",
    "gpt-4-turbo": "gpt-4-turbo-2024-04-09",
}


def snapshot(name: str) -> str:
    """The dated snapshot a model alias resolves to, as reported in ``model`` fields."""
    if name.startswith("sandbox-"):
        return "gpt-4o-mini-2024-07-18"
    if name in _ALIASES:
        return _ALIASES[name]
    dated = sorted(m for m in catalogue() if re.fullmatch(re.escape(name) + r"-\d{4}-\d{2}-\d{2}", m))
    return dated[-1] if dated else name


def is_reasoning(name: str) -> bool:
    """o-series and GPT-5 models spend reasoning tokens and reject ``max_tokens``."""
    return bool(re.match(r"^(o\d|gpt-5|gpt-6)", name)) and "chat-latest" not in name


def fingerprint(model: str) -> str:
    """A stable ``system_fingerprint`` per model."""
    return "fp_" + _text.hex_id(_text.seed_of("fp", model), 10)


def random_id(prefix: str, n: int = 29) -> str:
    """Per-call ids such as ``chatcmpl-...`` and ``call_...``."""
    return prefix + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(n))


def check_temperature(body: dict[str, Any]) -> None:
    """Reject a temperature outside [0, 2] with OpenAI's wording."""
    t = body.get("temperature")
    if isinstance(t, int | float) and not isinstance(t, bool):
        if t < 0:
            raise invalid(
                f"Invalid 'temperature': decimal below minimum value. Expected a value >= 0, but got {t} instead.",
                "temperature",
                "decimal_below_min_value",
            )
        if t > 2:
            raise invalid(
                f"Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got {t} instead.",
                "temperature",
                "decimal_above_max_value",
            )


def content_text(content: Any) -> str:
    """Text of a message content value (string or list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


@dataclass
class ChatResult:
    """Model-side result of a chat completion: one plan per choice plus the usage figures."""

    model: str
    plans: list[_text.Plan]
    finish: list[str]
    prompt_tokens: int
    reasoning_tokens: int
    logprobs: bool = False
    usage: dict[str, Any] = field(default_factory=dict)


def _check_chat(body: Any) -> tuple[str, list[Any], int]:
    """The model, messages and ``n`` of a chat request, or the 400 OpenAI sends for it (checked in OpenAI's order)."""
    if not isinstance(body, dict):
        raise invalid("Invalid type for request body: expected an object.")
    model = check_model(body.get("model"))
    messages = body.get("messages")
    if messages is None:
        raise invalid("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
    if not isinstance(messages, list) or not messages:
        raise invalid(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            "messages",
            "empty_array",
        )
    check_temperature(body)
    if body.get("max_tokens") is not None and is_reasoning(model):
        raise invalid(
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
            "'max_completion_tokens' instead.",
            "max_tokens",
            "unsupported_parameter",
        )
    if body.get("stream_options") is not None and not body.get("stream"):
        raise invalid(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
            "invalid_value",
        )
    n = body.get("n") or 1
    if not isinstance(n, int) or not 1 <= n <= 128:
        raise invalid(f"Invalid 'n': expected an integer between 1 and 128, but got {n} instead.", "n", "invalid_value")
    return model, messages, n


def tool_mode(choice: Any, forced: str | None) -> str:
    """The plan's tool mode for a ``tool_choice``: any when required or a function is named, none, or auto."""
    return "any" if (choice == "required" or forced) else ("none" if choice == "none" else "auto")


def _chat_schema(fmt: dict[str, Any]) -> Any:
    """The JSON Schema a ``json_schema`` response_format asks for (None for other formats)."""
    if fmt.get("type") != "json_schema":
        return None
    if not isinstance(fmt.get("json_schema"), dict):
        raise invalid(
            "Missing required parameter: 'response_format.json_schema'.",
            "response_format.json_schema",
            "missing_required_parameter",
        )
    return fmt["json_schema"].get("schema") or {"type": "object", "properties": {}}


def _chat_prompt_tokens(body: dict[str, Any], messages: list[Any], tools: list[_text.Tool]) -> int:
    """Prompt tokens: each message's text plus 4, 3 for priming, and the tool definitions."""
    prompt = sum(_text.count_tokens(content_text(m.get("content"))) + 4 for m in messages if isinstance(m, dict)) + 3
    if tools:
        prompt += _text.count_tokens(json.dumps(body.get("tools")))
    return prompt


def _called_functions(messages: list[Any]) -> list[Any]:
    """Names of the functions the assistant already called in the conversation."""
    return [
        c.get("function", {}).get("name")
        for m in messages
        if isinstance(m, dict)
        for c in m.get("tool_calls") or []
        if isinstance(c, dict)
    ]


def _chat_usage(prompt: int, plans: list[_text.Plan], reasoning_tokens: int, n: int) -> dict[str, Any]:
    """The chat completion ``usage`` object over all choices."""
    completion = sum(p.output_tokens for p in plans) + reasoning_tokens * n
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning_tokens * n,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def chat(body: Any) -> ChatResult:
    """Validate and answer a chat completion request."""
    model, messages, n = _check_chat(body)
    tools = [
        _text.Tool(t["function"]["name"], t["function"].get("parameters") or {})
        for t in body.get("tools") or []
        if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    choice = body.get("tool_choice", "auto" if tools else "none")
    forced = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
    mode = tool_mode(choice, forced)
    fmt = body.get("response_format") or {}
    schema = _chat_schema(fmt)
    stop = body.get("stop") or []
    stop = [stop] if isinstance(stop, str) else list(stop)
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    prompt = _chat_prompt_tokens(body, messages, tools)
    last = messages[-1] if isinstance(messages[-1], dict) else {}
    tool_result = content_text(last.get("content")) if last.get("role") == "tool" else None
    called = _called_functions(messages)
    reasoning_tokens = 0
    base_seed = _text.seed_of("openai-chat", model, messages, body.get("tools"), fmt)
    if is_reasoning(model):
        reasoning_tokens = 64 * (1 + base_seed % 4)
    budget = None if limit is None else max(0, int(limit) - reasoning_tokens)
    plans, finish = [], []
    for i in range(n):
        p = _text.plan(
            _text.seed_of(base_seed, i),
            input_tokens=prompt,
            last_user_text=content_text(last.get("content")),
            tool_result=tool_result,
            tools=tools,
            tool_mode=mode,
            forced_tool=forced,
            max_tokens=budget,
            stop=stop,
            json_schema=schema,
            json_object=fmt.get("type") == "json_object",
            called=called,
            prompt_text="\n".join(content_text(m.get("content")) for m in messages if isinstance(m, dict)),
        )
        plans.append(p)
        # OpenAI reports "stop", not "tool_calls", when tool_choice names the function
        finish.append({"tool": "stop" if forced else "tool_calls", "length": "length"}.get(p.stop, "stop"))
    result = ChatResult(snapshot(model), plans, finish, prompt, reasoning_tokens, bool(body.get("logprobs")))
    result.usage = _chat_usage(prompt, plans, reasoning_tokens, n)
    return result


def tool_calls(plan: _text.Plan) -> list[dict[str, Any]]:
    """The plan's tool calls in chat completion form, with fresh call ids."""
    return [
        {
            "id": random_id("call_", 24),
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(args, separators=(",", ":"))},
        }
        for name, args in plan.tool_calls
    ]


def logprobs_for(text: str) -> dict[str, Any]:
    """A deterministic ``logprobs`` object for generated text."""
    content = []
    for i, tok in enumerate(_text.split_deltas(text, 0, 1)):
        lp = -round(((_text.seed_of(tok, i) % 1000) / 1000) ** 3, 6)
        content.append({"token": tok, "logprob": lp, "bytes": list(tok.encode("utf-8")), "top_logprobs": []})
    return {"content": content, "refusal": None}


def embeddings(body: Any) -> dict[str, Any]:
    """Validate and answer an embeddings request (float lists or base64 float32)."""
    if not isinstance(body, dict):
        raise invalid("Invalid type for request body: expected an object.")
    model = check_model(body.get("model"))
    if model not in EMBEDDING_DIMS and not model.startswith("sandbox-"):
        raise invalid(f"This model does not support embeddings: {model}.", "model", "invalid_model")
    raw = body.get("input")
    if raw is None:
        raise invalid("Missing required parameter: 'input'.", "input", "missing_required_parameter")
    texts = _embedding_texts(raw)
    dims = _embedding_dims(body, model)
    fmt = body.get("encoding_format") or "float"
    if fmt not in ("float", "base64"):
        raise invalid(
            f"Invalid value for 'encoding_format': '{fmt}'. Supported values are: 'float' and 'base64'.",
            "encoding_format",
            "invalid_value",
        )
    data = []
    for i, text in enumerate(texts):
        vec = _text.embedding(text, dims, model)
        value: Any = vec if fmt == "float" else base64.b64encode(struct.pack(f"<{dims}f", *vec)).decode()
        data.append({"object": "embedding", "index": i, "embedding": value})
    tokens = sum(_text.count_tokens(t) for t in texts)
    return {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def _embedding_texts(raw: Any) -> list[str]:
    """The texts an embeddings ``input`` holds (a string, a list of strings, or token lists); none may be empty."""
    items = raw if isinstance(raw, list) and raw and not isinstance(raw[0], int) else [raw]
    texts = [" ".join(map(str, t)) if isinstance(t, list) else str(t) for t in items]
    if not texts or any(t == "" for t in texts):
        raise invalid(
            "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
            "input",
            "invalid_value",
        )
    return texts


def _embedding_dims(body: dict[str, Any], model: str) -> int:
    """The vector size: the model's own, or ``dimensions`` within its range (ada-002 takes none)."""
    dims = EMBEDDING_DIMS.get(model, 1536)
    if body.get("dimensions") is not None:
        if model == "text-embedding-ada-002":
            raise invalid("This model does not support specifying dimensions.", "dimensions", "invalid_value")
        dims = int(body["dimensions"])
        if not 1 <= dims <= EMBEDDING_DIMS.get(model, 3072):
            raise invalid(f"Invalid 'dimensions': {dims} is out of range for {model}.", "dimensions", "invalid_value")
    return dims


def model_object(name: str) -> dict[str, Any]:
    """The ``/v1/models`` entry of a model."""
    created = 1_680_000_000 + _text.seed_of("created", name) % 80_000_000
    return {"id": name, "object": "model", "created": created, "owned_by": "system"}
