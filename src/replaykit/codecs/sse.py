"""Server-sent events (``text/event-stream``) as OpenAI sends them: parse to events and write them back."""

from __future__ import annotations

from dataclasses import dataclass

CONTENT_TYPE = "text/event-stream"


@dataclass
class Event:
    """One SSE event; ``data`` is the joined ``data:`` lines, ``event``/``id``/``retry`` when present."""

    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None


def decode(body: bytes | str) -> list[Event]:
    """Parse an SSE body into events (comments dropped, multi-line data joined with newlines)."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    events: list[Event] = []
    data: list[str] = []
    event: str | None = None
    ident: str | None = None
    retry: int | None = None
    seen = False
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line:
            if seen:
                events.append(Event("\n".join(data), event, ident, retry))
            data, event, ident, retry, seen = [], None, None, None, False
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        seen = True
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id":
            ident = value
        elif name == "retry" and value.isdigit():
            retry = int(value)
    if seen:
        events.append(Event("\n".join(data), event, ident, retry))
    return events


def encode(events: list[Event]) -> bytes:
    """Write events back in OpenAI's layout: optional ``event:`` line, ``data:`` line(s), blank line."""
    out: list[str] = []
    for ev in events:
        if ev.event is not None:
            out.append(f"event: {ev.event}\n")
        if ev.id is not None:
            out.append(f"id: {ev.id}\n")
        if ev.retry is not None:
            out.append(f"retry: {ev.retry}\n")
        for line in ev.data.split("\n"):
            out.append(f"data: {line}\n")
        out.append("\n")
    return "".join(out).encode("utf-8")
