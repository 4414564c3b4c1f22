"""What a contract sees of a recorded body: the decoded value, stream events by type, and JSON paths into them.

Contracts describe bodies as they are stored in the cassette (never SDK-parsed objects), with two views added:
XML text bodies (S3) are seen as a JSON-ish dict (``xml_to_json``), and stream bodies are seen as a list of
``(event type, payload)`` pairs.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from replaykit.codecs.safe import load_json
from replaykit.exchange import Body

STREAM_KINDS = ("eventstream", "sse")
# the terminal `data: [DONE]` of OpenAI streams is its own event type so the "data" schema stays an object
DONE_EVENT = "[DONE]"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class StreamEvent:
    """One event of a stream body: its type, its payload and the JSON path of the payload in the stored body."""

    index: int
    type: str
    payload: Any
    path: str


def is_xml(content_type: str, text: str) -> bool:
    """Whether a text body is XML (by media type, or by its prolog when the type is missing)."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    # botocore sends rest-xml request bodies (CompleteMultipartUpload) without a prolog or a content type
    stripped = text.strip()
    return ctype.endswith(("/xml", "+xml")) or (not ctype and stripped.startswith("<") and stripped.endswith(">"))


def xml_to_json(text: str) -> Any:
    """A JSON-ish view of an XML document: the root's children as a dict; repeated tags become lists.

    Leaves are their text (``""`` when empty), namespaces and attributes are dropped and the root tag is left out,
    as botocore's rest-xml parser does. Text that is not well-formed XML is returned unchanged.
    """
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return text
    value = _element(root)
    return value if isinstance(value, dict) else {}


def _element(elem: ET.Element) -> Any:
    children = list(elem)
    if not children:
        return elem.text or ""
    out: dict[str, Any] = {}
    for child in children:
        tag = child.tag.rsplit("}", 1)[-1]
        value = _element(child)
        if tag in out:
            prev = out[tag]
            if isinstance(prev, _Repeated):
                prev.append(value)
            else:
                out[tag] = _Repeated([prev, value])
        else:
            out[tag] = value
    return {k: (list(v) if isinstance(v, _Repeated) else v) for k, v in out.items()}


class _Repeated(list):
    """A list made from repeated sibling tags while a parent is being built."""


def is_media_type(content_type: str) -> bool:
    """Whether a content type names a media type (not empty, not a redaction placeholder like ``**REDACTED**``)."""
    return "/" in content_type


def _json_text(content_type: str) -> bool:
    ctype = content_type.split(";", 1)[0].strip().lower()
    return not is_media_type(ctype) or ctype.endswith(("/json", "+json")) or ctype.startswith("application/x-amz-json")


def body_value(body: Body, content_type: str = "") -> Any:
    """The value a body schema validates: JSON as stored, XML as a dict, other text/base64 as a string, else None.

    Text that is a JSON object or array is seen as JSON when the content type is JSON, missing or redacted (JSON
    kept verbatim, or recorded with its headers scrubbed).
    """
    kind, value = body.kind, body.value
    if kind == "json":
        return value
    if kind == "text":
        text = str(value)
        if is_xml(content_type, text):
            return xml_to_json(text)
        if text.lstrip()[:1] in ("{", "[") and _json_text(content_type):
            try:
                return load_json(text)
            except ValueError:
                return text
        return text
    if kind == "base64":
        return str(value)
    return None


def is_stream(body: Body) -> bool:
    """Whether a body is an event stream (AWS event stream or SSE)."""
    return body.kind in STREAM_KINDS and isinstance(body.value, list)


def event_type(kind: str, event: dict[str, Any]) -> str:
    """The contract event type of a stored event: the AWS/SSE event name, ``data`` or ``[DONE]`` for unnamed SSE."""
    name = event.get("event")
    if isinstance(name, str) and name:
        return name
    if kind == "sse":
        return DONE_EVENT if event.get("data") == DONE_EVENT else "data"
    return str(event.get("type") or "event")


def iter_events(body: Body, *, official: bool = False) -> Iterator[StreamEvent]:
    """The events of a stream body with their payloads; ``official`` shows ``bytes_json`` as the wire's ``bytes``."""
    if not is_stream(body):
        return
    for i, ev in enumerate(body.value):
        if not isinstance(ev, dict):
            yield StreamEvent(i, "event", ev, f"$[{i}]")
            continue
        etype = event_type(body.kind, ev)
        if body.kind == "sse":
            yield StreamEvent(i, etype, ev.get("data"), f"$[{i}].data")
            continue
        for key in ("json", "text", "base64"):
            if key in ev:
                payload = ev[key]
                if official and key == "json" and isinstance(payload, dict) and "bytes_json" in payload:
                    # the wire carries the model's JSON base64-encoded under "bytes"; any string stands in for it
                    payload = {
                        ("bytes" if k == "bytes_json" else k): ("" if k == "bytes_json" else v)
                        for k, v in payload.items()
                    }
                yield StreamEvent(i, etype, payload, f"$[{i}].{key}")
                break
        else:
            yield StreamEvent(i, etype, None, f"$[{i}]")


def json_path(base: str, parts: Iterable[str | int]) -> str:
    """A JSON path like ``$.output.message.content[0].text`` from a base path and keys/indexes."""
    out = [base]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENT.match(part):
            out.append(f".{part}")
        else:
            out.append("['" + part.replace("\\", "\\\\").replace("'", "\\'") + "']")
    return "".join(out)


def type_name(value: Any) -> str:
    """The JSON type name of a Python value decoded from JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
