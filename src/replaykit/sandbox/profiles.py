"""Sandbox profiles: the default wire shapes plus past and future variants, each change listed machine-readably.

A profile's ``changes`` are not just documentation: the sandbox applies exactly these changes (and nothing else) to
the default-profile bodies, so the list is what ``replaykit drift`` should find between two profiles.

Paths are dotted JSON paths into the response body (``usage.total_tokens``); ``[]`` steps into every list item
(``choices[].message.annotations``). For ``where="stream"`` the path is inside each event's JSON payload and
``event`` names the event type it applies to (``None``: every chunk, as in OpenAI chat completion streams, which
have no event names); for ``kind="event_added"`` the path is the new event type itself.
"""

from __future__ import annotations

import copy
import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

KINDS = ("field_added", "field_removed", "type_changed", "event_added", "enum_value_added")


@dataclass(frozen=True)
class ProfileChange:
    """One difference from the default profile, in one operation's response or stream."""

    operation: str  # cassette operation name, e.g. "bedrock-runtime.Converse", "openai.chat.completions"
    where: str  # "response" | "stream"
    path: str  # dotted JSON path ("[]" = every list item), or the new event type for event_added
    kind: str  # one of KINDS
    detail: str
    event: str | None = None  # stream only: event type whose payload holds `path`; None = every event/chunk
    # what the sandbox writes: the added value, the new enum value, the new JSON type name, or for event_added
    # {"after": <event type>, "payload": {...}}
    value: Any = None


@dataclass(frozen=True)
class Profile:
    """A named set of wire-shape changes relative to ``default``."""

    name: str
    description: str
    changes: tuple[ProfileChange, ...] = field(default_factory=tuple)

    def apply_response(self, operation: str, body: Any) -> Any:
        """The response body with this profile's ``where="response"`` changes for ``operation`` applied."""
        todo = [c for c in self.changes if c.operation == operation and c.where == "response"]
        if not todo:
            return body
        body = copy.deepcopy(body)
        for change in todo:
            _apply_field_change(body, change)
        return body

    def apply_stream(self, operation: str, events: list[tuple[str | None, Any]]) -> list[tuple[str | None, Any]]:
        """Stream events ``(event type, payload)`` with this profile's ``where="stream"`` changes applied."""
        todo = [c for c in self.changes if c.operation == operation and c.where == "stream"]
        if not todo:
            return events
        out = [(name, copy.deepcopy(payload)) for name, payload in events]
        for change in todo:
            if change.kind == "event_added":
                spec = change.value or {}
                at = max((i for i, (name, _) in enumerate(out) if name == spec.get("after")), default=len(out) - 1)
                out.insert(at + 1, (change.path, copy.deepcopy(spec.get("payload", {}))))
                continue
            for name, payload in out:
                if change.event is None or change.event == name:
                    _apply_field_change(payload, change)
        return out


def _apply_field_change(doc: Any, change: ProfileChange) -> None:
    steps = change.path.split(".")
    for parent in _parents(doc, steps[:-1]):
        key = steps[-1]
        if not isinstance(parent, dict):
            continue
        if change.kind == "field_removed":
            parent.pop(key, None)
        elif change.kind == "field_added":
            parent[key] = copy.deepcopy(change.value)
        elif change.kind == "type_changed" and key in parent:
            parent[key] = _convert(parent[key], str(change.value), key)
        elif change.kind == "enum_value_added" and key in parent:
            parent[key] = change.value


def _parents(doc: Any, steps: list[str]) -> list[Any]:
    nodes = [doc]
    for step in steps:
        is_list = step.endswith("[]")
        name = step[:-2] if is_list else step
        nxt: list[Any] = []
        for node in nodes:
            child = node.get(name) if isinstance(node, dict) else None
            if is_list and isinstance(child, list):
                nxt.extend(child)
            elif not is_list and child is not None:
                nxt.append(child)
        nodes = nxt
    return nodes


