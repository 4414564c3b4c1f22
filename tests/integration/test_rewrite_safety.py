"""`rewrite` never loses a cassette: the old one stays until a complete new one replaces it, even under kill -9."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from recording_child import recording_child
from replaykit.cassette import load_exchanges

CHILD = recording_child('rewrite', 60)


def test_kill_9_during_use_cassette_rewrite_never_loses_the_cassette(tmp_path: Path, echo_server: str) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    path = tmp_path / "cassettes" / "c.yaml"
    rng = random.Random(2024)
    for trial in range(20):
        proc = subprocess.Popen([sys.executable, str(script), echo_server, str(path)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        if trial == 0:  # the first run writes the cassette the later ones rewrite
            first = proc.stdout.readline() if proc.stdout else ""
            assert first.startswith("saved"), proc.stderr.read()[-2000:] if proc.stderr else ""
        time.sleep(rng.uniform(0.0, 1.2))
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        exchanges = load_exchanges(path)  # present and loadable after every kill
        assert len(exchanges) == 60, trial  # a rewrite holds exactly one round, never a merge with the old one
        assert path.stat().st_mode & 0o777 == 0o644


PROJECT_TEST = textwrap.dedent("""
    import os, signal, httpx, pytest

    @pytest.mark.vcr
    def test_post():
        r = httpx.post("{base}/v1/embeddings", json={{"model": "e", "input": "hello"}})
        assert r.status_code == 200
        if os.environ.get("DIE_MID_TEST"):
            os.kill(os.getpid(), signal.SIGKILL)
""")


def test_pytest_record_mode_rewrite_keeps_the_old_cassette_until_the_new_one_is_written(
    tmp_path: Path, echo_server: str
) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'rw'\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_rw.py").write_text(PROJECT_TEST.format(base=echo_server))

    def pytest_run(mode: str, die: bool) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "DIE_MID_TEST": "1" if die else ""}
        env.pop("PYTEST_XDIST_WORKER", None)
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
             f"--record-mode={mode}", "tests"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        )

    first = pytest_run("once", die=False)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    (cassette,) = (tmp_path / "cassettes").rglob("*.yaml")
    before = cassette.read_bytes()
    cassette.chmod(0o640)

    killed = pytest_run("rewrite", die=True)
    assert killed.returncode == -signal.SIGKILL
    assert cassette.read_bytes() == before  # pytest-recording would have deleted it before the test ran

    rewritten = pytest_run("rewrite", die=False)
    assert rewritten.returncode == 0, rewritten.stdout[-3000:]
    assert len(load_exchanges(cassette)) == 1
    assert cassette.read_bytes() != before  # a new recording (new recorded_at, new echo id)
    assert cassette.stat().st_mode & 0o777 == 0o640  # keeps the mode of the file it replaced
