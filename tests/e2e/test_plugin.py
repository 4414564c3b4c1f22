"""The pytest plugin in real pytest sessions (pytester): record against the sandbox, replay offline, fail loudly."""

from __future__ import annotations

import difflib
import re

CHAT = '''
import pytest

def test_chat(openai_client):
    r = openai_client.chat.completions.create(model="gpt-4o-mini",
                                              messages=[{"role": "user", "content": "PROMPT"}])
    assert r.choices[0].message.content
'''

SWALLOW = '''
def test_swallowed(bedrock_runtime):
    try:
        bedrock_runtime.converse(modelId="anthropic.claude-3-haiku-20240307-v1:0",
                                 messages=[{"role": "user", "content": [{"text": "a different prompt"}]}])
    except Exception:
        pass  # user code with a broad except must not hide the miss
'''

NETWORK = '''
import socket
import pytest

@pytest.mark.vcr
def test_raw_socket():
    try:
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    except OSError:
        pass
'''


def _record_and_replay(pytester, source: str, name: str = "test_mod") -> None:
    pytester.makepyfile(**{name: source})
    pytester.runpytest_subprocess("--record-mode=once", "-p", "no:randomly").assert_outcomes(passed=1)


def test_record_then_replay_offline(pytester):
    _record_and_replay(pytester, CHAT.replace("PROMPT", "hello"))
    cassette = pytester.path / "cassettes" / "test_mod" / "test_chat.yaml"
    text = cassette.read_text()
    assert "https://api.openai.com/v1/chat/completions" in text and "127.0.0.1" not in text
    assert "target: sandbox" in text
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*replaykit*", "*openai.chat.completions*1*0*"])


def test_unmatched_request_shows_closest_exchange_and_json_path(pytester):
    _record_and_replay(pytester, CHAT.replace("PROMPT", "hello"))
    pytester.makepyfile(test_mod=CHAT.replace("PROMPT", "goodbye"))
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    # one miss is one failure, in replaykit's words, with the command that fixes this very test
    result.assert_outcomes(failed=1, errors=0)
    result.stdout.fnmatch_lines([
        "*has no unplayed exchange for openai.chat.completions POST /v1/chat/completions*",
        "*closest: exchange #0*",
        "*differs at body $.messages?0?.content: recorded 'hello', sent 'goodbye'*",
        "*fix: pytest 'test_mod.py::test_chat' --record-mode=rewrite*",
    ])
    out = result.stdout.str()
    assert "match_on" not in out and "before_record_request" not in out and "CannotOverwrite" not in out


def test_swallowed_miss_still_fails_the_test(pytester):
    pytester.makepyfile(test_swallow=SWALLOW)
    (pytester.path / "cassettes" / "test_swallow").mkdir(parents=True)
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(failed=1, errors=0)
    result.stdout.fnmatch_lines([
        "*has no unplayed exchange for bedrock-runtime.Converse*",
        "*the cassette is empty or missing*",
        "*fix: pytest 'test_swallow.py::test_*' --record-mode=once*",
    ])


def test_replay_blocks_real_sockets_with_a_clear_message(pytester):
    pytester.makepyfile(test_net=NETWORK)
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(failed=1, errors=0)
    result.stdout.fnmatch_lines(["*the network guard blocked real network connections to: 127.0.0.1:9*"])


UNMARKED = """
import socket
import threading

import pytest

from replaykit import NetworkBlockedError


@pytest.fixture
def local_port():
    server = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=lambda: server.accept()[0].close(), daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def test_dns(local_port):
    try:  # swallowed: the attempt still fails the test
        socket.getaddrinfo("replaykit-guard-test.invalid", 443)
    except OSError:
        pass


def test_udp(local_port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.sendto(b"x", ("127.0.0.1", 9))
        except NetworkBlockedError:
            pass


def test_local_connect(local_port):
    socket.create_connection(("127.0.0.1", local_port), timeout=5).close()
"""


def test_block_network_guards_tests_without_a_cassette_with_allowed_hosts(pytester):
    """pytest-recording's --block-network covers connect; replaykit adds DNS and UDP, with the same allowed hosts."""
    pytester.makepyfile(test_unmarked=UNMARKED)
    unguarded = pytester.runpytest_subprocess("-p", "no:randomly", "-k", "local_connect")
    unguarded.assert_outcomes(passed=1)
    blocked = pytester.runpytest_subprocess("-p", "no:randomly", "--block-network")
    blocked.assert_outcomes(failed=3)  # DNS, UDP and the local connect: refused, and reported even when swallowed
    blocked.stdout.fnmatch_lines([
        "*blocked real network connections to: replaykit-guard-test.invalid (DNS getaddrinfo)*",
        "*blocked real network connections to: 127.0.0.1:9 (UDP sendto)*",
        "*--block-network: this test has no cassette and tried to reach 127.0.0.1:*--allowed-hosts*",
    ])
    allowed = pytester.runpytest_subprocess("-p", "no:randomly", "--block-network", "--allowed-hosts=127.0.0.1")
    allowed.assert_outcomes(passed=2, failed=1)  # 127.0.0.1 may be reached (TCP and UDP); other names may not
    allowed.stdout.fnmatch_lines(["*FAILED test_unmarked.py::test_dns*"])


def test_pyproject_config_moves_cassettes(pytester):
    pytester.makepyprojecttoml('[tool.replaykit]\ncassette_dir = "recordings"\n')
    _record_and_replay(pytester, CHAT.replace("PROMPT", "hello"))
    assert (pytester.path / "recordings" / "test_mod" / "test_chat.yaml").is_file()


