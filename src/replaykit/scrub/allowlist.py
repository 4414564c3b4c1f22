"""User-approved scanner findings: ``.replaykit-allowlist.yaml`` at the repository root.

The scanner never prints a secret, so a finding is approved by its *fingerprint* (the first 16 hex chars of the
sha256 of the secret, shown in the ``fingerprint`` column of ``replaykit scan``). Copy it into the file::

    # .replaykit-allowlist.yaml
    allow:
      - fingerprint: 3f2a9c1d5e6b7a80      # from `replaykit scan` output
        rule: aws-account-id               # optional: only for this rule
        reason: public account of the open dataset bucket
      - pattern: 'sk-fixture-[A-Za-z0-9]+' # regex, must match the WHOLE secret value
        rule: openai-api-key               # optional
        reason: fake keys used by our unit tests

Every entry needs a ``reason``. A top-level list (without ``allow:``) is accepted too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from replaykit.errors import ConfigError

ALLOWLIST_FILENAME = ".replaykit-allowlist.yaml"
FINGERPRINT_LEN = 16
_FINGERPRINT = re.compile(rf"^[0-9a-f]{{{FINGERPRINT_LEN}}}$")


def fingerprint_of(secret: str) -> str:
    """The 16-hex-char sha256 prefix that identifies a secret without revealing it."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()[:FINGERPRINT_LEN]


@dataclass(frozen=True)
class AllowEntry:
    """One approval: a fingerprint or a full-match regex, optionally limited to one rule."""

    reason: str
    fingerprint: str | None = None
    pattern: re.Pattern[str] | None = None
    rule: str | None = None


@dataclass
class Allowlist:
    """Approved findings; ``allows(secret_or_fingerprint, rule)`` says whether one is approved."""

    entries: list[AllowEntry] = field(default_factory=list)
    path: str | None = None

    @classmethod
    def load(cls, path: str | Path) -> Allowlist:
        """Read an allowlist file; a malformed one raises ``ConfigError`` naming the entry."""
        path = Path(path)
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"allowlist not found: {path}") from exc
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read allowlist {path}: {exc}") from exc
        return cls.from_data(doc, path=str(path))

    @classmethod
    def from_data(cls, doc: Any, *, path: str | None = None) -> Allowlist:
        """Build an allowlist from parsed YAML (``{allow: [...]}``, a list, or None for empty)."""
        where = path or "allowlist"
        if doc is None:
            return cls([], path)
        items = doc.get("allow", []) if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            raise ConfigError(f"{where}: expected a list of entries under `allow:`")
        return cls([_entry(item, i, where) for i, item in enumerate(items or [])], path)

    @classmethod
    def discover(cls, start: str | Path | None = None) -> Allowlist | None:
        """The allowlist of the enclosing repository: nearest ``.replaykit-allowlist.yaml`` up to the git root."""
        here = Path(start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            candidate = folder / ALLOWLIST_FILENAME
            if candidate.is_file():
                return cls.load(candidate)
            if (folder / ".git").exists():
                return None
        return None

    def allows(self, secret_or_fingerprint: str, rule: str | None = None) -> bool:
        """True when an entry approves this secret (or its 16-hex fingerprint) for this rule."""
        value = secret_or_fingerprint
        if _FINGERPRINT.match(value):
            return self.match(None, value, rule) or self.match(value, fingerprint_of(value), rule)
        return self.match(value, fingerprint_of(value), rule)

    def match(self, secret: str | None, fingerprint: str, rule: str | None = None) -> bool:
        """True when an entry approves a fingerprint, or (given the secret) a pattern matches it."""
        for entry in self.entries:
            if entry.rule and rule and entry.rule != rule:
                continue
            if entry.fingerprint and entry.fingerprint == fingerprint:
                return True
            # a regex can only be checked against the secret itself, never against a fingerprint
            if entry.pattern is not None and secret is not None and entry.pattern.fullmatch(secret):
                return True
        return False

    def allows_finding(self, finding: Any) -> bool:
        """True when a ``Finding``'s fingerprint is approved for its rule (regex entries need the secret)."""
        fp = getattr(finding, "fingerprint", "")
        return bool(fp) and self.match(None, fp, finding.rule)

    def filter(self, findings: Iterable[Any]) -> list[Any]:
        """The findings that are not approved by fingerprint."""
        return [f for f in findings if not self.allows_finding(f)]

    def __len__(self) -> int:
        return len(self.entries)


def _entry(item: Any, index: int, where: str) -> AllowEntry:
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: entry #{index} must be a mapping")
    reason = item.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ConfigError(f"{where}: entry #{index} needs a `reason`")
    rule = item.get("rule")
    if rule is not None and not isinstance(rule, str):
        raise ConfigError(f"{where}: entry #{index}: `rule` must be a string")
    fp, pattern = item.get("fingerprint"), item.get("pattern")
    if (fp is None) == (pattern is None):
        raise ConfigError(f"{where}: entry #{index} needs exactly one of `fingerprint` or `pattern`")
    if fp is not None:
        fp = str(fp).strip().lower()
        if not _FINGERPRINT.match(fp):
            raise ConfigError(f"{where}: entry #{index}: fingerprint must be {FINGERPRINT_LEN} hex chars")
        return AllowEntry(reason=reason, fingerprint=fp, rule=rule)
    try:
        compiled = re.compile(str(pattern))
    except re.error as exc:
        raise ConfigError(f"{where}: entry #{index}: bad pattern: {exc}") from exc
    return AllowEntry(reason=reason, pattern=compiled, rule=rule)


__all__ = ["ALLOWLIST_FILENAME", "AllowEntry", "Allowlist", "fingerprint_of"]
