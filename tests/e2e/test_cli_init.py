"""``replaykit init`` in a fresh project: what it writes, what it never overwrites, and --dry-run."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import yaml


def init(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "replaykit.cli", "init", *args], cwd=root, capture_output=True, text=True, timeout=60
    )


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    proc = init(tmp_path, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "would create pyproject.toml" in proc.stdout and "dry run: nothing written" in proc.stdout
    assert list(tmp_path.iterdir()) == []


def test_fresh_project_gets_every_file(tmp_path: Path) -> None:
    (tmp_path / "tests" / "contract").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "shop"\n')
    proc = init(tmp_path)
    assert proc.returncode == 0, proc.stderr
    config = tomllib.loads((tmp_path / "pyproject.toml").read_text())
    assert config["project"] == {"name": "shop"}  # appended, not clobbered
    assert config["tool"]["replaykit"]["rerecord_tests"] == ["tests/contract"]
    workflow = yaml.safe_load((tmp_path / ".github" / "workflows" / "replaykit-drift.yml").read_text())
    steps = workflow["jobs"]["drift"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    oidc = next(s for s in steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials"))
    assert oidc["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
    assert workflow["permissions"]["id-token"] == "write"
    assert any("secrets.AWS_ACCESS_KEY_ID" in str(s.get("env", {})) for s in steps)  # stored keys without a role
    assert any("replaykit rerecord --target live" in s.get("run", "") for s in steps)
    assert any("GITHUB_STEP_SUMMARY" in s.get("run", "") for s in steps)
    assert any(u.startswith("actions/upload-artifact") for u in uses)
    assert "schedule" in workflow[True]  # YAML 1.1 reads the key `on` as True
    hooks = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    assert hooks[0]["entry"] == "replaykit scan"
    assert (tmp_path / ".gitignore").read_text().splitlines() == [".replaykit-cache/", "drift-report/"]


def test_existing_files_are_never_overwritten(tmp_path: Path) -> None:
    workflow = tmp_path / ".github" / "workflows" / "replaykit-drift.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text("# mine\n")
    (tmp_path / ".pre-commit-config.yaml").write_text("repos: []\n")
    (tmp_path / ".gitignore").write_text("dist/\n.replaykit-cache/")  # no trailing newline
    (tmp_path / "pyproject.toml").write_text('[tool.replaykit]\ncassette_dir = "recs"\n')
    before = (tmp_path / "pyproject.toml").read_text()
    proc = init(tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "skip   .github/workflows/replaykit-drift.yml: exists; not overwritten" in out
    assert "skip   .pre-commit-config.yaml: exists; not overwritten -- add this hook" in out
    assert "entry: replaykit scan" in out
    assert "skip   pyproject.toml: already has a [tool.replaykit] table" in out
    assert workflow.read_text() == "# mine\n"
    assert (tmp_path / ".pre-commit-config.yaml").read_text() == "repos: []\n"
    assert (tmp_path / "pyproject.toml").read_text() == before
    assert (tmp_path / ".gitignore").read_text() == "dist/\n.replaykit-cache/\ndrift-report/\n"


def test_broken_pyproject_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool\n")
    proc = init(tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "invalid TOML" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]