def test_unknown_config_key_is_a_clear_usage_error(pytester):
    pytester.makepyprojecttoml('[tool.replaykit]\ncasette_dir = "typo"\n')
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest_subprocess()
    assert result.ret == 4  # a usage error, not an INTERNALERROR (exit 3)
    result.stderr.fnmatch_lines(["ERROR: replaykit: *unknown key?s? in ?tool.replaykit?: casette_dir*"])


VOLATILE = re.compile(r"^\s*(- )?(recorded_at|Date|date|x-amzn-RequestId|x-request-id|openai-processing-ms|id|created"
                      r"|p|latencyMs|x-ratelimit-[a-z-]+|- [A-Za-z0-9 ,:+-]+GMT|- '?[0-9a-f-]{36}'?"
                      r"|- (?:chatcmpl|req|resp|msg)[-_]\S+|"
                      r"- '?\d+'?)\b")


def test_rerecording_unchanged_traffic_changes_only_volatile_values(pytester):
    source = CHAT.replace("PROMPT", "stable") + '''
def test_stream(bedrock_runtime):
    out = bedrock_runtime.converse_stream(modelId="anthropic.claude-3-haiku-20240307-v1:0",
                                          messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert list(out["stream"])
'''
    pytester.makepyfile(test_mod=source)
    pytester.runpytest_subprocess("--record-mode=once", "-p", "no:randomly").assert_outcomes(passed=2)
    files = sorted((pytester.path / "cassettes").rglob("*.yaml"))
    first = {p: p.read_text() for p in files}
    pytester.runpytest_subprocess("--record-mode=rewrite", "-p", "no:randomly").assert_outcomes(passed=2)
    for path, before in first.items():
        after = path.read_text()
        changed = [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
                   if line[:1] in "+-" and not line.startswith(("+++", "---"))]
        offending = [line for line in changed if not VOLATILE.match(line[1:])]
        assert not offending, f"{path.name}: non-volatile lines changed: {offending[:6]}"


def test_contracts_update_mode_infers_from_written_cassettes_also_under_xdist(pytester):
    pytester.makepyfile(test_mod=CHAT.replace("PROMPT", "hello") + '''
def test_embed(openai_client):
    assert openai_client.embeddings.create(model="text-embedding-3-small", input="x").data
''')
    result = pytester.runpytest_subprocess("-n", "2", "--record-mode=once", "--replaykit-contracts=update",
                                           "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    import json

    chat = json.loads((pytester.path / "contracts" / "openai" / "chat.completions.json").read_text())
    assert chat["x-replaykit"]["samples"] == 1 and "choices" in chat["response"]["success"]["properties"]
    assert (pytester.path / "contracts" / "openai" / "embeddings.json").is_file()
    # and the next plain run checks replays against them
    replay = pytester.runpytest_subprocess("-p", "no:randomly")
    replay.assert_outcomes(passed=2)


def test_check_mode_learns_from_this_sessions_recordings_and_still_checks_replays(pytester):
    import json

    pytester.makepyfile(test_a=CHAT.replace("PROMPT", "hello").replace("test_chat", "test_a"))
    pytester.runpytest_subprocess("--record-mode=once", "--replaykit-contracts=update", "-p", "no:randomly")
    contract = pytester.path / "contracts" / "openai" / "chat.completions.json"
    doc = json.loads(contract.read_text())
    doc["response"]["success"].setdefault("required", []).append("never_sent")  # no response has it
    contract.write_text(json.dumps(doc))
    pytester.makepyfile(test_b=CHAT.replace("PROMPT", "a new test").replace("test_chat", "test_b"))
    result = pytester.runpytest_subprocess("--record-mode=once", "--replaykit-contracts=check", "-p", "no:randomly")
    # test_a replays and breaks the contract; test_b's fresh recording is evidence, not a failure
    result.assert_outcomes(passed=1, failed=1, errors=0)  # a violation fails the test itself, once
    result.stdout.fnmatch_lines(["*FAILED test_a.py::test_a*contract violation*"])
    assert "never_sent" in result.stdout.str()
    assert json.loads(contract.read_text()) == doc  # check mode never writes the contract file


def test_a_vcr_option_replaykit_cannot_honour_is_one_clear_failure(pytester):
    pytester.makeconftest("import pytest\n\n@pytest.fixture(scope='module')\ndef vcr_config():\n"
                          "    return {'match_on': ['method', 'uri']}\n")
    pytester.makepyfile(test_mod=CHAT.replace("PROMPT", "hello"))
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*replaykit: vcr option 'match_on' is not supported with replaykit*remove match_on*"])
    assert "Traceback" not in result.stdout.str()


_HOOK_CONFTEST = '''
import pathlib
import pytest

SEEN = pathlib.Path(__file__).parent / "hook_calls.txt"

def _hook(request):
    with SEEN.open("a") as f:
        f.write(request.uri + "\\n")
    return request

@pytest.fixture(scope="module")
def vcr_config():
    return OPTIONS
'''


def test_user_request_hooks_still_decide_in_replay(pytester):
    # replay may match a request as sent, skipping replaykit's own scrub of it; a user's own hook must still see
    # every request, and ignore_hosts must still keep a host's requests away from the cassette
    _record_and_replay(pytester, CHAT.replace("PROMPT", "hello"))
    pytester.makeconftest(_HOOK_CONFTEST.replace("OPTIONS", "{'before_record_request': _hook}"))
    pytester.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=1)
    calls = (pytester.path / "hook_calls.txt").read_text().splitlines()
    assert calls == ["https://api.openai.com/v1/chat/completions"]

    pytester.makeconftest(_HOOK_CONFTEST.replace("OPTIONS", "{'ignore_hosts': ['api.openai.com']}"))
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*api.openai.com*"])
    assert "blocked" in result.stdout.str()
