"""``use_cassette`` outside pytest checks replayed exchanges against contracts, as the plugin does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openai
import pytest

from replaykit import Config, ContractViolation, load_exchanges, use_cassette

ROOT = Path(__file__).resolve().parents[2]
CASSETTE = ROOT / "cassettes" / "test_openai" / "test_chat_completion.yaml"


def _ask(client: openai.OpenAI) -> str:
    request = load_exchanges(CASSETTE)[0].request.body.value
    out = client.chat.completions.create(model=request["model"], messages=request["messages"])
    return out.choices[0].message.content or ""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(CASSETTE, tmp_path / "chat.yaml")
    shutil.copytree(ROOT / "contracts" / "openai", tmp_path / "contracts" / "openai")
    return tmp_path


def test_a_replay_that_breaks_its_contract_raises_contract_violation(project: Path) -> None:
    contract = project / "contracts" / "openai" / "chat.completions.json"
    doc = json.loads(contract.read_text())
    doc["response"]["success"].setdefault("required", []).append("never_sent")
    contract.write_text(json.dumps(doc))
    config = Config(cassette_dir=project, contracts_dir=project / "contracts", contracts="check")
    client = openai.OpenAI(api_key="sk-replay", max_retries=0)
    with pytest.raises(ContractViolation) as info:
        with use_cassette(project / "chat.yaml", "none", config=config):
            assert _ask(client)  # the SDK parses the replay fine: only the contract objects
    assert len(info.value.violations) == 1 and "never_sent" in info.value.violations[0]


def test_a_replay_within_its_contract_passes_and_checking_can_be_turned_off(project: Path) -> None:
    config = Config(cassette_dir=project, contracts_dir=project / "contracts", contracts="check")
    client = openai.OpenAI(api_key="sk-replay", max_retries=0)
    with use_cassette(project / "chat.yaml", "none", config=config):
        assert _ask(client)
    contract = project / "contracts" / "openai" / "chat.completions.json"
    doc = json.loads(contract.read_text())
    doc["response"]["success"].setdefault("required", []).append("never_sent")
    contract.write_text(json.dumps(doc))
    with use_cassette(project / "chat.yaml", "none", config=config, check_contracts=False):
        assert _ask(client)
