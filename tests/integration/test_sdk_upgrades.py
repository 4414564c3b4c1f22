"""An SDK upgrade does not invalidate cassettes: a recording made by an older openai SDK that did not send
``encoding_format`` still answers the embeddings call the installed SDK makes (it adds ``encoding_format:
"base64"`` by default). The old-SDK cassette is the real pydantic-ai one with that field taken out, as openai 1.26
sent it; it is built in tmp_path from ../shared/real-cassettes (skipped when absent), never copied into the repo.
"""

from __future__ import annotations

from pathlib import Path

import openai
import pytest
import yaml

from replaykit.config import Config
from replaykit.errors import NoMatchError
from replaykit.providers.openai import sdk_defaults, sdk_defaults_of
from replaykit.recorder import use_cassette

REAL = "pydantic__pydantic-ai/tests/cassettes/test_embeddings/TestOpenAI.test_query.yaml"


@pytest.fixture
def old_sdk_cassette(real_cassettes, tmp_path) -> Path:
    doc = yaml.safe_load((real_cassettes / REAL).read_text())
    body = doc["interactions"][0]["request"]["parsed_body"]
    assert body.pop("encoding_format") == "base64"  # what the newer SDK that recorded it sent by default
    path = tmp_path / "cassettes" / "test_embeddings" / "test_embed.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(doc))
    return path


def test_defaults_are_learned_from_the_installed_sdk():
    learned = sdk_defaults()
    assert learned["openai.embeddings"] == {"encoding_format": "base64"}
    assert "openai.chat.completions" not in learned  # the SDK adds nothing to a minimal chat call


def test_old_sdk_recording_replays_the_current_sdks_embeddings_call(old_sdk_cassette):
    client = openai.OpenAI(api_key="sk-replay-dummy", max_retries=0)
    with use_cassette(old_sdk_cassette, "none", config=Config()) as cassette:
        out = client.embeddings.create(model="text-embedding-3-small", input=["Hello, world!"])
    assert cassette.play_count == 1
    assert len(out.data) == 1 and len(out.data[0].embedding) == 1536


def test_a_non_default_value_still_compares_strictly(old_sdk_cassette):
    client = openai.OpenAI(api_key="sk-replay-dummy", max_retries=0)
    from vcr.errors import CannotOverwriteExistingCassetteException

    # the miss is vcrpy's exception inside the block (the lead's one-failure work may turn it into ours)
    with pytest.raises((NoMatchError, CannotOverwriteExistingCassetteException)) as info:
        with use_cassette(old_sdk_cassette, "none", config=Config()):
            client.embeddings.create(model="text-embedding-3-small", input=["Hello, world!"], encoding_format="float")
    assert "encoding_format" in str(info.value)


def test_the_session_summary_lists_the_tolerated_match(old_sdk_cassette, pytester):
    target = pytester.path / "cassettes" / "test_emb" / "test_embed.yaml"
    target.parent.mkdir(parents=True)
    target.write_text(old_sdk_cassette.read_text())
    pytester.makepyprojecttoml('[tool.replaykit]\nenv = true\ncontracts = "off"\n')
    pytester.makepyfile(test_emb='''
import openai

def test_embed():
    out = openai.OpenAI(max_retries=0).embeddings.create(model="text-embedding-3-small", input=["Hello, world!"])
    assert len(out.data[0].embedding) == 1536
''')
    result = pytester.runpytest_inprocess("-p", "no:randomly")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([
        "*matched despite an SDK upgrade (1)*",
        "*test_embed.yaml exchange #0 (openai.embeddings): recorded without encoding_format='base64'",
    ])


def test_learning_inside_an_active_cassette_records_nothing(tmp_path):
    # the first match of a session may be what triggers learning: it must not go through vcrpy's stubs
    sdk_defaults_of.cache_clear()
    path = tmp_path / "learn.yaml"
    with use_cassette(path, "once", config=Config(target="sandbox")) as cassette:
        assert sdk_defaults()["openai.embeddings"] == {"encoding_format": "base64"}
    assert len(cassette.data) == 0 and not path.exists()


def test_each_operation_is_learned_on_its_own():
    sdk_defaults_of.cache_clear()
    assert sdk_defaults_of("openai.chat.completions") == {}
    assert sdk_defaults_of.cache_info().currsize == 1  # replaying chat did not build embeddings or responses calls
    assert sdk_defaults_of("openai.embeddings") == {"encoding_format": "base64"}
    assert sdk_defaults_of("openai.files") == {}  # no minimal call known: nothing is ignored
