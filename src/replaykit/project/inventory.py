r"""``replaykit status``: a project's cassette inventory.

What cassettes a project has, how old they are, what SDK versions recorded them, which no collected test uses
(orphans), and which tests that need a cassette have none.

Tests are collected with ``pytest --collect-only`` in a subprocess; a test's cassette is named as pytest-recording
names it (``get_default_cassette_name``) under replaykit's ``vcr_cassette_dir``: ``<cassette_dir>/<test module
stem>/[<Class>.]<test name>.yaml``, with ``<>?%*:|"'/\\`` replaced by ``-``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from replaykit.config import Config
from replaykit.errors import ReplaykitError

SDKS = ("boto3", "botocore", "openai")
_FORBIDDEN = "<>?%*:|\"'/\\"
_SUFFIXES = (".yaml.gz", ".yaml", ".yml", ".json")


class CollectError(ReplaykitError):
    """pytest could not collect the project's tests."""


@dataclass
class CassetteInfo:
    """One cassette file in the inventory."""

    cassette: str  # relative to the cassette directory
    recorded_at: str | None
    age_days: float | None
    target: str | None
    profile: str | None
    versions: dict[str, str]
    version_gaps: list[str]  # "openai 3.54.0 recorded, 4.1.0 installed": a different major version
    operations: list[str]
    exchanges: int
    tests: list[str] = field(default_factory=list)  # collected tests that use it
    orphan: bool = False
    stale: bool = False  # older than --older-than
    error: str | None = None


@dataclass
class Inventory:
    """The whole ``replaykit status`` report."""

    root: str
    cassette_dir: str
    installed: dict[str, str]
    cassettes: list[CassetteInfo]
    tests_without_cassette: list[dict[str, str]]
    older_than_days: float | None = None

    @property
    def orphans(self) -> list[CassetteInfo]:
        """Cassettes no collected test uses."""
        return [c for c in self.cassettes if c.orphan]

    @property
    def stale(self) -> list[CassetteInfo]:
        """Cassettes older than the ``older_than_days`` threshold."""
        return [c for c in self.cassettes if c.stale]

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON form (``replaykit status --format json``)."""
        return {
            "version": 1,
            "root": self.root,
            "cassette_dir": self.cassette_dir,
            "installed": self.installed,
            "older_than_days": self.older_than_days,
            "counts": {
                "cassettes": len(self.cassettes),
                "orphans": len(self.orphans),
                "stale": len(self.stale),
                "version_gaps": sum(1 for c in self.cassettes if c.version_gaps),
                "tests_without_cassette": len(self.tests_without_cassette),
            },
            "cassettes": [asdict(c) for c in self.cassettes],
            "tests_without_cassette": self.tests_without_cassette,
        }


def cassette_name(name: str) -> str:
    """pytest-recording's default cassette name for a test (``Class.test[param]`` with unsafe characters -> ``-``)."""
    for ch in _FORBIDDEN:
        name = name.replace(ch, "-")
    return name


def installed_versions() -> dict[str, str]:
    """Installed versions of the SDKs cassettes record."""
    out = {}
    for name in SDKS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def collect_tests(root: Path, pytest_args: tuple[str, ...] = (), python: str = sys.executable) -> list[dict[str, Any]]:
    """Collected tests of the project with their cassette needs (``pytest --collect-only`` in a subprocess)."""
    with tempfile.TemporaryDirectory(prefix="replaykit-status.") as tmp:
        out = Path(tmp) / "items.json"
        env = {**os.environ, "REPLAYKIT_COLLECT_OUT": str(out)}
        cmd = [python, "-m", "pytest", "--collect-only", "-q", "-p", "replaykit.project._collect", *pytest_args]
        proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
        if proc.returncode not in (0, 5) or not out.is_file():
            if proc.returncode == 5:
                return []
            last = (proc.stdout.strip().splitlines() or proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise CollectError(f"pytest --collect-only failed in {root} (exit {proc.returncode}): {last}")
        return list(json.loads(out.read_text(encoding="utf-8")))


def build_inventory(
    config: Config,
    tests: list[dict[str, Any]],
    *,
    now: _dt.datetime | None = None,
    older_than_days: float | None = None,
) -> Inventory:
    """The inventory of ``config.cassette_dir`` against collected ``tests`` (see ``collect_tests``)."""
    now = now or _dt.datetime.now(_dt.UTC)
    root = config.cassette_dir
    installed = installed_versions()
    wanted: dict[str, list[str]] = {}  # cassette key (relative path without suffix) -> tests using it
    expected: dict[str, str] = {}  # nodeid -> its default cassette key
    for t in tests:
        if not t.get("vcr"):
            continue
        key = f"{t['module']}/{cassette_name(t['name'])}"
        expected[t["nodeid"]] = key
        wanted.setdefault(key, []).append(t["nodeid"])
        for extra in t.get("extra") or ():
            wanted.setdefault(_key(f"{t['module']}/{extra}"), []).append(t["nodeid"])
    cassettes = []
    present: set[str] = set()
    if root.is_dir():
        from replaykit.cassette import iter_cassettes

        for path in iter_cassettes(root):
            rel = path.relative_to(root).as_posix()
            key = _key(rel)
            present.add(key)
            info = _describe(path, rel, installed, now)
            info.tests = sorted(wanted.get(key, []))
            info.orphan = not info.tests
            info.stale = older_than_days is not None and info.age_days is not None and info.age_days > older_than_days
            cassettes.append(info)
    missing = [
        {"test": nodeid, "expected": f"{key}.yaml"} for nodeid, key in sorted(expected.items()) if key not in present
    ]
    return Inventory(str(config.root), str(root), installed, cassettes, missing, older_than_days)


def _key(rel: str) -> str:
    for suffix in _SUFFIXES:
        if rel.endswith(suffix):
            return rel[: -len(suffix)]
    return rel


def _describe(path: Path, rel: str, installed: dict[str, str], now: _dt.datetime) -> CassetteInfo:
    from replaykit.cassette.format import read_document

    try:
        doc = read_document(path)
    except ReplaykitError as exc:
        return CassetteInfo(rel, None, None, None, None, {}, [], [], 0, error=str(exc))
    meta: dict[str, Any] = doc["replaykit"] if isinstance(doc.get("replaykit"), dict) else {}
    interactions: list[Any] = doc["interactions"] if isinstance(doc.get("interactions"), list) else []
    operations = sorted({str(i.get("operation")) for i in interactions if isinstance(i, dict) and i.get("operation")})
    recorded_at = meta.get("recorded_at")
    age = None
    if isinstance(recorded_at, str):
        try:
            when = _dt.datetime.fromisoformat(recorded_at.replace("Z", "+00:00"))
            age = round((now - when).total_seconds() / 86400, 1)
        except ValueError:
            age = None
    versions = {str(k): str(v) for k, v in (meta.get("versions") or {}).items()}
    gaps = [
        f"{sdk} {versions[sdk]} recorded, {installed[sdk]} installed"
        for sdk in SDKS
        if sdk in versions and sdk in installed and _major(versions[sdk]) != _major(installed[sdk])
    ]
    return CassetteInfo(
        rel,
        recorded_at if isinstance(recorded_at, str) else None,
        age,
        meta.get("target"),
        meta.get("profile"),
        versions,
        gaps,
        operations,
        len(interactions),
    )


def _major(version: str) -> str:
    return version.split(".", 1)[0]
