"""`replaykit scan` on hostile input: every file it cannot read, decode or parse is exit 2, named, no traceback."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

import secret_samples
from replaykit.cli import main

BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)


def _bad_inputs(tmp: Path) -> dict[str, tuple[Path, str]]:
    """name → (file, what the error says)."""
    rng = random.Random(7)
    files = {
        "binary": ("binary.yaml", rng.randbytes(4096), "binary data"),
        "nul": ("nul.yaml", b"a: 1\n\x00\nb: 2\n", "binary data"),
        "malformed-yaml": ("bad.yaml", b"a: [1, 2\nb: {\n", "invalid YAML at line"),
        "malformed-json": ("bad.json", b'{"a": [1, 2', "invalid JSON at line 1"),
        "deep-json": ("deep.json", b"[" * 100_000 + b"]" * 100_000, "nested more than 100 levels"),
        "deep-yaml": ("deep.yaml", b"a: " + b"[" * 5_000 + b"]" * 5_000, "nest"),
        "billion-laughs": ("bomb.yaml", BOMB.encode(), "alias"),
        "bad-gzip": ("c.yaml.gz", b"not gzip at all", "not a valid gzip file"),
        "gzip-bomb": ("g.yaml.gz", gzip.compress(b"a" * 3_000_000), "decompresses to more than"),
    }
    out = {}
    for name, (fname, data, says) in files.items():
        path = tmp / fname
        path.write_bytes(data)
        out[name] = (path, says)
    return out


@pytest.mark.parametrize(
    "case",
    ["binary", "nul", "malformed-yaml", "malformed-json", "deep-json", "deep-yaml", "billion-laughs", "bad-gzip",
     "gzip-bomb"],
)
def test_bad_input_exits_2_naming_the_file(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, says = _bad_inputs(tmp_path)[case]
    code = main(["scan", "--max-size", "2M", str(path)])
    out, err = capsys.readouterr()
    assert code == 2
    line = err.strip()
    assert line.startswith(f"replaykit scan: error: {path}: ")
    assert says in line
    assert "\n" not in line and "Traceback" not in err


def test_bad_files_do_not_hide_findings_in_others(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _bad_inputs(tmp_path)
    token = secret_samples.sample_secret("github-token", random.Random(3))
    (tmp_path / "notes.md").write_text(f"token {token}\n")
    code = main(["scan", "--format", "json", "--max-size", "2M", str(tmp_path)])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert code == 2
    assert [f["rule"] for f in report["findings"]] == ["github-token"]
    assert sorted(Path(e["file"]).name for e in report["errors"]) == sorted(
        ["binary.yaml", "nul.yaml", "bad.yaml", "bad.json", "deep.json", "deep.yaml", "bomb.yaml", "c.yaml.gz",
         "g.yaml.gz"]
    )
    assert token not in out + err


def test_utf16_and_utf32_files_are_scanned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    akid = secret_samples.sample_secret("aws-access-key-id", random.Random(5))
    text = f"version: 1\ninteractions: []\nnote: {akid}\n"
    for enc in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"):
        (tmp_path / f"c-{enc}.yaml").write_bytes(text.encode(enc))
    code = main(["scan", "--format", "json", str(tmp_path)])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["files_scanned"] == 5
    assert sorted(Path(f["file"]).name for f in report["findings"] if f["rule"] == "aws-access-key-id") == sorted(
        f"c-{enc}.yaml" for enc in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le")
    )


def test_max_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = tmp_path / "big.txt"
    big.write_text("x" * 5000)
    assert main(["scan", "--max-size", "4K", str(big)]) == 2
    assert "over the scan size limit of 4,096; raise it with --max-size" in capsys.readouterr().err
    assert main(["scan", "--max-size", "8K", str(big)]) == 0
    with pytest.raises(SystemExit) as exc:
        main(["scan", "--max-size", "lots", str(big)])
    assert exc.value.code == 2


def test_large_file_streams_with_line_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from replaykit.scrub import scanner

    # a small chunk size stands in for a 200 MB file: the same code path, chunk boundaries included
    monkeypatch.setattr(scanner, "STREAM_ABOVE", 1024)
    monkeypatch.setattr(scanner, "_CHUNK", 4096)
    monkeypatch.setattr(scanner, "_OVERLAP", 256)
    rng = random.Random(11)
    keys = [secret_samples.sample_secret("github-token", rng) for _ in range(3)]
    lines = ["filler line " + str(i) for i in range(3000)]
    for n, key in zip((100, 1500, 2999), keys, strict=True):
        lines[n] = f"leak {key}"
    path = tmp_path / "big.log"
    path.write_text("\n".join(lines) + "\n")
    code = main(["scan", "--format", "json", str(path)])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [f["location"] for f in report["findings"]] == ["line 101", "line 1501", "line 3000"]


def test_bomb_refused_quickly_in_a_subprocess(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    proc = subprocess.run(
        [sys.executable, "-m", "replaykit.cli", "scan", str(path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "alias" in proc.stderr and "Traceback" not in proc.stderr
