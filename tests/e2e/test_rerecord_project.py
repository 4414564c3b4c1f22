"""A fresh project outside this repository, used as a user would: ``replaykit init``, record, ``replaykit rerecord``
(clean, ``--profile next-2027``, ``--accept`` on unchanged traffic), and the contract check of a new enum value."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SUITE = '''
def test_chat(openai_client):
    r = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hi."}], max_tokens=50
    )
    assert r.choices[0].message.content


def test_converse(bedrock_runtime):
    r = bedrock_runtime.converse(
        modelId="anthropic.claude-3-haiku-20240307-v1:0",
        messages=[{"role": "user", "content": [{"text": "Name a colour."}]}],
    )
    assert r["output"]["message"]["content"][0]["text"]


def test_bucket(s3):
    s3.create_bucket(Bucket="shared-bucket")
    s3.put_object(Bucket="shared-bucket", Key="k", Body=b"v")
    assert s3.get_object(Bucket="shared-bucket", Key="k")["Body"].read() == b"v"
'''


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OPENAI_", "REPLAYKIT_", "PYTEST_"))}
    env.update(HOME=str(root.parent), TMPDIR=str(root.parent / "tmp"), GIT_CONFIG_NOSYSTEM="1")
    return env


def _run(root: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=root, capture_output=True, text=True, env=_env(root), timeout=timeout)


def replaykit(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _run(root, sys.executable, "-m", "replaykit.cli", *args)


def git(root: Path, *args: str) -> str:
    proc = _run(root, "git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    (root / "tests").mkdir(parents=True)
    (tmp_path / "tmp").mkdir()
    pyproject = '[project]\nname = "shop"\n\n[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'
    (root / "pyproject.toml").write_text(pyproject)
    (root / "tests" / "test_llm.py").write_text(SUITE)
    return root


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("REPLAYKIT_SLOW_TESTS"), reason="set REPLAYKIT_SLOW_TESTS=1 (records 4 times)")
def test_init_record_rerecord_accept_and_profile_drift(project: Path) -> None:
    init = replaykit(project, "init")
    assert init.returncode == 0, init.stderr
    assert 'rerecord_tests = ["tests"]' in (project / "pyproject.toml").read_text()
    rec = _run(project, sys.executable, "-m", "pytest", "--record-mode=once", "-q", "-p", "no:randomly")
    assert rec.returncode == 0, rec.stdout[-2000:]
    assert replaykit(project, "contracts", "update").returncode == 0
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "recorded")

    clean = replaykit(project, "rerecord")
    assert clean.returncode == 0, clean.stdout[-3000:] + clean.stderr
    assert clean.stdout.splitlines()[-1].startswith("replaykit rerecord: clean: 0 breaking")
    for name in ("drift.md", "drift.json", "drift-junit.xml", "drift.txt", "drift-annotations.txt"):
        assert (project / "drift-report" / name).is_file(), name

    accepted = replaykit(project, "rerecord", "--accept")
    assert accepted.returncode == 0, accepted.stdout[-3000:] + accepted.stderr
    assert "0 cassette(s) updated" in accepted.stdout
    assert git(project, "status", "--porcelain") == ""  # ids, dates and generated text changed; nothing to review

    drifted = replaykit(project, "rerecord", "--profile", "next-2027", "--out", "next")
    assert drifted.returncode == 1, drifted.stdout[-3000:] + drifted.stderr
    report = json.loads((project / "next" / "drift.json").read_text())
    breaking = [f for f in report["findings"] if f["severity"] == "breaking"]
    assert breaking, report["summary"]
    assert "breaking" in drifted.stdout and breaking[0]["check"] in drifted.stdout
    assert "drift at or above --fail-on" in drifted.stdout.splitlines()[-1]
    assert git(project, "status", "--porcelain", "--", "cassettes", "contracts") == ""  # no --accept: untouched


def test_rerecord_without_pyproject_or_suite_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    bare = tmp_path / "bare"
    bare.mkdir()
    proc = replaykit(bare, "rerecord")
    assert proc.returncode == 2 and "no pyproject.toml" in proc.stderr and "replaykit init" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    (bare / "pyproject.toml").write_text('[tool.replaykit]\nrerecord_tests = ["tests/contract"]\n')
    proc = replaykit(bare, "rerecord")
    assert proc.returncode == 2
    assert "tests/contract" in proc.stderr and "rerecord_tests" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


CHAT_CASSETTE = Path(__file__).resolve().parents[2] / "cassettes" / "test_openai" / "test_chat_completion.yaml"


def test_new_finish_reason_is_a_warning_unless_closed(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    root = tmp_path / "proj"
    (root / "cassettes" / "test_chat").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.replaykit]\n")
    for i in range(3):
        shutil.copy(CHAT_CASSETTE, root / "cassettes" / "test_chat" / f"test_{i}.yaml")
    assert replaykit(root, "contracts", "update").returncode == 0
    # a new model stops on its token limit: finish_reason "length", never seen by the contract
    text = CHAT_CASSETTE.read_text()
    assert "finish_reason: stop" in text
    (root / "cassettes" / "test_chat" / "test_new_model.yaml").write_text(
        text.replace("finish_reason: stop", "finish_reason: length")
    )
    check = replaykit(root, "contracts", "check", "--format", "json")
    assert check.returncode == 0, check.stdout
    warnings = [v for v in json.loads(check.stdout)["violations"] if v["path"].endswith("finish_reason")]
    assert [v["severity"] for v in warnings] == ["warning"]
    (root / "pyproject.toml").write_text('[tool.replaykit.drift]\nclosed = ["choices[*].finish_reason"]\n')
    closed = replaykit(root, "contracts", "check", "--format", "json")
    assert closed.returncode == 1
    errors = [v for v in json.loads(closed.stdout)["violations"] if v["severity"] == "error"]
    assert [v["path"] for v in errors] == ["$.choices[0].finish_reason"]


STATUS_SUITE = '''
import pytest


def test_chat(openai_client):
    pass


class TestGroup:
    @pytest.mark.parametrize("model", ["a/b"])
    def test_param(self, model, bedrock_runtime):
        pass


@pytest.mark.vcr
def test_never_recorded():
    pass


def test_plain():
    pass
'''


def test_status_flags_orphans_missing_cassettes_and_sdk_gaps(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    root = tmp_path / "proj"
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.replaykit]\ncassette_dir = "recordings"\n')
    (root / "tests" / "test_app.py").write_text(STATUS_SUITE)
    cassettes = root / "recordings" / "test_app"
    cassettes.mkdir(parents=True)
    shutil.copy(CHAT_CASSETTE, cassettes / "test_chat.yaml")
    # pytest-recording's name for TestGroup::test_param[a/b]: class-qualified, "/" made file-safe
    old_sdk = CHAT_CASSETTE.read_text().replace("openai: 3.", "openai: 2.")
    (cassettes / "TestGroup.test_param[a-b].yaml").write_text(old_sdk)
    shutil.copy(CHAT_CASSETTE, cassettes / "test_removed_long_ago.yaml")  # the planted orphan

    proc = replaykit(root, "status", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    by_name = {c["cassette"]: c for c in report["cassettes"]}
    assert [c for c, info in by_name.items() if info["orphan"]] == ["test_app/test_removed_long_ago.yaml"]
    assert by_name["test_app/test_chat.yaml"]["tests"] == ["tests/test_app.py::test_chat"]
    assert by_name["test_app/test_chat.yaml"]["operations"] == ["openai.chat.completions"]
    assert by_name["test_app/test_chat.yaml"]["target"] == "sandbox"
    assert by_name["test_app/test_chat.yaml"]["age_days"] > 0
    assert by_name["test_app/TestGroup.test_param[a-b].yaml"]["version_gaps"][0].startswith("openai 2.")
    assert report["tests_without_cassette"] == [
        {"test": "tests/test_app.py::test_never_recorded", "expected": "test_app/test_never_recorded.yaml"}
    ]
    assert report["counts"]["orphans"] == 1

    text = replaykit(root, "status", "--fail-on-orphans")
    assert text.returncode == 1
    lines = text.stdout.splitlines()
    assert "orphan: test_app/test_removed_long_ago.yaml (no collected test uses it)" in lines
    assert any(line.startswith("no cassette: tests/test_app.py::test_never_recorded") for line in lines)
    assert replaykit(root, "status", "--older-than", "100000").returncode == 0
    assert replaykit(root, "status", "--older-than", "0").returncode == 1


def test_rerecord_target_defaults_to_the_projects_target(tmp_path: Path) -> None:
    """Without ``--target``, rerecord uses ``[tool.replaykit] target``, and without that the product default: live."""
    (tmp_path / "tmp").mkdir()
    root = tmp_path / "app"
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "test_x.py").write_text("def test_x():\n    pass\n")
    (root / "pyproject.toml").write_text('[tool.replaykit]\nrerecord_tests = ["tests"]\n')
    live = replaykit(root, "rerecord")  # no credentials in the environment: refused before anything is sent
    assert live.returncode == 2, live.stdout + live.stderr
    assert "--target live needs credentials" in live.stderr and "OPENAI_API_KEY" in live.stderr
    explicit = replaykit(root, "rerecord", "--target", "sandbox")
    assert "needs credentials" not in explicit.stderr
    assert "target=sandbox" in explicit.stdout, explicit.stdout + explicit.stderr
    (root / "pyproject.toml").write_text('[tool.replaykit]\ntarget = "sandbox"\nrerecord_tests = ["tests"]\n')
    configured = replaykit(root, "rerecord")
    assert "needs credentials" not in configured.stderr
    assert "target=sandbox" in configured.stdout, configured.stdout + configured.stderr
