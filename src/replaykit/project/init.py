"""``replaykit init``: the files a project needs to record, scan and re-record, written only where absent.

Nothing existing is overwritten: pyproject.toml gets a ``[tool.replaykit]`` table appended (unless it has one),
.gitignore gets the parse-cache line appended (unless present), and the workflow and pre-commit files are created
only when missing. Each step says what it did or why it skipped.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from replaykit.cassette.cache import DIRNAME as CACHE_DIRNAME
from replaykit.config import pytest_testpaths
from replaykit.errors import ConfigError

WORKFLOW = Path(".github/workflows/replaykit-drift.yml")
PRECOMMIT = Path(".pre-commit-config.yaml")


@dataclass(frozen=True)
class Step:
    """One file ``init`` would touch: ``action`` is create, append or skip; ``why`` says which and why."""

    path: Path
    action: str
    why: str
    text: str = ""


def plan_init(root: Path) -> list[Step]:
    """What ``init`` would do in ``root`` (nothing is written)."""
    return [_pyproject(root), _workflow(root), _precommit(root), _gitignore(root)]


def apply_init(root: Path, steps: list[Step]) -> None:
    """Carry out a plan: create missing files, append to existing ones, never overwrite."""
    for step in steps:
        target = root / step.path
        if step.action == "create":
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "x", encoding="utf-8") as fh:  # "x": a file that appeared since the plan is kept
                fh.write(step.text)
        elif step.action == "append":
            existing = target.read_text(encoding="utf-8")
            sep = "" if not existing or existing.endswith("\n") else "\n"
            with open(target, "a", encoding="utf-8") as fh:
                fh.write(sep + step.text)


def _suite(root: Path) -> str:
    for candidate in ("tests/contract", "tests/contracts"):
        if (root / candidate).is_dir():
            return candidate
    paths = pytest_testpaths(root / "pyproject.toml")
    return paths[0] if paths else "tests"


def _block(root: Path) -> str:
    return f"""
[tool.replaykit]
# cassettes live at <cassette_dir>/<test module>/<test name>.yaml
cassette_dir = "cassettes"
# one JSON Schema per operation (`replaykit contracts update`)
contracts_dir = "contracts"
# record against the offline sandbox; "live" for the real providers
target = "sandbox"
# the suite `replaykit rerecord` re-records
rerecord_tests = ["{_suite(root)}"]
# a field becomes required in a contract after this many samples
contract_min_samples = 3
"""


def _pyproject(root: Path) -> Step:
    path = Path("pyproject.toml")
    full = root / path
    if not full.is_file():
        return Step(path, "create", "new file with a [tool.replaykit] table", _block(root).lstrip())
    try:
        data = tomllib.loads(full.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{full}: invalid TOML, fix it before `replaykit init`: {exc}") from exc
    if "replaykit" in data.get("tool", {}):
        return Step(path, "skip", "already has a [tool.replaykit] table")
    return Step(path, "append", "add a [tool.replaykit] table at the end", _block(root))


def _workflow(root: Path) -> Step:
    if (root / WORKFLOW).exists():
        return Step(WORKFLOW, "skip", "exists; not overwritten")
    return Step(WORKFLOW, "create", "weekly live re-record with drift report, job summary and artifacts", _WORKFLOW)


def _precommit(root: Path) -> Step:
    if (root / PRECOMMIT).exists():
        text = (root / PRECOMMIT).read_text(encoding="utf-8", errors="replace")
        if "replaykit scan" in text:
            return Step(PRECOMMIT, "skip", "already runs replaykit scan")
        return Step(PRECOMMIT, "skip", "exists; not overwritten -- add this hook under `repos:`:\n" + _HOOK)
    return Step(PRECOMMIT, "create", "secrets scan of cassettes and contracts before each commit", _PRECOMMIT)


def _gitignore(root: Path) -> Step:
    path = Path(".gitignore")
    full = root / path
    text = full.read_text(encoding="utf-8", errors="replace") if full.is_file() else ""
    present = {raw.strip().strip("/") for raw in text.splitlines()}
    # the parse cache, and the reports `replaykit rerecord` writes by default
    missing = [f"{name}/" for name in (CACHE_DIRNAME, "drift-report") if name not in present]
    if not missing:
        return Step(path, "skip", "already ignores the parse cache and drift-report/")
    why = "ignore " + " and ".join(missing)
    return Step(path, "append" if full.is_file() else "create", why, "".join(f"{m}\n" for m in missing))


_HOOK = """\
  - repo: local
    hooks:
      - id: replaykit-scan
        name: replaykit scan (no secrets in cassettes)
        entry: replaykit scan
        language: system
        files: ^(cassettes|contracts)/
