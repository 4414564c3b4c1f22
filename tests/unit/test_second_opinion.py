"""detect-secrets as a second opinion: vendor families replaykit has no rule for are found and refuse the write."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from replaykit.cassette.persister import check_secrets
from replaykit.errors import SecretFoundError
from replaykit.scrub.scanner import scan_path

REPO = Path(__file__).resolve().parents[2]
_B62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _sendgrid(rng: random.Random) -> str:
    pick = lambda n: "".join(rng.choice(_B62) for _ in range(n))  # noqa: E731
    return f"SG.{pick(22)}.{pick(43)}"


def test_scan_reports_a_family_only_detect_secrets_knows(tmp_path: Path) -> None:
    key = _sendgrid(random.Random(1))
    path = tmp_path / "notes.txt"
    path.write_text(f"mail relay\nkey {key}\n")
    (finding,) = scan_path(path)
    assert (finding.rule, finding.location, finding.description) == (
        "detect-secrets", "line 2", "detect-secrets: SendGrid API Key")
    assert key not in json.dumps(finding.to_dict())


def test_write_is_refused_on_a_detect_secrets_finding(tmp_path: Path) -> None:
    key = _sendgrid(random.Random(2))
    doc = {"version": 1, "interactions": [{"request": {"method": "POST", "uri": "https://x.test/", "headers": {},
                                                       "body": {"text": f"relay={key}"}},
                                           "response": {"status": {"code": 200}, "headers": {}, "body": {}}}]}
    with pytest.raises(SecretFoundError, match="detect-secrets"):
        check_secrets(doc, tmp_path / "c.yaml")


def test_committed_data_passes_detect_secrets_with_its_default_plugins(tmp_path: Path) -> None:
    # `detect-secrets-hook` with all its default plugins, as a pre-commit hook would run it, finds nothing that
    # is not in the audited baseline. The baseline holds only moto's responses in test_aws/: the AWS docs example
    # key (AKIAIOSFODNN7EXAMPLE), an SQS MD5 digest and an SQS receipt handle.
    baseline = json.loads((REPO / ".secrets.baseline").read_text())
    assert set(baseline["results"]) <= {"cassettes/test_aws/test_sqs_round_trip.yaml",
                                        "cassettes/test_aws/test_sts_caller_identity.yaml"}
    copy = tmp_path / "baseline.json"  # the hook may rewrite its baseline: never the committed one
    copy.write_text(json.dumps(baseline))
    # the committed files (`detect-secrets scan` reads git's list): no caches, virtualenvs or bytecode
    def committed(p: Path) -> bool:
        return p.is_file() and not any(part.startswith((".", "__pycache__")) for part in p.relative_to(REPO).parts)

    files = sorted(str(p.relative_to(REPO)) for d in ("cassettes", "examples", "contracts")
                   for p in (REPO / d).rglob("*") if committed(p))
    proc = subprocess.run([sys.executable, "-m", "detect_secrets.pre_commit_hook", "--baseline", str(copy), *files],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
