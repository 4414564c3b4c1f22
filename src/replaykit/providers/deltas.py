"""The shape of provider stream knowledge: which stream events carry a fragment (a delta) of a longer text.

A streamed answer arrives as many events, each holding a few characters of one logical text (a content block,
a tool call's arguments). Each provider module lists its delta events as ``StreamDelta`` rows; the scrubber and
the scanner join the fragments of one logical text and read it whole (``replaykit.scrub.streams``).

Paths are dotted keys into a stored event (the cassette form: SSE ``data``, event-stream ``json`` with
``bytes_json`` for InvokeModel chunks). ``[index]`` after a key means "each element of this list", told apart by
the element's ``index`` field (its position when it has none): OpenAI numbers choices and tool calls that way.
"""

from __future__ import annotations

from typing import NamedTuple


class StreamDelta(NamedTuple):
    """One kind of stream event that carries a fragment of a longer text."""

    body: str  # the cassette body kind: "sse" or "eventstream"
    text: str  # path to the fragment string, e.g. "data.choices[index].delta.content"
    where: tuple[tuple[str, str], ...] = ()  # (path, value) pairs the event must hold
    group: tuple[str, ...] = ()  # paths whose values tell one logical text from another (besides [index])
