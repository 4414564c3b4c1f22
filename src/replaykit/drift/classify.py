"""Turn raw findings into classified ones.

Default severity, config and per-path overrides, closed enums, the allow-list, and ignored paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from replaykit.drift.checks import BREAKING, CHECKS, OFF
from replaykit.drift.config import DriftConfig
from replaykit.drift.model import Finding
from replaykit.drift.rules import PathSet


class Classifier:
    """Applies a DriftConfig to findings; ``closed(operation, where)`` says which enum paths are closed."""

    def __init__(self, config: DriftConfig, closed: Callable[[str, str], PathSet]) -> None:
        self.config = config
        self.closed = closed
        self.ignore = PathSet(config.ignore)
        self.ignored = 0

    def severity(self, f: Finding) -> str:
        """The severity of a finding after every rule that can change it."""
        sev = self.config.severity.get(f.check, CHECKS[f.check].severity)
        if f.check == "enum-value-added" and self.closed(f.operation, f.where)(f.path):
            sev = BREAKING
        for override in self.config.overrides:
            if override.matches(f.check, f.operation, f.path):
                sev = override.severity
                break
        return sev

    def apply(self, findings: Iterable[Finding]) -> list[Finding]:
        """Classified findings, without ignored or switched-off ones (those are counted in ``ignored``)."""
        out = []
        for f in findings:
            if f.path and self.ignore(f.path):
                self.ignored += 1
                continue
            f.severity = self.severity(f)
            if f.severity == OFF:
                self.ignored += 1
                continue
            for entry in self.config.allowlist:
                if entry.matches(f.check, f.operation, f.path, f.cassette):
                    f.accepted, f.reason = True, entry.reason
                    break
            out.append(f)
        return out
