"""Crash safety and parallel runs: SIGKILL mid-record never truncates a cassette; xdist workers lose nothing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

from recording_child import recording_child
from replaykit.cassette import load_exchanges

CHILD = recording_child('all', 150)


def test_sigkill_during_recording_never_leaves_a_truncated_cassette(tmp_path, echo_server):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    path = tmp_path / "cassettes" / "big.yaml"
    rng = random.Random(1234)
    trials = 8
    for _trial in range(trials):
        proc = subprocess.Popen([sys.executable, str(script), echo_server, str(path)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        # wait for one complete save, then kill at a random moment of the following rewrites
        first = proc.stdout.readline()
        assert first.startswith("saved"), proc.stderr.read()[-2000:]
        time.sleep(rng.uniform(0.0, 1.5))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        exchanges = load_exchanges(path)  # raises CassetteError on a truncated or corrupt file
        assert len(exchanges) >= 150
        assert all(e.response.status == 200 and e.response.body.kind == "json" for e in exchanges)


XDIST_TESTS = textwrap.dedent("""
    import httpx, pytest

    BASE = "{base}"

    @pytest.mark.vcr
    @pytest.mark.default_cassette("shared")
    @pytest.mark.parametrize("n", range(6))
    def test_post(n):
        r = httpx.post(BASE + "/v1/embeddings", json={{"model": "e", "input": f"text {{n}}"}})
        assert r.json()["echo"]["input"] == f"text {{n}}"
""")


def test_xdist_workers_sharing_a_cassette_lose_no_exchange(pytester, echo_server):
    pytester.makepyfile(test_shared=XDIST_TESTS.format(base=echo_server))
    recorded = pytester.runpytest_subprocess("-n", "2", "--record-mode=new_episodes", "-p", "no:randomly")
    recorded.assert_outcomes(passed=6)
    exchanges = load_exchanges(pytester.path / "cassettes" / "test_shared" / "shared.yaml")
    inputs = sorted(e.request.body.value["input"] for e in exchanges)
    assert inputs == [f"text {n}" for n in range(6)]
    replayed = pytester.runpytest_subprocess("-n", "2", "--record-mode=none", "-p", "no:randomly")
    replayed.assert_outcomes(passed=6)
