"""The parsed-cassette cache: same exchanges as a YAML parse, filled at write time, never stale, corruption-proof."""

from __future__ import annotations

import gc
import gzip
import json

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from replaykit.cassette import cache, format, load_exchanges, memo, persister
from replaykit.cassette.format import dump_document, make_document, read_document, write_atomic
from replaykit.codecs.safe import load_yaml
from replaykit.exchange import Body, Exchange, Request, Response


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    directory = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV, str(directory))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))  # the per-user HMAC key lives there
    cache._secrets.clear()
    persister._MEMO.clear()
    yield directory
    persister._MEMO.clear()


def _exchanges(n: int) -> list[Exchange]:
    out = []
    for i in range(n):
        req = Request(
            "POST",
            "https://api.openai.com/v1/chat/completions",
            {"Content-Type": ["application/json"]},
            Body("json", {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"prompt {i}"}]}),
        )
        resp = Response(
            200,
            "OK",
            {"Content-Type": ["application/json"], "x-request-id": [f"req_{i}"]},
            Body("json", {"id": f"chatcmpl-{i}", "choices": [{"message": {"content": "multi\nline\n"}}]}),
        )
        out.append(Exchange(i, "openai.chat.completions", req, resp))
    return out


def _write(path, exchanges):
    write_atomic(path, dump_document(make_document(exchanges, {"target": "sandbox"}), path))


