"""The Python examples of README.md and of every docs/*.md page run as written, offline, with public API only.

A ```` ```python ```` block runs as a script from the repository root (replaying committed cassettes, or talking to
a sandbox on 127.0.0.1), unless the line right before its fence is a marker:

``<!-- docs-test: pytest -->``
    The block is a test module (its first line may name it: ``# tests/test_x.py``). It is written into a throwaway
    project with ``target = "sandbox"``; ``pytest --record-mode=once`` records it, then plain ``pytest`` replays it
    offline, with no AWS_* or OPENAI_* variables.
``<!-- docs-test: pytest requires=mod_a,mod_b -->`` (also on a script block)
    As above, skipped when an optional client package is not installed.
``<!-- docs-test: skip REASON -->``
    Not run (needs credentials, a network, or a file the reader creates); use sparingly.

Every ``replaykit.<module>...`` name a page mentions must resolve, and no example imports a private module.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCK = re.compile(r"(?:^<!--\s*docs-test:\s*(?P<spec>.*?)\s*-->\n)?^```python\n(?P<code>.*?)^```", re.M | re.S)
PRIVATE = re.compile(r"\breplaykit(?:\.[A-Za-z]\w*)*\._\w")
DOTTED = re.compile(r"(?<![\w.])replaykit(?:\.\w+)+")
PROJECT = """
[tool.pytest.ini_options]
addopts = "-p no:cacheprovider -p no:randomly"
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "function"

[tool.replaykit]
target = "sandbox"
"""


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    kind: str  # "script", "pytest" or "skip"
    requires: tuple[str, ...]
    reason: str
    code: str

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def parse_spec(spec: str | None, where: str) -> tuple[str, tuple[str, ...], str]:
    """(kind, required modules, skip reason) of a marker; an unknown marker is an error, not a silent skip."""
    if not spec:
        return "script", (), ""
    if spec.startswith("skip"):
        reason = spec[4:].strip()
        if not reason:
            raise ValueError(f"{where}: `docs-test: skip` needs a reason")
        return "skip", (), reason
    words = spec.split()
    kind = "pytest" if words[0] == "pytest" else "script"
    requires: tuple[str, ...] = ()
    for word in words[1:] if kind == "pytest" else words:
        if not word.startswith("requires="):
            raise ValueError(f"{where}: unknown docs-test marker {spec!r} (pytest, requires=a,b, skip REASON)")
        requires += tuple(m for m in word.removeprefix("requires=").split(",") if m)
    return kind, requires, ""


def collect() -> list[Block]:
    blocks = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for m in BLOCK.finditer(text):
            line = text.count("\n", 0, m.start("code"))
            kind, requires, reason = parse_spec(m.group("spec"), f"{page.name}:{line}")
            blocks.append(Block(page, line, kind, requires, reason, m.group("code")))
    return blocks


BLOCKS = collect()


def _offline_env() -> dict[str, str]:
    drop = ("AWS_", "OPENAI_", "ANTHROPIC_", "REPLAYKIT_", "PYTEST_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def _run_pytest_block(block: Block, root: Path) -> None:
    first = block.code.splitlines()[0] if block.code else ""
    named = re.match(r"#\s*(tests/test_\w+\.py)\s*$", first)
    test_file = root / (named.group(1) if named else "tests/test_docs_example.py")
    test_file.parent.mkdir(parents=True, exist_ok=True)
    test_file.write_text(block.code)
    (root / "pyproject.toml").write_text(PROJECT)
    for args in (["--record-mode=once"], []):
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", *args],
            cwd=root,
            env=_offline_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        phase = "recording" if args else "replay"
        assert result.returncode == 0, f"{block.id} failed on {phase}:\n{result.stdout[-3000:]}{result.stderr[-1000:]}"


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_docs_python_block_runs(block: Block, tmp_path: Path) -> None:
    if block.kind == "skip":
        pytest.skip(block.reason)
    for module in block.requires:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (pip install -e '.[clients]')")
    if block.kind == "pytest":
        _run_pytest_block(block, tmp_path)
        return
    script = tmp_path / "block.py"
    script.write_text(block.code)
    result = subprocess.run([sys.executable, str(script)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{block.id} failed:\n{result.stderr[-2000:]}"


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_docs_examples_use_public_api_only(block: Block) -> None:
    tree = ast.parse(block.code)  # every block is valid Python, skipped ones too
    imported = [
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    private = [name for name in imported if PRIVATE.search(name + ".x")] + PRIVATE.findall(block.code)
    assert not private, f"{block.id} uses private replaykit names: {private}"


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def _is_module(name: str) -> bool:
    import replaykit

    return name in replaykit.__all__ or importlib.util.find_spec(f"replaykit.{name}") is not None


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_docs_name_only_real_replaykit_names(page: Path) -> None:
    """Each ``replaykit.<module>.<name>`` a page mentions (prose or code) exists, so the docs cannot go stale."""
    names = {m.group(0).rstrip(".") for m in DOTTED.finditer(page.read_text(encoding="utf-8"))}
    # `replaykit.target` in prose is a cassette metadata key, not a module: only names under a real module count
    checked = sorted(n for n in names if _is_module(n.split(".")[1]))
    missing = [n for n in checked if not _resolves(n)]
    assert not missing, f"{page.name} names replaykit attributes that do not exist: {missing}"


def test_every_page_is_collected() -> None:
    assert len(PAGES) > 1 and any(b.page.name == "README.md" for b in BLOCKS)
