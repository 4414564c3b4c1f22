"""``rerecord --accept`` without churn.

A re-recorded cassette that differs from the committed one only in values that change on every call (ids, dates,
generated text, token counts) keeps its committed text byte for byte.

"Only volatile" means, for every exchange pair: no drift finding at all, every changed response value at a volatile
path, and every changed request value one the provider handed out earlier in the same cassette (a tool-use id, an S3
upload id, an ETag) -- so the committed cassette still replays the test exactly as the new one would. The whole
cassette is kept or replaced, never spliced: a cassette mixing two recordings could hand out an id in one exchange
and expect a different one in the next.
"""

from __future__ import annotations

import filecmp
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from replaykit.drift.compare import compare_exchanges
from replaykit.drift.config import DriftConfig
from replaykit.drift.pair import load_cassette
from replaykit.drift.rules import query_matters
from replaykit.errors import CassetteError
from replaykit.exchange import Exchange, content_type_of

_TMP_SUFFIX = ".rerecord-tmp"


@dataclass
class AcceptResult:
    """What ``accept_cassettes`` did to each re-recorded cassette (paths relative to the cassette directory)."""

    updated: list[str] = field(default_factory=list)  # new or changed: copied over the committed file
    kept: list[str] = field(default_factory=list)  # only volatile values changed: committed text kept
    unchanged: list[str] = field(default_factory=list)  # byte-identical already


def only_volatile_changes(old: list[Exchange], new: list[Exchange], config: DriftConfig | None = None) -> bool:
    """Whether ``new`` re-records ``old`` with nothing but volatile values changed (see the module docstring)."""
    if len(old) != len(new):
        return False
    for o, n in zip(old, new, strict=True):
        if o.operation != n.operation or o.response.status != n.response.status:
            return False
    report = compare_exchanges(old, new, config=config or DriftConfig())
    if report.findings or any(p.value_changes != p.value_changes_volatile for p in report.pairs):
        return False
    handed_old: set[str] = set()
    handed_new: set[str] = set()
    for o, n in zip(old, new, strict=True):
        a, b = _request_values(o), _request_values(n)
        if a.keys() != b.keys():
            return False
        for key, value in a.items():
            if value != b[key] and not (value in handed_old and b[key] in handed_new):
                return False
        handed_old.update(_response_values(o))
        handed_new.update(_response_values(n))
    return True


def accept_cassettes(committed: Path, scratch: Path, config: DriftConfig | None = None) -> AcceptResult:
    """Copy re-recorded cassettes from ``scratch`` over ``committed``, keeping those with only volatile changes."""
    result = AcceptResult()
    for src in sorted(p for p in scratch.rglob("*") if p.is_file()):
        rel = src.relative_to(scratch).as_posix()
        dest = committed / rel
        if dest.is_file():
            if filecmp.cmp(src, dest, shallow=False):
                result.unchanged.append(rel)
                continue
            try:
                same = only_volatile_changes(load_cassette(dest), load_cassette(src), config)
            except CassetteError:
                same = False  # an unreadable committed cassette is replaced by the fresh recording
            if same:
                result.kept.append(rel)
                continue
        copy_atomic(src, dest)
        result.updated.append(rel)
    return result


def copy_atomic(src: Path, dest: Path) -> None:
    """Copy a file into place by rename: a cassette is either the old file or the new one, never half of each."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f"{dest.name}{_TMP_SUFFIX}.{os.getpid()}")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _request_values(ex: Exchange) -> dict[str, str]:
    """Every value of a request that replay matching can see: path segments, query values, body leaves."""
    from replaykit.contracts.bodies import body_value

    parts = urlsplit(ex.request.uri)
    out = {"method": ex.request.method.upper(), "host": parts.netloc}
    for i, seg in enumerate(parts.path.split("/")):
        out[f"path[{i}]"] = unquote(seg)
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if query_matters(name):
            out[f"query.{name}"] = value
    body = body_value(ex.request.body, content_type_of(ex.request.headers))
    if body is None and ex.request.body.kind not in ("empty",):
        body = repr(ex.request.body.value)
    for path, leaf in _leaves(body, "body"):
        out[path] = leaf
    return out


def _response_values(ex: Exchange) -> Iterator[str]:
    """String values a response hands out (body leaves, event payload leaves, header values)."""
    from replaykit.contracts.bodies import body_value, is_stream, iter_events

    for values in ex.response.headers.values():
        yield from (str(v) for v in values)
    body = ex.response.body
    payloads: Iterable[Any] = (
        (ev.payload for ev in iter_events(body)) if is_stream(body) else [body_value(body, ex.response.content_type)]
    )
    for payload in payloads:
        for _path, leaf in _leaves(payload, ""):
            yield leaf


def _leaves(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}[{i}]")
    elif value is not None:
        yield path, value if isinstance(value, str) else repr(value)
