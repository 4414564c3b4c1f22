"""Cost markers are computed when the run selects by them, and only then (pricing reads every test's cassette)."""

from __future__ import annotations

TESTS = """
import pytest

@pytest.mark.replaykit_cost("high")
def test_big_batch():
    pass

def test_plain():
    pass
"""

CONFTEST = """
def pytest_collection_finish(session):
    for item in session.items:
        marks = sorted(m.name for m in item.iter_markers() if m.name in ("low_cost", "high_cost"))
        print(f"MARKS {item.name} {marks}")
"""


def test_markers_are_set_when_selected_by_and_not_otherwise(pytester):
    pytester.makepyfile(test_costs=TESTS)
    pytester.makeconftest(CONFTEST)
    by_mark = pytester.runpytest_subprocess("--co", "-q", "-m", "not high_cost", "-s")
    assert "test_plain" in by_mark.stdout.str() and "1/2 tests collected (1 deselected)" in by_mark.stdout.str()
    by_keyword = pytester.runpytest_subprocess("--co", "-q", "-k", "high_cost", "-s")
    assert "1/2 tests collected (1 deselected)" in by_keyword.stdout.str()
    plain = pytester.runpytest_subprocess("--co", "-q", "-s")
    plain.stdout.fnmatch_lines(["MARKS test_big_batch []", "MARKS test_plain []"])
