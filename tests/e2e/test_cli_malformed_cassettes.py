"""`drift`, `contracts` and `cost` on malformed cassettes: exit 2 naming the file and exchange, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from replaykit.cli import main

BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)


def _cassette(body: object, stream: bool = True) -> dict[str, object]:
    uri = "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse-stream"
    return {
        "version": 1,
        "interactions": [
            {
                "operation": "bedrock-runtime.ConverseStream",
                "request": {"method": "POST", "uri": uri, "headers": {}, "body": {"json": {"messages": []}}},
                "response": {"status": {"code": 200, "message": "OK"}, "headers": {}, "body": body},
            }
        ],
    }


def _deep(n: int) -> dict[str, object]:
    root: dict[str, object] = {}
    cur = root
    for _ in range(n):
        cur["a"] = {}
        cur = cur["a"]  # type: ignore[assignment]
    return root


CASES: dict[str, tuple[str, str, str]] = {
    # name: (file name, text, what the error says)
    "deep-json-body": ("deep.json", "", "nested more than 100 levels deep"),
    "int-eventstream-items": (
        "ints.json",
        json.dumps(_cassette({"eventstream": [1, 2, 3]})),
        "exchange #0, response.body: `eventstream` event #0 must be a mapping, found int",
    ),
    "int-sse-items": ("sse.json", json.dumps(_cassette({"sse": [7]})), "`sse` event #0 must be a mapping"),
    "bad-base64": ("b64.json", json.dumps(_cassette({"base64": "!!!not base64!!!"})), "`base64` is not valid base64"),
    "interaction-not-a-mapping": ("five.json", json.dumps({"version": 1, "interactions": [5]}), "exchange #0"),
    "billion-laughs": ("bomb.yaml", BOMB, "alias"),
    "malformed-yaml": ("bad.yaml", "interactions: [\n", "invalid YAML"),
}


def _write(tmp_path: Path, case: str) -> Path:
    name, text, _ = CASES[case]
    folder = tmp_path / "cassettes"
    folder.mkdir()
    path = folder / name
    if case == "deep-json-body":
        # json.dumps itself recurses: build the nested text by hand
        body = '{"a": ' * 3000 + "{}" + "}" * 3000
        text = json.dumps(_cassette({"json": {}})).replace('"body": {"json": {}}', '"body": {"json": ' + body + "}")
    path.write_text(text)
    return path


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("verb", ["cost", "drift", "contracts-update", "contracts-check"])
def test_malformed_cassette_exits_2(case: str, verb: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, case)
    (tmp_path / "contracts").mkdir()
    argv = {
        "cost": ["cost", "--cassettes", str(path.parent)],
        "drift": ["drift", str(path), str(path)],
        "contracts-update": ["contracts", "update", "--cassettes", str(path.parent), "--contracts",
                             str(tmp_path / "contracts")],
        "contracts-check": ["contracts", "check", "--cassettes", str(path.parent), "--contracts",
                            str(tmp_path / "contracts"), "--no-official"],
    }[verb]
    code = main(argv)
    _out, err = capsys.readouterr()
    assert code == 2
    assert str(path) in err
    assert CASES[case][2] in err
    assert "Traceback" not in err
