"""What the pytest plugin costs a session that has not replayed anything yet: no heavy imports, no wasted patchers."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

from replaykit.config import Config
from replaykit.recorder import Setup, absent_patchers

HEAVY = ("vcr", "boto3", "openai", "moto", "jsonschema", "httpx", "httpx2")


def test_loading_the_plugin_imports_no_sdk_vcrpy_or_validator():
    # what pytest does at start-up: import the entry point, then register the modules it registers at configure
    code = (
        "import json, sys, pytest\n"
        "import replaykit.plugin, replaykit.plugin._fixtures, replaykit.plugin._resilience\n"
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def test_vcrpy_skips_patchers_of_libraries_that_are_not_installed():
    absent = absent_patchers()
    for name in ("httplib2", "tornado", "aiohttp"):
        assert (name in absent) == (importlib.util.find_spec(name) is None)
    assert Setup(Config()).cassette_kwargs("none")["skip_patchers"] == absent


def test_user_skip_patchers_win():
    assert Setup(Config()).cassette_kwargs("none", skip_patchers=("requests",))["skip_patchers"] == ("requests",)
