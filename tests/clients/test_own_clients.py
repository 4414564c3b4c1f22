"""Outside-in: a team's own project whose tests build langchain-aws, langchain-openai, pydantic-ai,
AnthropicBedrock and aiobotocore clients with no endpoint arguments. With ``[tool.replaykit] env = true`` and
``target = "sandbox"`` it records once against the sandbox, then replays twice with no AWS_* / OPENAI_* variables.

The project's test modules are the files in ``project/`` (real code a user would write), copied into a throwaway
directory; pytest runs there in a subprocess, as a user would run it. Three runs in all, to keep CI time down.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

for _module in ("langchain_aws", "langchain_openai", "pydantic_ai", "anthropic", "aiobotocore"):
    pytest.importorskip(_module, reason="install the clients extra: pip install -e '.[clients]'")

PROJECT = Path(__file__).parent / "project"
PYPROJECT = """
[tool.pytest.ini_options]
addopts = "-p no:cacheprovider -p no:randomly"
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "function"

[tool.replaykit]
env = true
target = "sandbox"
"""
FORBIDDEN = ("127.0.0.1", "Werkzeug", "x-stainless")


def _environment(home: Path, *, offline: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPLAYKIT_", "PYTEST_"))}
    if offline:
        # no credentials, no endpoints, no region, no profile files: replay must need none of them
        env = {k: v for k, v in env.items() if not k.startswith(("AWS_", "OPENAI_", "ANTHROPIC_"))}
        env["HOME"] = str(home)
    return env


def _pytest(root: Path, *args: str, offline: bool) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *args],
        cwd=root,
        env=_environment(root / "home", offline=offline),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_own_clients_record_once_then_replay_offline_twice(tmp_path):
    root = tmp_path / "team-project"
    (root / "tests").mkdir(parents=True)
    (root / "home").mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    for source in sorted(PROJECT.glob("*.py")):
        shutil.copy(source, root / "tests" / f"test_{source.name}")
    collected = sum(1 for s in PROJECT.glob("*.py") for line in s.read_text().splitlines() if "def test_" in line)

    record = _pytest(root, "--record-mode=once", offline=False)
    assert record.returncode == 0, record.stdout[-4000:] + record.stderr[-2000:]
    assert f"{collected} passed" in record.stdout
    assert "recorded against the sandbox (no spend)" in record.stdout

    cassettes = sorted((root / "cassettes").rglob("*.yaml"))
    assert len(cassettes) == collected
    for cassette in cassettes:
        text = cassette.read_text()
        assert "target: sandbox" in text
        for word in FORBIDDEN:
            assert word not in text, f"{cassette.relative_to(root)} contains {word!r}"

    for _ in range(2):
        replay = _pytest(root, offline=True)
        assert replay.returncode == 0, replay.stdout[-4000:] + replay.stderr[-2000:]
        assert f"{collected} passed" in replay.stdout and "mode: none" in replay.stdout