def _no_yaml(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("parsed YAML although the cache had the document")

    monkeypatch.setattr(format, "load_yaml", refuse)


def _entries(directory):
    return sorted(p for p in directory.iterdir() if not p.name.startswith(".")) if directory.is_dir() else []


def test_writing_a_cassette_caches_it_and_loading_uses_the_cache(tmp_path, cache_dir, monkeypatch):
    path = tmp_path / "c.yaml"
    exchanges = _exchanges(40)
    _write(path, exchanges)
    assert len(_entries(cache_dir)) == 1
    expected = load_exchanges(path)
    _no_yaml(monkeypatch)
    assert load_exchanges(path) == expected
    assert [e.request.body.value for e in expected] == [e.request.body.value for e in exchanges]


def test_first_load_fills_the_cache_and_equals_the_parse(tmp_path, cache_dir, monkeypatch):
    path = tmp_path / "c.yaml"
    monkeypatch.setenv(cache.ENV, "off")
    _write(path, _exchanges(40))
    parsed = load_exchanges(path)
    assert not cache_dir.exists()
    monkeypatch.setenv(cache.ENV, str(cache_dir))
    assert load_exchanges(path) == parsed  # miss: parsed, then stored
    assert len(_entries(cache_dir)) == 1
    _no_yaml(monkeypatch)
    assert load_exchanges(path) == parsed


def test_an_edited_cassette_is_never_served_from_an_old_entry(tmp_path):
    path = tmp_path / "c.yaml"
    _write(path, _exchanges(40))
    load_exchanges(path)
    text = path.read_text()
    assert "content: prompt 3\n" in text
    path.write_text(text.replace("content: prompt 3\n", "content: prompt 3 edited by hand\n"))
    assert load_exchanges(path)[3].request.body.value["messages"][0]["content"] == "prompt 3 edited by hand"


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_a_corrupt_entry_is_ignored_and_rebuilt(tmp_path, cache_dir, damage):
    path = tmp_path / "c.yaml"
    _write(path, _exchanges(40))
    expected = load_exchanges(path)
    (entry,) = _entries(cache_dir)
    blob = entry.read_bytes()
    entry.write_bytes(
        {
            "truncate": blob[: len(blob) // 2],
            "flip": blob[:-10] + bytes([blob[-10] ^ 0xFF]) + blob[-9:],
            "garbage": b"not an entry at all",
            "empty": b"",
        }[damage]
    )
    assert load_exchanges(path) == expected
    assert cache.decode(entry.read_bytes(), entry.name.split(".")[0], cache._secret(create=False)) is not None


def test_caching_off_and_small_files_write_nothing(tmp_path, cache_dir, monkeypatch):
    small = tmp_path / "small.yaml"
    _write(small, _exchanges(1))
    load_exchanges(small)
    assert _entries(cache_dir) == []
    monkeypatch.setenv(cache.ENV, "off")
    big = tmp_path / "big.yaml"
    _write(big, _exchanges(40))
    load_exchanges(big)
    assert not cache_dir.exists()


def test_unwritable_cache_degrades_to_parsing(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(cache.ENV, str(blocker / "cache"))
    path = tmp_path / "c.yaml"
    _write(path, _exchanges(40))
    assert len(load_exchanges(path)) == 40


def test_documents_marshal_cannot_hold_are_not_cached(tmp_path, cache_dir):
    path = tmp_path / "dated.yaml"
    text = yaml.safe_dump({"version": 1, "recorded": "x", "interactions": []}).replace("x", "2024-01-01") + "#" * 5000
    path.write_text(text)
    assert read_document(path)["recorded"].year == 2024  # a date: YAML parses it, marshal cannot store it
    assert _entries(cache_dir) == []


def test_json_and_gzip_cassettes_load_the_same(tmp_path):
    exchanges = _exchanges(30)
    yaml_path, json_path = tmp_path / "c.yaml", tmp_path / "c.json"
    _write(yaml_path, exchanges)
    _write(json_path, exchanges)
    assert json.loads(json_path.read_text())["interactions"][0]["operation"] == "openai.chat.completions"
    gz = tmp_path / "c.yaml.gz"
    gz.write_bytes(gzip.compress(yaml_path.read_bytes()))
    assert load_exchanges(json_path) == load_exchanges(yaml_path) == load_exchanges(gz) == load_exchanges(gz)


def test_persister_memo_hands_out_fresh_exchanges(tmp_path):
    path = tmp_path / "c.yaml"
    _write(path, _exchanges(5))
    first = persister.load_cached(path)
    first[0].index = 99
    second = persister.load_cached(path)
    assert second[0].index == 0 and second[0] is not first[0]
    assert second[0].request is first[0].request  # decoded once per process


def test_persister_memo_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(memo, "MEMO_EXCHANGES", 10)
    paths = []
    for i in range(4):
        path = tmp_path / f"c{i}.yaml"
        _write(path, _exchanges(5 + i))
        persister.load_cached(path)
        paths.append(path)
    assert sum(len(v) for v in persister._MEMO.values()) <= 10 or len(persister._MEMO) == 1


def test_loading_replaykit_cassettes_skips_request_identification(tmp_path, monkeypatch):
    import replaykit.providers as providers

    path = tmp_path / "c.yaml"
    _write(path, _exchanges(3))
    calls = []
    real = providers.identify
    monkeypatch.setattr(providers, "identify", lambda *a: calls.append(a) or real(*a))
    assert [e.operation for e in load_exchanges(path)] == ["openai.chat.completions"] * 3
    assert calls == []


def test_paused_gc_nests_and_restores():
    assert gc.isenabled()
    with cache.paused_gc():
        assert not gc.isenabled()
        with cache.paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with cache.paused_gc():
            pass
        assert not gc.isenabled()  # it was off before: stays off
    finally:
        gc.enable()


def test_real_cassettes_load_identically_through_the_cache(real_cassettes, tmp_path, monkeypatch):
    from replaykit.cassette import iter_cassettes

    for path in iter_cassettes(real_cassettes):
        monkeypatch.setenv(cache.ENV, "off")
        parsed = load_exchanges(path)
        monkeypatch.setenv(cache.ENV, str(tmp_path / "real-cache"))
        load_exchanges(path)
        assert load_exchanges(path) == parsed, path


# ---- the cache filled at write time must hold exactly what parsing the written YAML gives -------------------------

_scalar = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "yes",
            "no",
            "null",
            "1.0",
            "0x1F",
            "2024-01-01",
            "~",
            "multi\nline\n",
            "trailing \n",
            "\ttab\n",
            "- dash",
            "key: value",
            "'quoted'",
            '"dq"',
            "#hash",
            "\u2028",
            "é\n",
            "",
            " ",
        ]
    )
)
_doc = st.recursive(
    _scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=15,
)


@settings(max_examples=300, deadline=None)
@given(_doc)
def test_yaml_written_by_dump_document_parses_back_to_the_cached_document(value):
    doc = {"version": 1, "interactions": [{"request": {"body": {"json": value}}}]}
    text = dump_document(doc, "c.yaml")
    assert load_yaml(text) == doc


