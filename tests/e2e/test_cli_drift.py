"""`replaykit drift` as a command, and scripts/rerecord.sh driving a stub contract suite end to end."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from replaykit.cli import main

REPO = Path(__file__).resolve().parents[2]
CASES = REPO / "tests" / "cases" / "drift"
SCRIPT = REPO / "scripts" / "rerecord.sh"


def case(name: str) -> list[str]:
    return [str(CASES / name / "old.yaml"), str(CASES / name / "new.yaml")]


@pytest.mark.parametrize(
    ("name", "fail_on", "code"),
    [
        ("noise", None, 0),
        ("noise", "additive", 0),
        ("noise", "any", 1),
        ("field_added", None, 0),
        ("field_added", "additive", 1),
        ("field_added", "any", 1),
        ("field_removed", None, 1),
        ("field_removed", "breaking", 1),
    ],
)
def test_exit_codes_follow_fail_on(name, fail_on, code, capsys):
    argv = ["drift", *case(name)] + (["--fail-on", fail_on] if fail_on else [])
    assert main(argv) == code
    out = capsys.readouterr().out
    assert ("FAIL" in out.splitlines()[-1]) is bool(code)


def test_missing_path_is_a_one_line_usage_error(capsys):
    assert main(["drift", str(CASES / "nope"), str(CASES / "noise" / "new.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "OLD not found" in err


def test_bad_option_is_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["drift", *case("noise"), "--format", "pdf"])
    assert exc.value.code == 2
    assert main(["drift", *case("noise"), "--report", "pdf=x"]) == 2


def test_bad_config_is_exit_2(tmp_path, capsys):
    (tmp_path / "pyproject.toml").write_text("[tool.replaykit.drift]\nsevrity = {}\n")
    assert main(["drift", *case("noise"), "--config", str(tmp_path / "pyproject.toml")]) == 2
    assert "unknown key(s) sevrity" in capsys.readouterr().err


def test_formats_and_output_files(tmp_path, capsys):
    out = tmp_path / "r" / "drift.json"
    code = main(
        [
            "drift",
            str(CASES / "tree" / "old"),
            str(CASES / "tree" / "new"),
            "--format",
            "json",
            "--output",
            str(out),
            "--report",
            f"junit={tmp_path / 'junit.xml'}",
            "--report",
            f"markdown={tmp_path / 'd.md'}",
        ]
    )
    assert code == 1  # a cassette disappeared: breaking
    printed = capsys.readouterr().out
    assert printed.startswith("replaykit drift: 1 breaking · 2 additive") and str(out) in printed
    data = json.loads(out.read_text())
    assert data["schema_version"] == 1 and data["failed"] is True
    assert {f["check"] for f in data["findings"]} == {"cassette-removed", "cassette-added", "response-field-added"}
    assert ET.parse(tmp_path / "junit.xml").getroot().get("failures") == "1"
    assert (tmp_path / "d.md").read_text().startswith("## replaykit drift: ❌ breaking drift")


def test_ignore_and_allowlist_options(tmp_path, capsys):
    assert main(["drift", *case("field_removed"), "--ignore", "metrics"]) == 0
    allow = tmp_path / "allow.yaml"
    allow.write_text("- {check: response-field-removed, path: metrics, reason: Bedrock dropped metrics; unused}\n")
    capsys.readouterr()
    assert main(["drift", *case("field_removed"), "--allowlist", str(allow), "--format", "markdown"]) == 0
    assert "### Accepted (1)" in capsys.readouterr().out


def test_config_from_pyproject(tmp_path, capsys):
    (tmp_path / "pyproject.toml").write_text('[tool.replaykit.drift]\nseverity = {"enum-value-added" = "breaking"}\n')
    assert main(["drift", *case("enum_value")]) == 0
    assert main(["drift", *case("enum_value"), "--config", str(tmp_path / "pyproject.toml")]) == 1


def test_show_values_lists_value_changes(capsys):
    assert main(["drift", *case("noise"), "--show-values", "--format", "github"]) == 0
    out = capsys.readouterr().out
    assert "::notice" in out and "value-changed" in out


def test_github_format_from_a_subprocess():
    proc = subprocess.run(
        [sys.executable, "-m", "replaykit.cli", "drift", *case("type_changed"), "--format", "github"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stdout.startswith(
        "::error file=tests/cases/drift/type_changed/old.yaml,line=8,"
        "title=drift response-type-changed::bedrock-runtime.Converse response.body "
        "usage.inputTokens: number → string"
    )


# -- scripts/rerecord.sh -------------------------------------------------------------------------------------------

STUB_TEST = """
import os
import shutil
import time
from pathlib import Path