def _convert(value: Any, target: str, key: str) -> Any:
    if target == "string":
        if key.startswith("created") and isinstance(value, int):
            return _dt.datetime.fromtimestamp(value, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return str(value)
    if target == "number":
        return float(value)
    raise ValueError(f"unsupported target type {target!r}")


_CHAT = "openai.chat.completions"
_RESPONSES = "openai.responses"
_CONVERSE = "bedrock-runtime.Converse"
_CONVERSE_STREAM = "bedrock-runtime.ConverseStream"

LEGACY_2024 = Profile(
    name="legacy-2024",
    description="The providers as of mid-2024: OpenAI chat completions before service tiers, token-detail objects, "
    "annotations and stream obfuscation; Bedrock Converse before the metrics object; Bedrock's model list "
    "before model lifecycles.",
    changes=(
        ProfileChange(
            "bedrock.ListFoundationModels",
            "response",
            "modelSummaries[].modelLifecycle",
            "field_removed",
            "foundation model summaries have no modelLifecycle",
        ),
        ProfileChange(_CHAT, "response", "service_tier", "field_removed", "no service_tier in chat completions"),
        ProfileChange(
            _CHAT,
            "response",
            "usage.prompt_tokens_details",
            "field_removed",
            "usage has no prompt_tokens_details object",
        ),
        ProfileChange(
            _CHAT,
            "response",
            "usage.completion_tokens_details",
            "field_removed",
            "usage has no completion_tokens_details object",
        ),
        ProfileChange(
            _CHAT,
            "response",
            "choices[].message.annotations",
            "field_removed",
            "assistant messages carry no annotations list",
        ),
        ProfileChange(_CHAT, "stream", "service_tier", "field_removed", "no service_tier in any chunk"),
        ProfileChange(_CHAT, "stream", "obfuscation", "field_removed", "chunks carry no obfuscation padding"),
        ProfileChange(
            _CHAT,
            "stream",
            "usage.prompt_tokens_details",
            "field_removed",
            "the final usage chunk (stream_options.include_usage) has no prompt_tokens_details",
        ),
        ProfileChange(
            _CHAT,
            "stream",
            "usage.completion_tokens_details",
            "field_removed",
            "the final usage chunk (stream_options.include_usage) has no completion_tokens_details",
        ),
        ProfileChange(_CONVERSE, "response", "metrics", "field_removed", "Converse responses have no metrics object"),
        ProfileChange(
            _CONVERSE_STREAM,
            "stream",
            "metrics",
            "field_removed",
            "the metadata event has no metrics object",
            event="metadata",
        ),
    ),
)

NEXT_2027 = Profile(
    name="next-2027",
    description="A plausible future: new usage fields, a dropped fingerprint, timestamps as strings, a new service "
    "tier name and new stream events, all still parseable by today's openai SDK and botocore.",
    changes=(
        ProfileChange(
            _CHAT,
            "response",
            "usage.prompt_tokens_details.cache_write_tokens",
            "field_added",
            "usage.prompt_tokens_details gains cache_write_tokens (integer, 0)",
            value=0,
        ),
        ProfileChange(_CHAT, "response", "system_fingerprint", "field_removed", "system_fingerprint is gone"),
        ProfileChange(
            _CHAT,
            "response",
            "created",
            "type_changed",
            "created is an ISO-8601 string instead of a Unix timestamp integer",
            value="string",
        ),
        ProfileChange(
            _CHAT,
            "response",
            "service_tier",
            "enum_value_added",
            "service_tier reports the new tier name 'standard' (was 'default')",
            value="standard",
        ),
        ProfileChange(_CHAT, "stream", "system_fingerprint", "field_removed", "no chunk carries system_fingerprint"),
        ProfileChange(
            _CHAT, "stream", "created", "type_changed", "every chunk's created is an ISO-8601 string", value="string"
        ),
        ProfileChange(
            _CHAT,
            "stream",
            "service_tier",
            "enum_value_added",
            "every chunk's service_tier is 'standard' (was 'default')",
            value="standard",
        ),
        ProfileChange(
            _RESPONSES,
            "response",
            "billing",
            "field_added",
            "responses gain a top-level billing object {payer: developer}",
            value={"payer": "developer"},
        ),
        ProfileChange(
            _RESPONSES,
            "stream",
            "response.usage.delta",
            "event_added",
            "a response.usage.delta event follows response.output_item.done",
            value={
                "after": "response.output_item.done",
                "payload": {"type": "response.usage.delta", "sequence_number": 0, "usage": {"output_tokens": 0}},
            },
        ),
        ProfileChange(
            _CONVERSE,
            "response",
            "usage.serverToolUsage",
            "field_added",
            "usage gains serverToolUsage (an empty object)",
            value={},
        ),
        ProfileChange(_CONVERSE, "response", "usage.totalTokens", "field_removed", "usage no longer has totalTokens"),
        ProfileChange(
            _CONVERSE,
            "response",
            "metrics.latencyMs",
            "type_changed",
            "metrics.latencyMs is a numeric string (botocore still parses it to an int)",
            value="string",
        ),
        ProfileChange(
            _CONVERSE_STREAM,
            "stream",
            "usage.serverToolUsage",
            "field_added",
            "the metadata event's usage gains serverToolUsage (an empty object)",
            event="metadata",
            value={},
        ),
        ProfileChange(
            _CONVERSE_STREAM,
            "stream",
            "messageMetadata",
            "event_added",
            "a messageMetadata event follows messageStop (botocore skips unknown events)",
            value={"after": "messageStop", "payload": {"serviceTier": {"type": "default"}}},
        ),
    ),
)

DEFAULT = Profile(
    name="default",
    description="Today's providers: the shapes of botocore's and the openai SDK's "
    "current models, as the live services send them.",
)

PROFILES: dict[str, Profile] = {p.name: p for p in (DEFAULT, LEGACY_2024, NEXT_2027)}