def test_the_cache_lives_in_the_project_holding_the_cassette(tmp_path, monkeypatch):
    monkeypatch.delenv(cache.ENV)
    loose = tmp_path / "loose" / "c.yaml"
    loose.parent.mkdir()
    _write(loose, _exchanges(40))
    load_exchanges(loose)
    assert cache.cache_dir(loose) is None  # no project: a test's temporary cassette leaves nothing behind
    project = tmp_path / "project"
    (project / "cassettes" / "test_x").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    path = project / "cassettes" / "test_x" / "c.yaml"
    _write(path, _exchanges(40))
    # out of the project tree: the user cache directory, private to the user
    user_dir = cache.user_cache_root() / cache.ENTRIES
    assert cache.cache_dir(path) == user_dir
    assert len(_entries(user_dir)) == 1
    assert not (project / cache.DIRNAME).exists()
    assert user_dir.stat().st_mode & 0o777 == 0o700
    assert (cache.user_cache_root() / cache.KEY_FILE).stat().st_mode & 0o777 == 0o600


def test_a_poisoned_entry_is_ignored_and_rebuilt(tmp_path, cache_dir):
    # an attacker who can write the cache directory (a shared CI cache) but not read the per-user key plants an
    # entry under the sha256 of a clean cassette: it fails its HMAC, the YAML itself is parsed and served
    path = tmp_path / "c.yaml"
    _write(path, _exchanges(40))
    expected = load_exchanges(path)
    (entry,) = _entries(cache_dir)
    key = entry.name.split(".")[0]
    poisoned = read_document(path)
    poisoned["interactions"][0]["response"]["body"] = {"json": {"injected": "payload"}}
    payload = cache.encode(poisoned)
    forged_mac = cache._mac(b"\0" * 32, key, payload)  # a guessed key
    entry.write_bytes(cache._HEADER.pack(cache._MAGIC, forged_mac) + payload)
    persister._MEMO.clear()
    assert load_exchanges(path) == expected
    assert cache.decode(entry.read_bytes(), key, cache._secret(create=False)) is not None  # rebuilt, signed


def _deep_value(n: int) -> dict[str, object]:
    root: dict[str, object] = {}
    cur = root
    for _ in range(n):
        cur["a"] = {}
        cur = cur["a"]  # type: ignore[assignment]
    return root


def test_a_deep_body_is_refused_whether_parsed_or_written_and_only_shallow_documents_are_cached(
    tmp_path, cache_dir, monkeypatch
):
    """Cache entries skip the depth walk on load, so a document the YAML loader refuses is never cached."""
    from replaykit.codecs.safe import MAX_DEPTH
    from replaykit.errors import CassetteError

    path = tmp_path / "deep.yaml"
    exchanges = _exchanges(10)
    exchanges[3].response.body = Body("json", _deep_value(MAX_DEPTH - 2))  # within limits alone, not in a cassette
    _write(path, exchanges)
    assert _entries(cache_dir) == []  # the written document is deeper than the loaders accept: not cached
    with pytest.raises(CassetteError, match="levels deep"):
        load_exchanges(path)
    assert _entries(cache_dir) == []
    # a shallow cassette: cached when written, and loads from the entry without the YAML parse
    shallow = tmp_path / "shallow.yaml"
    _write(shallow, _exchanges(10))
    assert len(_entries(cache_dir)) == 1
    parsed = load_exchanges(shallow)
    _no_yaml(monkeypatch)
    memo._MEMO.clear()
    assert load_exchanges(shallow) == parsed


def test_a_deep_body_in_a_document_not_from_a_parse_is_still_refused():
    from replaykit.codecs.safe import MAX_DEPTH
    from replaykit.errors import CassetteError

    doc = make_document(_exchanges(2), {"target": "sandbox"})
    doc["interactions"][1]["response"]["body"] = {"json": _deep_value(MAX_DEPTH + 1)}
    with pytest.raises(CassetteError, match="levels deep"):
        format.document_exchanges(doc, "built.yaml")


def test_memo_keeps_its_exchange_count_exact_without_recounting(tmp_path, monkeypatch):
    # the count is kept as the memo changes (a put costs O(its cassette), not O(every cassette held)): it must
    # stay equal to a recount through re-loads of the same bytes, evictions and a clear from outside
    monkeypatch.setattr(memo, "MEMO_EXCHANGES", 12)
    memo.clear()
    paths = []
    for i in range(5):
        path = tmp_path / f"m{i}.yaml"
        _write(path, _exchanges(3 + i))
        paths.append(path)
    for path in [*paths, paths[0], paths[4], paths[1]]:
        persister.load_cached(path)
        assert memo._held == sum(len(v) for v in memo._MEMO.values())
        assert memo._held <= 12 or len(memo._MEMO) == 1
    memo._MEMO.clear()  # as older tests and benchmarks do
    persister.load_cached(paths[2])
    assert memo._held == 5
