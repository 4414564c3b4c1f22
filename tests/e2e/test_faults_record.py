"""Faults apply while recording: a faulted test records itself with one ``--record-mode=once`` run, then replays.

A throwaway project (its own pyproject, its own tests, public API only) is recorded against the sandbox and
replayed offline in fresh pytest processes, as a team would run it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from replaykit import load_exchanges

PYPROJECT = """
[tool.pytest.ini_options]
addopts = "-p no:cacheprovider -p no:randomly"

[tool.replaykit]
cassette_dir = "cassettes"
target = "sandbox"
"""

TESTS = '''
import botocore.exceptions
import pytest
from replaykit import faults

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
PROMPT = "Summarise the incident policy."


def answer(bedrock_runtime, openai_client):
    """The code under test: Bedrock first, OpenAI when Bedrock fails."""
    try:
        out = bedrock_runtime.converse(modelId=HAIKU, messages=[{"role": "user", "content": [{"text": PROMPT}]}])
        return "bedrock", out["output"]["message"]["content"][0]["text"]
    except botocore.exceptions.ClientError:
        chat = openai_client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}]
        )
        return "openai", chat.choices[0].message.content


@pytest.mark.replaykit_faults(faults.throttle("bedrock-runtime.Converse"))
def test_falls_back_when_bedrock_throttles(bedrock_runtime, openai_client, replaykit_faults):
    provider, text = answer(bedrock_runtime, openai_client)
    assert provider == "openai" and text
    assert replaykit_faults.count("error", "bedrock-runtime.Converse") == 1


@pytest.mark.replaykit_faults(faults.stream_break(after=2, operation="openai.chat.completions"))
def test_stream_cut_mid_way(openai_client):
    stream = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "tell me a story"}], stream=True
    )
    chunks = list(stream)
    assert len(chunks) == 2 and all(c.choices[0].finish_reason is None for c in chunks)
'''


def _pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OPENAI_", "REPLAYKIT_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *args], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )


def test_faulted_tests_record_themselves_and_replay(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_gateway.py").write_text(TESTS)

    recorded = _pytest(tmp_path, "--record-mode=once")
    assert "2 passed" in recorded.stdout, recorded.stdout + recorded.stderr

    cassettes = tmp_path / "cassettes" / "test_gateway"
    fallback = load_exchanges(cassettes / "test_falls_back_when_bedrock_throttles.yaml")
    # the throttled Bedrock call was answered by the fault, never sent: only the OpenAI leg is in the cassette
    assert [ex.operation for ex in fallback] == ["openai.chat.completions"]
    (story,) = load_exchanges(cassettes / "test_stream_cut_mid_way.yaml")
    # the stream was recorded whole (the break is applied on delivery, in both modes)
    assert story.response.body.kind == "sse" and len(story.response.body.value) > 3

    for _ in range(2):
        replayed = _pytest(tmp_path)
        assert "2 passed" in replayed.stdout and "error" not in replayed.stdout.lower(), replayed.stdout
