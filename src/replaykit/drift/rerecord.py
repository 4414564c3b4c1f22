"""What ``replaykit rerecord`` runs, for any project.

Re-record a project's suite into a scratch copy of its cassettes, check the new traffic against the contracts,
report drift, and (with ``accept``) take the new cassettes. What ``replaykit rerecord`` runs, for any project.

The committed cassettes are only written with ``accept``, and only after the whole run has finished. Exit codes are
drift's: 0 clean, 1 drift at or above ``fail_on``, 2 usage, credential or run error (raised as ``ReplaykitError``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from replaykit.config import TARGETS, Config, find_pyproject, load_config, pytest_testpaths
from replaykit.drift.accept import AcceptResult, accept_cassettes
from replaykit.drift.config import FAIL_ON, DriftConfig, load_drift_config
from replaykit.drift.model import DriftReport
from replaykit.drift.text import render_lines, summary_line
from replaykit.errors import ConfigError, ReplaykitError

REPORT_FILES = {
    "text": "drift.txt",
    "markdown": "drift.md",
    "json": "drift.json",
    "junit": "drift-junit.xml",
    "github": "drift-annotations.txt",
}
_MAX_SHOWN_LINES = 40
_AWS = re.compile(r"amazonaws\.com|operation: (?:bedrock-runtime|s3)\.")
_OPENAI = re.compile(r"api\.openai\.com|operation: openai\.")


class RerecordError(ReplaykitError):
    """The re-record could not run or finish (pytest crashed, no tests collected, drift could not compare)."""


@dataclass(frozen=True)
class RerecordOptions:
    """What ``replaykit rerecord`` was asked to do."""

    target: str | None = None  # None: [tool.replaykit] target / $REPLAYKIT_TARGET, else live (the product default)
    profile: str | None = None
    accept: bool = False
    out: Path = Path("drift-report")
    fail_on: str | None = None  # None: [tool.replaykit.drift] fail_on, else breaking
    max_cost: float | None = None  # None: $REPLAYKIT_MAX_COST, [tool.replaykit] cost_limit, else 1.00
    keep_scratch: bool = False
    pytest_args: tuple[str, ...] = ()
    python: str = sys.executable

    def validate(self) -> None:
        """Raise ConfigError for options outside their allowed values."""
        if self.target is not None and self.target not in TARGETS:
            raise ConfigError(f"--target must be one of {', '.join(TARGETS)}, not {self.target!r}")
        if self.fail_on is not None and self.fail_on not in FAIL_ON:
            raise ConfigError(f"--fail-on must be one of {', '.join(FAIL_ON)}, not {self.fail_on!r}")
        if self.max_cost is not None and self.max_cost < 0:
            raise ConfigError(f"--max-cost must be a non-negative number of US dollars, not {self.max_cost}")


@dataclass
class RerecordResult:
    """The outcome of a re-record run."""

    exit_code: int
    reason: str
    report: DriftReport
    pytest_status: str
    contracts_status: str
    reports: dict[str, Path] = field(default_factory=dict)
    accepted: AcceptResult | None = None
    contracts_changed: list[Path] = field(default_factory=list)
    scratch: Path | None = None
    fail_on: str = "breaking"


def suite_paths(config: Config, pyproject: Path | None) -> tuple[str, ...]:
    """The tests to re-record: ``[tool.replaykit] rerecord_tests``, else pytest's ``testpaths``, else ``tests``."""
    paths = config.rerecord_tests or pytest_testpaths(pyproject) or ("tests",)
    missing = [p for p in paths if not (config.root / p).exists()]
    if missing:
        where = "[tool.replaykit] rerecord_tests" if config.rerecord_tests else "pytest testpaths"
        raise ConfigError(
            f"{pyproject or config.root}: {where} names {', '.join(missing)}, which does not exist in {config.root}; "
            "set rerecord_tests to the directory of the recorded suite"
        )
    return paths


def missing_credentials(cassette_dir: Path, env: dict[str, str] | None = None) -> list[str]:
    """What a live re-record needs and the environment lacks (only the providers the cassettes talk to)."""
    env = dict(os.environ if env is None else env)
    need_aws = need_openai = False
    if cassette_dir.is_dir():
        for path in cassette_dir.rglob("*"):
            if not path.is_file():
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            need_aws = need_aws or bool(_AWS.search(text))
            need_openai = need_openai or bool(_OPENAI.search(text))
            if need_aws and need_openai:
                break
    if not (need_aws or need_openai):
        need_aws = need_openai = True  # nothing recorded yet: the suite may call either
    missing = []
    if need_aws:
        if env.get("AWS_ACCESS_KEY_ID"):
            if not env.get("AWS_SECRET_ACCESS_KEY"):
                missing.append("AWS_SECRET_ACCESS_KEY (AWS_ACCESS_KEY_ID is set without it)")
        elif not _other_aws_source(env):
            missing.append(
                "AWS credentials for Bedrock/S3: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
            )
    if need_openai and not env.get("OPENAI_API_KEY"):
        missing.append("OPENAI_API_KEY for OpenAI")
    return missing


