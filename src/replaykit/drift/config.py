"""``[tool.replaykit.drift]`` settings and the allow-list of accepted drift."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from replaykit.config import read_table
from replaykit.drift.checks import BREAKING, CHECKS, normalize_severity
from replaykit.drift.rules import path_matches
from replaykit.errors import ConfigError

FAIL_ON = ("breaking", "additive", "any")
DEFAULT_ALLOWLIST = ".replaykit-drift-allow.yaml"
_KEYS = {
    "severity",
    "override",
    "closed",
    "ignore",
    "volatile",
    "allowlist",
    "fail_on",
    "fail-on",
    "show_values",
    "show-values",
    "contracts",
}


@dataclass(frozen=True)
class Override:
    """A severity for one check (glob) on matching operations and paths."""

    severity: str
    check: str = "*"
    path: str = "*"
    operation: str = "*"

    def matches(self, check: str, operation: str, path: str) -> bool:
        """Whether the override applies to a finding."""
        return (
            fnmatch.fnmatchcase(check, self.check)
            and fnmatch.fnmatchcase(operation, self.operation)
            and (self.path == "*" or path_matches(self.path, path))
        )


@dataclass(frozen=True)
class AllowEntry:
    """An accepted drift: findings it matches are reported as accepted and never fail the run."""

    check: str
    reason: str
    operation: str = "*"
    path: str = "*"
    cassette: str = "*"

    def matches(self, check: str, operation: str, path: str, cassette: str) -> bool:
        """Whether the entry accepts a finding."""
        return (
            fnmatch.fnmatchcase(check, self.check)
            and fnmatch.fnmatchcase(operation, self.operation)
            and fnmatch.fnmatchcase(cassette, self.cassette)
            and (self.path == "*" or path_matches(self.path, path))
        )


@dataclass
class DriftConfig:
    """How drift is classified and reported."""

    severity: dict[str, str] = field(default_factory=dict)
    overrides: list[Override] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    volatile: list[str] = field(default_factory=list)
    allowlist: list[AllowEntry] = field(default_factory=list)
    allowlist_path: Path | None = None
    fail_on: str = BREAKING
    show_values: bool = False
    contracts_dir: Path | None = None

    def with_options(self, **changes: Any) -> DriftConfig:
        """A copy with some fields replaced (CLI flags over file settings)."""
        return replace(self, **changes)


def load_drift_config(pyproject: Path | None) -> DriftConfig:
    """Read ``[tool.replaykit.drift]`` from a pyproject.toml (None, or no such table: the defaults)."""
    if pyproject is None:
        return DriftConfig()
    pyproject = Path(pyproject)
    if not pyproject.is_file():
        raise ConfigError(f"{pyproject}: no such file")
    table = read_table(pyproject).get("drift", {})
    return drift_config_from_table(table, base_dir=pyproject.parent, source=str(pyproject))


def drift_config_from_table(table: dict[str, Any], *, base_dir: Path, source: str = "pyproject.toml") -> DriftConfig:
    """Build a DriftConfig from an already-parsed ``[tool.replaykit.drift]`` table."""
    where = f"{source}: [tool.replaykit.drift]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
    cfg = DriftConfig()
    for check, sev in _table(table.get("severity", {}), f"{where}.severity").items():
        _known_check(check, where)
        cfg.severity[check] = _severity(sev, f"{where}.severity.{check}")
    for i, raw in enumerate(_list(table.get("override", []), f"{where}.override")):
        if not isinstance(raw, dict) or "severity" not in raw:
            raise ConfigError(f"{where}.override[{i}] needs check/path and severity")
        extra = sorted(set(raw) - {"check", "path", "operation", "severity"})
        if extra:
            raise ConfigError(f"{where}.override[{i}]: unknown key(s) {', '.join(extra)}")
        check = str(raw.get("check", "*"))
        if "*" not in check and "?" not in check:
            _known_check(check, where)
        cfg.overrides.append(
            Override(
                _severity(raw["severity"], f"{where}.override[{i}]"),
                check,
                str(raw.get("path", "*")),
                str(raw.get("operation", "*")),
            )
        )
    cfg.closed = [str(p) for p in _list(table.get("closed", []), f"{where}.closed")]
    cfg.ignore = [str(p) for p in _list(table.get("ignore", []), f"{where}.ignore")]
    cfg.volatile = [str(p) for p in _list(table.get("volatile", []), f"{where}.volatile")]
    fail_on = str(table.get("fail_on", table.get("fail-on", BREAKING)))
    if fail_on not in FAIL_ON:
        raise ConfigError(f"{where}.fail_on must be one of {', '.join(FAIL_ON)}")
    cfg.fail_on = fail_on
    cfg.show_values = bool(table.get("show_values", table.get("show-values", False)))
    if "contracts" in table:
        cfg.contracts_dir = base_dir / str(table["contracts"])
    allow = table.get("allowlist")
    allow_path = base_dir / (str(allow) if allow else DEFAULT_ALLOWLIST)
    if allow or allow_path.is_file():
        cfg.allowlist_path = allow_path
        cfg.allowlist = load_allowlist(allow_path)
    return cfg


def load_allowlist(path: Path) -> list[AllowEntry]:
    """Read an allow-list YAML file: a list (or ``accepted:`` list) of check/operation/path/reason entries."""
    if not path.is_file():
        raise ConfigError(f"{path}: allow-list file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return []
    if isinstance(data, dict):
        data = data.get("accepted", [])
    if not isinstance(data, list):
        raise ConfigError(f"{path}: expected a list of entries (or `accepted:` with a list)")
    entries = []
    for i, raw in enumerate(data):
        if not isinstance(raw, dict) or not raw.get("check"):
            raise ConfigError(f"{path}: entry {i + 1} needs a `check`")
        if not str(raw.get("reason") or "").strip():
            # accepted drift without a reason is how allow-lists rot
            raise ConfigError(f"{path}: entry {i + 1} ({raw['check']}) needs a `reason`")
        extra = sorted(set(raw) - {"check", "operation", "path", "cassette", "reason"})
        if extra:
            raise ConfigError(f"{path}: entry {i + 1}: unknown key(s) {', '.join(extra)}")
        entries.append(
            AllowEntry(
                str(raw["check"]),
                str(raw["reason"]).strip(),
                str(raw.get("operation", "*")),
                str(raw.get("path", "*")),
                str(raw.get("cassette", "*")),
            )
        )
    return entries


def _severity(value: Any, where: str) -> str:
    try:
        return normalize_severity(str(value))
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _known_check(check: str, where: str) -> None:
    if check not in CHECKS:
        raise ConfigError(f"{where}: unknown check id {check!r}")


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise ConfigError(f"{where} must be a list")
    return value
