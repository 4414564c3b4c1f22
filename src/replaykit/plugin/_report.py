"""How a test fails in replaykit's words: one failure carrying every miss, violation and blocked connection."""

from __future__ import annotations

from typing import Any

import pytest

from replaykit.errors import NoMatchError


def fix_command(nodeid: str, mode: str) -> str:
    """The command that re-records exactly this test."""
    return f"pytest '{nodeid}' --record-mode={mode}"


def failure_text(nodeid: str, misses: list[NoMatchError], violations: list[str], attempts: list[str]) -> str:
    """The text of the failure: misses first (with the fix for this test), then violations, then connections."""
    lines: list[str] = []
    for text, mode in dict.fromkeys((str(m), m.fix_mode) for m in misses):
        body = [line for line in text.splitlines() if not line.lstrip().startswith("fix:")]
        lines.extend(body)
        lines.append(f"  fix: {fix_command(nodeid, mode)}")
    if violations:
        lines.append("contract violations:" if len(violations) > 1 else "contract violation:")
        lines.extend(f"  {v}" for v in dict.fromkeys(violations))
    if attempts:
        lines.append("the network guard blocked real network connections to: " + ", ".join(sorted(set(attempts))))
    return "\n".join(lines)


def fail(report: pytest.TestReport, nodeid: str, misses: list[Any], violations: list[str], attempts: list[str]) -> None:
    """Turn the call-phase report into replaykit's failure (keeping what the test itself raised, in one line)."""
    text = "replaykit: " + failure_text(nodeid, misses, violations, attempts)
    if report.failed:
        crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
        message = getattr(crash, "message", None) or ""
        if message and not message.startswith("replaykit.errors.NoMatchError"):
            text += f"\n(surfaced in the test as: {message.splitlines()[0]})"
    report.outcome = "failed"
    report.longrepr = text
