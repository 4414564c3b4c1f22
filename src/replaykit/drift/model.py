"""Drift results: findings (one per occurrence), exchange pairs, and the report that groups and counts them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from replaykit.drift.checks import BREAKING, SEVERITY_RANK, VALUE, at_or_above
from replaykit.drift.rules import display

SCHEMA_VERSION = 1

# the pseudo-operation of findings about whole cassettes
CASSETTE_LEVEL = "(cassette)"


@dataclass
class Finding:
    """One drift occurrence: a check that fired on one exchange pair (or one cassette)."""

    check: str
    severity: str
    operation: str
    where: str
    path: str
    message: str
    cassette: str
    old_index: int | None = None
    new_index: int | None = None
    old: str | None = None
    new: str | None = None
    model: str = ""
    accepted: bool = False
    reason: str | None = None

    @property
    def group_key(self) -> tuple[Any, ...]:
        """Occurrences with the same key are one line in a report."""
        if self.check == "value-changed":
            return (self.check, self.operation, self.where, self.path)
        return (self.check, self.operation, self.where, self.path, self.old, self.new)


@dataclass
class Occurrence:
    """Where a grouped finding was seen."""

    cassette: str
    old_index: int | None
    new_index: int | None
    model: str = ""


@dataclass
class FindingGroup:
    """All occurrences of the same finding, shown as one report line."""

    check: str
    severity: str
    operation: str
    where: str
    path: str
    message: str
    old: str | None
    new: str | None
    accepted: bool
    reason: str | None
    occurrences: list[Occurrence] = field(default_factory=list)

    @property
    def id(self) -> str:
        """A stable identifier of the group (check, operation, where, path)."""
        return f"{self.check}:{self.operation}:{self.where}:{display(self.path)}"

    @property
    def count(self) -> int:
        """How many exchange pairs (or cassettes) showed this finding."""
        return len(self.occurrences)


@dataclass
class PairResult:
    """One compared exchange pair (either index may be None for a one-sided exchange)."""

    cassette: str
    operation: str
    old_index: int | None
    new_index: int | None
    model: str = ""
    value_changes: int = 0
    value_changes_volatile: int = 0

    @property
    def key(self) -> tuple[str, int | None, int | None]:
        """The identity findings refer to."""
        return (self.cassette, self.old_index, self.new_index)


@dataclass
class DriftReport:
    """Everything ``compare_trees`` found, ready to be rendered or turned into an exit code."""

    old_root: str
    new_root: str
    findings: list[Finding] = field(default_factory=list)
    pairs: list[PairResult] = field(default_factory=list)
    cassettes: int = 0
    ignored: int = 0
    notes: list[str] = field(default_factory=list)
    show_values: bool = False

    def groups(self) -> list[FindingGroup]:
        """Findings grouped into report lines, most severe first, then by operation, check and path."""
        by_key: dict[tuple[Any, ...], FindingGroup] = {}
        for f in self.findings:
            key = (f.accepted, f.reason, *f.group_key)
            g = by_key.get(key)
            if g is None:
                g = by_key[key] = FindingGroup(
                    f.check, f.severity, f.operation, f.where, f.path, f.message, f.old, f.new, f.accepted, f.reason
                )
            g.occurrences.append(Occurrence(f.cassette, f.old_index, f.new_index, f.model))
        return sorted(
            by_key.values(),
            key=lambda g: (
                g.accepted,
                -SEVERITY_RANK.get(g.severity, 0),
                g.operation,
                g.check,
                g.where,
                g.path,
                str(g.old),
                str(g.new),
            ),
        )

    def listed_groups(self) -> list[FindingGroup]:
        """The groups a human report lists: value-only ones only when values were asked for."""
        return [g for g in self.groups() if self.show_values or g.severity != VALUE or g.accepted]

    def counts(self) -> dict[str, int]:
        """Counts for the summary line and the JSON ``summary`` object."""
        groups = self.groups()
        out = {"breaking": 0, "additive": 0, "value": 0, "accepted": 0}
        for g in groups:
            out["accepted" if g.accepted else g.severity] += 1
        out["ignored"] = self.ignored
        out["value_changes"] = sum(p.value_changes for p in self.pairs)
        out["value_changes_volatile"] = sum(p.value_changes_volatile for p in self.pairs)
        out["pairs"] = len(self.pairs)
        out["pairs_with_value_changes"] = sum(1 for p in self.pairs if p.value_changes)
        out["cassettes"] = self.cassettes
        return out

    def failing(self, fail_on: str = BREAKING) -> list[Finding]:
        """Findings at or above ``fail_on`` that no allow-list entry accepted."""
        return [f for f in self.findings if not f.accepted and at_or_above(f.severity, fail_on)]

    def failed(self, fail_on: str = BREAKING) -> bool:
        """Whether the drift should fail the run (``any`` also fails on mere value changes)."""
        if self.failing(fail_on):
            return True
        return fail_on == "any" and any(p.value_changes for p in self.pairs)

    def worst(self) -> str | None:
        """The most severe class among unaccepted findings, or None when clean."""
        ranks = [SEVERITY_RANK[f.severity] for f in self.findings if not f.accepted and f.severity in SEVERITY_RANK]
        if not ranks:
            return None
        best = max(ranks)
        return next(s for s, r in SEVERITY_RANK.items() if r == best)


def location(where: str, path: str) -> str:
    """``where`` plus the path inside it, when there is one (``response.body usage.inputTokens``)."""
    return f"{where} {path}" if path else where