def _other_aws_source(env: dict[str, str]) -> bool:
    keys = (
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    )
    if any(env.get(k) for k in keys):
        return True
    creds = Path(env.get("AWS_SHARED_CREDENTIALS_FILE") or Path.home() / ".aws" / "credentials")
    try:
        return any(line.strip() == "[default]" for line in creds.read_text(encoding="utf-8").splitlines())
    except OSError:
        return False


def rerecord(
    options: RerecordOptions, *, start: Path | None = None, echo: Callable[[str], None] = print
) -> RerecordResult:
    """Re-record the suite of the project around ``start`` (default: the working directory); see the module doc."""
    options.validate()
    pyproject = find_pyproject(start)
    if pyproject is None:
        raise ConfigError(f"no pyproject.toml in {(start or Path.cwd()).resolve()} or above (run `replaykit init`)")
    config = load_config(pyproject.parent)
    if options.target is None:  # the project's own record target, as `pytest --record-mode=once` would use
        options = replace(options, target=config.target)
    root = config.root
    cassettes, contracts = config.cassette_dir, config.contracts_dir
    tests = suite_paths(config, pyproject)
    if options.target == "live":
        missing = missing_credentials(cassettes)
        if missing:
            raise ConfigError("--target live needs credentials that are not set: " + "; ".join(missing))
    drift_config = load_drift_config(pyproject)
    fail_on = options.fail_on or drift_config.fail_on
    max_cost = options.max_cost
    if max_cost is None:
        env_cost = os.environ.get("REPLAYKIT_MAX_COST")
        try:
            max_cost = float(env_cost) if env_cost else (config.cost_limit if config.cost_limit is not None else 1.0)
        except ValueError:
            raise ConfigError(f"REPLAYKIT_MAX_COST must be a number of US dollars, not {env_cost!r}") from None
    profile = options.profile or config.sandbox_profile
    out = _shown(options.out if options.out.is_absolute() else root / options.out)

    scratch_root = Path(tempfile.mkdtemp(prefix="replaykit-rerecord."))
    scratch = scratch_root / "cassettes"
    # Record into an empty directory: vcrpy's record mode "all" keeps every old interaction no new request matches,
    # so re-recording over a copy would leave stale calls wherever a request carries fresh ids (S3 upload ids,
    # tool-use ids). Cassettes the run does not record are copied in afterwards and compare as unchanged.
    scratch.mkdir()
    accepting = False
    try:
        echo(
            f"replaykit rerecord: recording {' '.join(tests)} (target={options.target}, profile={profile}, "
            f"max cost ${max_cost:.2f}) into {scratch}"
        )
        pytest_status = _record(options, root, tests, scratch, profile, max_cost)
        if cassettes.is_dir():
            _complete(cassettes, scratch)
        contracts_status, contract_lines = _check_contracts(scratch, contracts)
        for line in contract_lines:
            echo(line)
        report, reports = _compare(cassettes, scratch, contracts, drift_config, fail_on, out)
        result = RerecordResult(
            1 if report.failed(fail_on) else 0,
            "",
            report,
            pytest_status,
            contracts_status,
            reports,
            scratch=scratch if options.keep_scratch else None,
            fail_on=fail_on,
        )
        result.reason = summary_line(report, fail_on)
        _print_summary(result, options, profile, echo)
        if options.accept:
            accepting = True
            _accept(result, cassettes, contracts, scratch, drift_config, config, echo)
        return result
    except KeyboardInterrupt:
        if accepting:
            sys.stderr.write(
                "replaykit rerecord: interrupted during --accept; cassettes copied so far show in git diff "
                "(each one whole: copies are renamed into place)\n"
            )
        else:
            sys.stderr.write("replaykit rerecord: interrupted; committed cassettes are untouched\n")
        raise
    finally:
        if options.keep_scratch:
            echo(f"replaykit rerecord: scratch kept at {scratch}")
        else:
            shutil.rmtree(scratch_root, ignore_errors=True)


