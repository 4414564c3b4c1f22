"""One frozen Config from ``[tool.replaykit]`` in pyproject.toml, environment variables and CLI options.

Precedence (highest first): pytest command-line option > environment (``REPLAYKIT_*``) > pyproject > defaults.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from replaykit.errors import ConfigError

TARGETS = ("sandbox", "live")
CONTRACT_MODES = ("check", "update", "off")
# record modes send to the real providers unless the project says otherwise (``target = "sandbox"``); what a
# live record run may spend by default, in USD, across all its xdist workers
DEFAULT_TARGET = "live"
DEFAULT_COST_LIMIT = 1.0
KNOWN_KEYS = frozenset(
    {
        "cassette_dir",
        "contracts_dir",
        "target",
        "region",
        "sandbox_profile",
        "contracts",
        "cost_limit",
        "env",
        "sanitize",
        "volatile_fields",
        "drift",
        "prices",
        "rerecord_tests",
        "contract_min_samples",
    }
)


@dataclass(frozen=True)
class Config:
    """Everything replaykit needs to know about a project."""

    root: Path = Path(".")
    cassette_dir: Path = Path("cassettes")
    contracts_dir: Path = Path("contracts")
    target: str = DEFAULT_TARGET
    region: str = "us-east-1"
    sandbox_profile: str = "default"
    contracts: str | None = None  # None: check when contracts exist
    cost_limit: float | None = DEFAULT_COST_LIMIT  # applies to the live target only
    env: bool = False  # replaykit_env for every test of the suite
    sanitize: dict[str, Any] = field(default_factory=dict)
    volatile_fields: tuple[str, ...] = ()
    prices: Path | None = None
    # the suite `replaykit rerecord` re-records (relative to root); () means pytest's testpaths
    rerecord_tests: tuple[str, ...] = ()
    # a field becomes "required" in an inferred contract only after this many samples (or when the spec requires it)
    contract_min_samples: int = 3

    def with_options(self, **options: Any) -> Config:
        """A copy with the given non-None options applied (validated)."""
        clean = {k: v for k, v in options.items() if v is not None}
        cfg = replace(self, **clean)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Raise ConfigError for values outside their allowed set."""
        if self.target not in TARGETS:
            raise ConfigError(f"target {self.target!r} is not valid; valid targets are: {', '.join(TARGETS)}")
        if self.contracts is not None and self.contracts not in CONTRACT_MODES:
            raise ConfigError(
                f"contracts mode {self.contracts!r} is not valid; valid modes are: {', '.join(CONTRACT_MODES)}"
            )
        if self.cost_limit is not None and (
            isinstance(self.cost_limit, bool) or not isinstance(self.cost_limit, (int, float)) or self.cost_limit < 0
        ):
            raise ConfigError(f"cost_limit {self.cost_limit!r} is not valid; give a number of USD >= 0")
        if not isinstance(self.env, bool):
            raise ConfigError(f"env {self.env!r} is not valid; use true or false")
        for name in ("region", "sandbox_profile"):
            if not isinstance(getattr(self, name), str):
                raise ConfigError(f"{name} {getattr(self, name)!r} is not valid; give a string")


def find_pyproject(start: Path | None = None) -> Path | None:
    """The nearest pyproject.toml at or above ``start`` (default: the working directory)."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def read_table(pyproject: Path) -> dict[str, Any]:
    """The ``[tool.replaykit]`` table of a pyproject.toml: the one place that parses it."""
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{pyproject}: invalid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{pyproject}: cannot read: {exc.strerror}") from exc
    table = data.get("tool", {}).get("replaykit", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.replaykit] must be a table")
    return table


def load_config(start: Path | None = None) -> Config:
    """Read ``[tool.replaykit]`` (and REPLAYKIT_* environment variables) into a Config."""
    pyproject = find_pyproject(start)
    table: dict[str, Any] = {}
    root = Path.cwd() if pyproject is None else pyproject.parent
    if pyproject is not None:
        table = read_table(pyproject)
    known = KNOWN_KEYS
    unknown = set(table) - known
    if unknown:
        raise ConfigError(
            f"{pyproject}: unknown key(s) in [tool.replaykit]: {', '.join(sorted(unknown))}; "
            f"known keys are: {', '.join(sorted(known))}"
        )
    env = os.environ
    if env.get("REPLAYKIT_TARGET", TARGETS[0]) not in TARGETS:
        raise ConfigError(
            f"REPLAYKIT_TARGET={env['REPLAYKIT_TARGET']!r} is not valid; valid targets are: {', '.join(TARGETS)}"
        )
    cfg = Config(
        root=root,
        cassette_dir=root / env.get("REPLAYKIT_CASSETTE_DIR", table.get("cassette_dir", "cassettes")),
        contracts_dir=root / table.get("contracts_dir", "contracts"),
        target=env.get("REPLAYKIT_TARGET", table.get("target", DEFAULT_TARGET)),
        region=env.get("REPLAYKIT_REGION", table.get("region", "us-east-1")),
        sandbox_profile=env.get("REPLAYKIT_SANDBOX_PROFILE", table.get("sandbox_profile", "default")),
        contracts=env.get("REPLAYKIT_CONTRACTS", table.get("contracts")),
        cost_limit=_cost_limit(table.get("cost_limit", DEFAULT_COST_LIMIT), pyproject),
        env=table.get("env", False),
        sanitize=dict(table.get("sanitize", {})),
        volatile_fields=tuple(table.get("volatile_fields", ())),
        prices=root / table["prices"] if "prices" in table else None,
        rerecord_tests=_paths(table.get("rerecord_tests", ()), pyproject, "rerecord_tests"),
        contract_min_samples=_positive_int(table.get("contract_min_samples", 3), pyproject, "contract_min_samples"),
    )
    try:
        cfg.validate()
    except ConfigError as exc:
        raise ConfigError(f"{pyproject or 'configuration'}: {exc}") from exc
    return cfg


def _paths(value: Any, source: Path | None, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f'{source}: [tool.replaykit] {key} must be a list of paths, e.g. ["tests/contract"]')
    return tuple(value)


def _positive_int(value: Any, source: Path | None, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{source}: [tool.replaykit] {key} must be a whole number >= 1, not {value!r}")
    return value


def pytest_testpaths(pyproject: Path | None) -> tuple[str, ...]:
    """``testpaths`` of ``[tool.pytest.ini_options]`` in a pyproject.toml (empty when unset)."""
    if pyproject is None or not pyproject.is_file():
        return ()
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject}: invalid TOML: {exc}") from exc
    value = data.get("tool", {}).get("pytest", {}).get("ini_options", {}).get("testpaths", ())
    if isinstance(value, str):
        value = value.split()
    return tuple(str(v) for v in value)


def _cost_limit(value: Any, pyproject: Path | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"{pyproject}: cost_limit {value!r} is not valid; give a number of USD >= 0")
    try:
        return float(value)
    except ValueError as exc:
        raise ConfigError(f"{pyproject}: cost_limit {value!r} is not valid; give a number of USD >= 0") from exc
