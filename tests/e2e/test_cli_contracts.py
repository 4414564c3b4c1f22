"""``replaykit contracts update|check|official`` end to end: exit codes, report formats, error messages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from replaykit.cli import main

CASES = Path(__file__).resolve().parents[1] / "cases" / "contracts"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["contracts", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory with the fixture cassettes under cassettes/, as the current directory."""
    shutil.copytree(CASES / "cassettes", tmp_path / "cassettes")
    # one cassette per operation: keys count as required from one sample (the default waits for three)
    (tmp_path / "pyproject.toml").write_text("[tool.replaykit]\ncontract_min_samples = 1\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def drift(project: Path) -> None:
    for path in (CASES / "drifted").iterdir():
        shutil.copy(path, project / "cassettes" / path.name)


def test_update_then_check_is_clean(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "update")
    assert (code, err) == (0, "")
    assert "updated contracts/bedrock-runtime/Converse.json" in out
    assert out.splitlines()[-1] == "4 contract(s) changed from 9 exchange(s) in 4 cassette(s)"
    assert sorted(p.relative_to(project).as_posix() for p in (project / "contracts").rglob("*.json")) == [
        "contracts/bedrock-runtime/Converse.json", "contracts/bedrock-runtime/ConverseStream.json",
        "contracts/openai/chat.completions.json", "contracts/s3/ListObjectsV2.json"]
    code, out, _ = run(capsys, "update")
    assert (code, out.splitlines()[-1]) == (0, "0 contract(s) changed from 9 exchange(s) in 4 cassette(s)")
    code, out, err = run(capsys, "check")
    assert (code, err) == (0, "")
    assert out.strip() == "OK: 0 error(s), 0 warning(s) in 9 exchange(s) of 4 cassette(s), 4 operation(s)"


def test_check_reports_drift_as_text(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "update")[0] == 0
    drift(project)
    code, out, err = run(capsys, "check", "--no-official")
    assert (code, err) == (1, "")
    # a new event type is additive (a warning), as drift classifies it
    assert out.splitlines()[-1] == "FAILED: 3 error(s), 1 warning(s) in 9 exchange(s) of 4 cassette(s), 4 operation(s)"
    for text in ("cassettes/bedrock_converse.yaml #0", "$.stopReason", "present (required)", "$.usage.inputTokens",
                 "event-type", "citationDelta", "content-type", "application/x-ndjson"):
        assert text in out, text


def test_check_json_report(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "update")
    drift(project)
    code, out, _ = run(capsys, "check", "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["version"] == 1 and report["ok"] is False
    assert report["counts"] == {"cassettes": 4, "exchanges": 9, "operations": 4, "violations": 8, "errors": 7,
                                "warnings": 1}
    assert report["missing_contracts"] == []
    assert report["operations"] == ["bedrock-runtime.Converse", "bedrock-runtime.ConverseStream",
                                    "openai.chat.completions", "s3.ListObjectsV2"]
    rows = {(v["cassette"], v["exchange_index"], v["part"], v["path"]) for v in report["violations"]}
    found = [("cassettes/bedrock_converse.yaml", 0, "response", "$.stopReason"),
             ("cassettes/bedrock_converse.yaml", 0, "response", "$.usage.inputTokens"),
             ("cassettes/bedrock_converse_stream.yaml", 0, "event-type", "$[4]"),
             ("cassettes/openai_chat.yaml", 0, "content-type", "$")]
    # each drift also contradicts the official shape
    assert rows == set(found) | {(c, i, f"official:{part}", path) for c, i, part, path in found}
    assert set(report["violations"][0]) == {"cassette", "exchange_index", "operation", "part", "path", "expected",
                                            "found", "message", "severity"}


def test_check_junit_report(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "update")
    drift(project)
    code, out, _ = run(capsys, "check", "--format", "junit", "--no-official")
    assert code == 1
    suite = ET.fromstring(out).find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert (suite.get("tests"), suite.get("failures"), len(cases)) == ("9", "2", 9)
    failing = {c.get("classname") + " " + c.get("name"): c.find("failure") for c in cases
               if c.find("failure") is not None}
    assert set(failing) == {"cassettes/bedrock_converse.yaml #0 bedrock-runtime.Converse",
                            "cassettes/openai_chat.yaml #0 openai.chat.completions"}
    text = failing["cassettes/bedrock_converse.yaml #0 bedrock-runtime.Converse"].text or ""
    assert "$.stopReason" in text and "$.usage.inputTokens" in text


def test_warnings_fail_only_with_strict(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = project / "cassettes" / "bedrock_converse.yaml"
    path.write_text(path.read_text().replace("totalTokens: 12}", "totalTokens: 12, serverToolUsage: {}}"))
    run(capsys, "update")
    code, out, _ = run(capsys, "check")
    assert code == 0
    assert "$.usage.serverToolUsage" in out and "(warning)" in out
    assert out.splitlines()[-1].startswith("OK: 0 error(s), 1 warning(s)")
    assert run(capsys, "check", "--strict")[0] == 1


def test_missing_contract_is_reported_not_failed(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "contracts").mkdir()
    code, out, _ = run(capsys, "check", "--no-official")
    assert code == 0
    assert "no contract for bedrock-runtime.Converse, bedrock-runtime.ConverseStream" in out


@pytest.mark.parametrize(("args", "message"), [
    (["check", "--cassettes", "nowhere"], "replaykit contracts: ConfigError: nowhere: cassette directory not found\n"),
    (["update", "--cassettes", "nowhere"], "replaykit contracts: ConfigError: nowhere: cassette directory not found\n"),
    (["check"], "replaykit contracts: ConfigError: contracts: contracts directory not found "
                "(`replaykit contracts update` creates it)\n"),
])
def test_missing_directories_exit_2(project: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                    message: str) -> None:
    assert run(capsys, *args) == (2, "", message)


@pytest.mark.parametrize(("name", "place"), [
    ("not_json.json", "line 5 column 34: invalid JSON: "),  # then CPython's wording, which varies by version
    ("bad_schema.json", "response.success.properties.stopReason.type: not a valid JSON Schema: "),
])
def test_broken_contract_file_exit_2_with_one_line(project: Path, capsys: pytest.CaptureFixture[str], name: str,
                                                   place: str) -> None:
    target = project / "contracts" / "bedrock-runtime" / "Converse.json"
    target.parent.mkdir(parents=True)
    shutil.copy(CASES / "broken" / name, target)
    code, out, err = run(capsys, "check")
    assert (code, out) == (2, "")
    assert err.startswith(f"replaykit contracts: ConfigError: contracts/bedrock-runtime/Converse.json: {place}")
    assert err.count("\n") == 1 and "Traceback" not in err
    code, _, err = run(capsys, "update")
    assert code == 2 and "contracts/bedrock-runtime/Converse.json" in err


def test_official_prints_one_operation(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "official", "--operation", "bedrock-runtime.ConverseStream")
    assert code == 0
    doc = json.loads(out)
    assert doc["x-replaykit"]["operation"] == "bedrock-runtime.ConverseStream"
    assert "messageStart" in doc["response"]["events"]


def test_official_writes_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "official"
    code, out, _ = run(capsys, "official", "--operation", "s3.ListObjectsV2", "--operation", "openai.embeddings",
                       "--out", str(out_dir))
    assert code == 0
    assert sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*.json")) == [
        "openai/embeddings.json", "s3/ListObjectsV2.json"]
    assert out.count("wrote ") == 2
    text = (out_dir / "s3" / "ListObjectsV2.json").read_text()
    assert text.endswith("}\n") and json.loads(text)["response"]["content_types"] == ["application/xml"]


def test_official_unknown_operation_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "official", "--operation", "openai.files.list")
    assert (code, out) == (2, "")
    assert err.startswith("replaykit contracts: ConfigError: no official schema for openai.files.list")


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys)
    assert code == 2 and "choose a command" in err
    with pytest.raises(SystemExit) as exc:
        main(["contracts", "check", "--format", "xml"])
    assert exc.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


def test_ci_output_is_one_violation_per_line(project: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    run(capsys, "update")
    drift(project)
    code, out, _ = run(capsys, "check", "--no-official")
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 5  # 3 errors, 1 warning, the summary
    assert all(line.startswith("cassettes/") for line in lines[:-1])
    assert lines[-1].startswith("FAILED: 3 error(s), 1 warning(s)")