"""

_PRECOMMIT = "repos:\n" + _HOOK

_WORKFLOW = """\
# Weekly re-record of the recorded suite against the live providers (written by `replaykit init`).
# It separates API changes (breaking/additive) from value noise and fails only on breaking drift.
# AWS: set the repository variable AWS_ROLE_ARN to assume a role through GitHub OIDC (recommended), or store
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY as secrets. OpenAI: store OPENAI_API_KEY as a secret.
name: replaykit-drift

on:
  schedule:
    - cron: "17 6 * * 1"  # Mondays 06:17 UTC
  workflow_dispatch:
    inputs:
      max_cost:
        description: "Cost limit for the live record run, in USD"
        required: false
        default: "2.00"
      fail_on:
        description: "Lowest drift class that fails the run"
        required: false
        default: breaking
        type: choice
        options: [breaking, additive, any]

permissions:
  contents: read
  id-token: write  # OIDC role assumption

concurrency:
  group: replaykit-drift
  cancel-in-progress: false

jobs:
  drift:
    runs-on: ubuntu-latest
    timeout-minutes: 60
    steps:
      - uses: actions/checkout@v4

      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"

      - name: Install
        run: |
          python -m pip install --upgrade pip
          if grep -q '^\\[project\\]' pyproject.toml; then python -m pip install -e .; fi
          python -m pip install replaykit

      - name: AWS credentials (OIDC role)
        if: vars.AWS_ROLE_ARN != ''
        uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: ${{ vars.AWS_ROLE_ARN }}
          aws-region: ${{ vars.AWS_REGION || 'us-east-1' }}

      - name: AWS credentials (stored keys)
        if: vars.AWS_ROLE_ARN == ''
        env:
          KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}
          SECRET: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
          REGION: ${{ vars.AWS_REGION || 'us-east-1' }}
        run: |
          if [ -n "$KEY_ID" ]; then
            {
              echo "AWS_ACCESS_KEY_ID=$KEY_ID"
              echo "AWS_SECRET_ACCESS_KEY=$SECRET"
              echo "AWS_DEFAULT_REGION=$REGION"
            } >> "$GITHUB_ENV"
          fi

      - name: Re-record live and compare with the committed cassettes
        env:
          OPENAI_API_KEY: ${{ secrets.OPENAI_API_KEY }}
          # inputs go through the environment, never straight into the script text
          MAX_COST: ${{ inputs.max_cost || '2.00' }}
          FAIL_ON: ${{ inputs.fail_on || 'breaking' }}
        run: replaykit rerecord --target live --out drift-report --max-cost "$MAX_COST" --fail-on "$FAIL_ON"

      - name: Job summary
        if: always()
        run: |
          if [ -f drift-report/drift.md ]; then
            cat drift-report/drift.md >> "$GITHUB_STEP_SUMMARY"
          else
            echo "## replaykit drift: no report (the re-record stopped before comparing; see the log)" \\
              >> "$GITHUB_STEP_SUMMARY"
          fi

      - name: Annotations
        if: always() && hashFiles('drift-report/drift-annotations.txt') != ''
        run: cat drift-report/drift-annotations.txt

      - name: Upload reports
        if: always() && hashFiles('drift-report/*') != ''
        uses: actions/upload-artifact@v4
        with:
          name: drift-report
          path: drift-report/
          retention-days: 90
"""