def test_records(request):
    # stands in for a recording run: the "provider" now answers with the cassette named in STUB_NEW
    assert request.config.getoption("--replaykit-contracts") == "off"
    assert request.config.getoption("--record-mode") == "all"
    if os.environ.get("STUB_WAIT"):
        Path(os.environ["STUB_WAIT"]).write_text("recording")
        time.sleep(60)
    target = Path(request.config.getoption("--replaykit-cassette-dir")) / "test_a.yaml"
    shutil.copy(os.environ["STUB_NEW"], target)
"""


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "proj"
    (root / "cassettes").mkdir(parents=True)
    (root / "tests" / "contract").mkdir(parents=True)
    shutil.copy(CASES / "field_removed" / "old.yaml", root / "cassettes" / "test_a.yaml")
    shutil.copy(CASES / "noise" / "old.yaml", root / "cassettes" / "test_b.yaml")
    (root / "tests" / "contract" / "test_stub.py").write_text(STUB_TEST)
    (root / "pyproject.toml").write_text('[tool.replaykit]\ntarget = "sandbox"\nrerecord_tests = ["tests/contract"]\n')
    (tmp_path / "tmp").mkdir()
    return root


def _env(project: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OPENAI_", "REPLAYKIT_", "PYTEST_"))}
    env.update(
        REPLAYKIT_ROOT=str(project),
        REPLAYKIT_PYTHON=sys.executable,
        TMPDIR=str(project.parent / "tmp"),
        STUB_NEW=str(CASES / "field_removed" / "new.yaml"),
        HOME=str(project.parent),
    )
    env.update(extra)
    return env


def _run(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, env=_env(project, **env), timeout=120
    )


def test_rerecord_help():
    proc = subprocess.run(["bash", str(SCRIPT), "--help"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and proc.stdout.startswith("usage: replaykit rerecord")
    assert "--accept" in proc.stdout and "PYTEST-ARGS" in proc.stdout


def test_rerecord_reports_drift_and_leaves_committed_cassettes_alone(project):
    before = (project / "cassettes" / "test_a.yaml").read_bytes()
    proc = _run(project, "--out", "reports")
    assert proc.returncode == 1, proc.stderr
    assert "response-field-removed" in proc.stdout and "FAIL" in proc.stdout
    assert (project / "cassettes" / "test_a.yaml").read_bytes() == before
    for name in ("drift.md", "drift.json", "drift-junit.xml", "drift.txt"):
        assert (project / "reports" / name).is_file(), name
    data = json.loads((project / "reports" / "drift.json").read_text())
    assert [f["check"] for f in data["findings"]] == ["response-field-removed"]
    assert list((project.parent / "tmp").iterdir()) == []  # scratch removed


def test_rerecord_accept_updates_cassettes(project):
    proc = _run(project, "--accept", "--out", "reports")
    assert proc.returncode == 1, proc.stderr  # drift's exit code, even when accepted
    assert "accepted:  1 cassette(s) updated" in proc.stdout
    assert (project / "cassettes" / "test_a.yaml").read_bytes() == (CASES / "field_removed" / "new.yaml").read_bytes()
    assert not list((project / "cassettes").glob("*.rerecord-tmp.*"))


def test_rerecord_live_names_missing_credentials(project):
    proc = _run(project, "--target", "live")
    assert proc.returncode == 2
    assert "AWS_ACCESS_KEY_ID" in proc.stderr and "OPENAI_API_KEY" in proc.stderr
    proc = _run(project, "--target", "live", OPENAI_API_KEY="sk-test", AWS_ACCESS_KEY_ID="AKIAEXAMPLE")
    assert proc.returncode == 2
    assert "AWS_SECRET_ACCESS_KEY" in proc.stderr and "OPENAI_API_KEY" not in proc.stderr


def test_rerecord_usage_errors(project):
    assert _run(project, "--target", "prod").returncode == 2
    assert _run(project, "--max-cost", "lots").returncode == 2
    assert _run(project, "--frobnicate").returncode == 2


def test_rerecord_interrupt_never_touches_committed_cassettes(project):
    before = {p.name: p.read_bytes() for p in (project / "cassettes").iterdir()}
    marker = project.parent / "recording"
    proc = subprocess.Popen(
        ["bash", str(SCRIPT), "--accept"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(project, STUB_WAIT=str(marker)),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), proc.communicate()
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode != 0
    assert "committed cassettes are untouched" in err or "interrupted" in err
    assert {p.name: p.read_bytes() for p in (project / "cassettes").iterdir()} == before
    assert list((project.parent / "tmp").iterdir()) == []


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("REPLAYKIT_SLOW_TESTS"), reason="set REPLAYKIT_SLOW_TESTS=1 (records the suite)")
@pytest.mark.parametrize("profile_name", ["legacy-2024", "next-2027"])
def test_rerecord_through_the_sandbox_finds_every_profile_change(tmp_path, profile_name):
    # the real thing: the contract suite re-recorded through the offline sandbox serving another API shape
    from types import SimpleNamespace

    from replaykit.sandbox import PROFILES

    spec = importlib.util.spec_from_file_location("drift_case_builders_e2e", CASES / "builders.py")
    builders = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builders)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OPENAI_"))}
    env.update(REPLAYKIT_ROOT=str(REPO), REPLAYKIT_PYTHON=sys.executable, TMPDIR=str(tmp_path))
    proc = subprocess.run(
        ["bash", str(SCRIPT), "--profile", profile_name, "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]  # both profiles remove fields
    data = json.loads((tmp_path / "out" / "drift.json").read_text())
    findings = [SimpleNamespace(**{k: g[k] for k in ("check", "operation", "where", "path")}) for g in data["findings"]]
    missing = [c for c in PROFILES[profile_name].changes if not builders.profile_change_found(c, findings)]
    assert missing == []


def test_piped_text_is_one_finding_per_line(capsys):
    # CI logs are not terminals: no table folded mid-word, each finding greppable on one line
    assert main(["drift", str(CASES / "tree" / "old"), str(CASES / "tree" / "new")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:4] == [
        "BREAKING cassette-removed (cassette) cassette: exists only in OLD [test_retired.yaml]",
        "additive cassette-added (cassette) cassette: exists only in NEW [test_brand_new.yaml]",
        "additive response-field-added bedrock-runtime.Converse response.body usage.serverToolUsage: "
        "added (object) = {} [bedrock/test_converse.yaml#0]",
    ]
    assert not any(ch in "".join(lines) for ch in "│─━")


def test_rerecord_accept_of_volatile_noise_leaves_git_clean(project, tmp_path):
    # the committed cassette, and a re-recording of it where only dates, request ids and token counts changed
    committed = REPO / "cassettes" / "test_bedrock" / "test_converse_text.yaml"
    shutil.copy(committed, project / "cassettes" / "test_a.yaml")
    text = committed.read_text()
    noisy = tmp_path / "noisy.yaml"
    noisy.write_text(
        text.replace("recorded_at: '2026-11-23", "recorded_at: '2026-12-24")
        .replace("Mon, 23 Nov 2026", "Thu, 24 Dec 2026")
        .replace("latencyMs: ", "latencyMs: 1")
    )
    assert noisy.read_text() != text
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "-C", str(project)]
    (project / ".gitignore").write_text("reports/\n.replaykit-cache/\n")  # what `replaykit init` ignores
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "recorded"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    proc = _run(project, "--accept", "--out", "reports", STUB_NEW=str(noisy))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 cassette(s) updated" in proc.stdout and "1 kept" in proc.stdout
    status = subprocess.run([*git, "status", "--porcelain"], check=True, capture_output=True, text=True)
    assert status.stdout == ""
