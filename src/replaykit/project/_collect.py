"""A pytest plugin for ``replaykit status``: after collection, write each test's cassette needs as JSON.

Loaded with ``-p replaykit.project._collect`` in a ``pytest --collect-only`` subprocess; the output file is named
by ``REPLAYKIT_COLLECT_OUT``. replaykit's own plugin has already given fixture users the ``vcr`` marker by then.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ENV = "REPLAYKIT_COLLECT_OUT"


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Write ``[{nodeid, module, name, vcr, extra}]`` for every collected test."""
    out = os.environ.get(ENV)
    if not out:
        return
    items = []
    for item in session.items:
        marker = item.get_closest_marker("vcr")
        cls = getattr(item, "cls", None)
        name = f"{cls.__name__}.{item.name}" if cls is not None else item.name
        items.append(
            {
                "nodeid": item.nodeid,
                "module": Path(str(item.path)).stem,
                "name": name,
                "vcr": marker is not None,
                "extra": [str(a) for a in (marker.args if marker is not None else ())],
            }
        )
    Path(out).write_text(json.dumps(items), encoding="utf-8")