def _record(
    options: RerecordOptions, root: Path, tests: Sequence[str], scratch: Path, profile: str, max_cost: float
) -> str:
    cmd = [
        options.python,
        "-m",
        "pytest",
        *tests,
        "--record-mode=all",
        "-p",
        "no:cacheprovider",
        f"--replaykit-cassette-dir={scratch}",
        f"--replaykit-target={options.target}",
        f"--replaykit-sandbox-profile={profile}",
        "--replaykit-contracts=off",
        f"--replaykit-cost-limit={max_cost}",
        "-q",
        *options.pytest_args,
    ]
    sys.stdout.flush()
    try:
        rc = subprocess.call(cmd, cwd=root)
    except OSError as exc:
        raise RerecordError(f"cannot run {options.python} -m pytest: {exc.strerror or exc}") from exc
    if rc == 0:
        return "passed"
    if rc == 1:
        return "some tests failed (drift may explain them; see below)"
    if rc == 5:
        raise RerecordError(f"pytest collected no tests in {' '.join(tests)}; nothing compared, cassettes untouched")
    raise RerecordError(f"pytest was interrupted or could not run (exit {rc}); nothing compared, cassettes untouched")


def _complete(committed: Path, scratch: Path) -> None:
    """Cassettes of tests that did not run (deselected, skipped) complete the scratch copy unchanged."""
    for src in committed.rglob("*"):
        if src.is_file():
            dest = scratch / src.relative_to(committed)
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)


def _check_contracts(scratch: Path, contracts: Path) -> tuple[str, list[str]]:
    from replaykit.contracts import check_cassettes

    if not contracts.is_dir():
        return f"skipped (no {contracts.name}/ directory)", []
    check = check_cassettes(scratch, contracts)
    lines = [f"  contract: {v}" for v in check.errors[:20]]
    if len(check.errors) > 20:
        lines.append(f"  … {len(check.errors) - 20} more contract violation(s) (also in the drift report)")
    if check.ok():
        return f"ok ({len(check.warnings)} warning(s))" if check.warnings else "ok", lines
    return f"{len(check.errors)} violation(s) (listed above; also contract-violation findings below)", lines


def _compare(
    cassettes: Path, scratch: Path, contracts: Path, drift_config: DriftConfig, fail_on: str, out: Path
) -> tuple[DriftReport, dict[str, Path]]:
    from replaykit.drift import compare_trees, render

    old = cassettes if cassettes.is_dir() else scratch.parent / "empty"
    old.mkdir(exist_ok=True)
    config = drift_config.with_options(contracts_dir=contracts if contracts.is_dir() else None)
    report = compare_trees(_shown(old), scratch, config=config)
    out.mkdir(parents=True, exist_ok=True)
    reports = {}
    for fmt, name in REPORT_FILES.items():
        path = out / name
        # the text report is one finding per line (the rich table is the terminal's, rendered by the CLI)
        text = render_lines(report, fail_on=fail_on) if fmt == "text" else render(report, fmt, fail_on=fail_on)
        path.write_text(text, encoding="utf-8")
        reports[fmt] = path
    return report, reports


def _shown(path: Path) -> Path:
    """A path relative to the working directory when it is under it (reports name ``cassettes``, not /home/...)."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _print_summary(result: RerecordResult, options: RerecordOptions, profile: str, echo: Callable[[str], None]) -> None:
    echo("")
    echo(f"== replaykit rerecord: target={options.target} profile={profile} ==")
    echo(f"pytest:    {result.pytest_status}")
    echo(f"contracts: {result.contracts_status}")
    # a log, not a terminal: one finding per line (drift.txt keeps the table)
    lines = render_lines(result.report, fail_on=result.fail_on).splitlines()
    if len(lines) > _MAX_SHOWN_LINES:
        lines = [
            *lines[: _MAX_SHOWN_LINES - 4],
            f"  … {len(lines) - _MAX_SHOWN_LINES + 3} more lines in {result.reports['text']}",
            lines[-1],
        ]
    for line in lines:
        echo(line)
    echo("reports:   " + " ".join(str(result.reports[f]) for f in ("markdown", "json", "junit", "text")))


def _accept(
    result: RerecordResult,
    cassettes: Path,
    contracts: Path,
    scratch: Path,
    drift_config: DriftConfig,
    config: Config,
    echo: Callable[[str], None],
) -> None:
    from replaykit.cassette import iter_cassettes, load_exchanges
    from replaykit.contracts import update_contracts

    accepted = accept_cassettes(cassettes, scratch, drift_config)
    result.accepted = accepted
    echo(
        f"accepted:  {len(accepted.updated)} cassette(s) updated in {cassettes.name}/, {len(accepted.kept)} kept "
        "(only volatile values changed)"
    )
    if contracts.is_dir():
        exchanges = [ex for path in iter_cassettes(cassettes) for ex in load_exchanges(path)]
        result.contracts_changed = update_contracts(exchanges, contracts, min_samples=config.contract_min_samples)
        echo(f"contracts: {len(result.contracts_changed)} contract(s) changed")
    if shutil.which("git") and (config.root / ".git").exists():
        echo(f"review:    git diff --stat -- {cassettes.name} {contracts.name}")
