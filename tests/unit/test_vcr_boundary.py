"""The vcrpy boundary: every private name replaykit relies on exists in the installed vcrpy, and only
``replaykit.cassette._vcr`` touches them (a vcrpy release that renames one fails here, not in a user's replay)."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest
import vcr
import vcr.patch
from packaging.specifiers import SpecifierSet

from replaykit.cassette import _vcr
from replaykit.config import Config
from replaykit.errors import ConfigError
from replaykit.recorder import Setup, install

SRC = Path(_vcr.__file__).resolve().parents[1]


def test_installed_vcrpy_is_in_the_supported_range():
    assert version("vcrpy") in SpecifierSet(",".join(_vcr.VCR_RANGE))


@pytest.mark.parametrize("owner", list(_vcr.PRIVATE_NAMES), ids=lambda c: c.__name__)
def test_every_private_name_exists(owner):
    probes = {
        vcr.cassette.Cassette: lambda: owner("x.yaml"),
        vcr.cassette.CassetteContextDecorator: lambda: owner(vcr.cassette.Cassette, dict),
        vcr.patch.CassettePatcherBuilder: lambda: owner(vcr.cassette.Cassette("x.yaml")),
        vcr.patch.ConnectionRemover: lambda: owner(object),
    }
    probe = probes.get(owner, owner)()
    missing = [name for name in _vcr.PRIVATE_NAMES[owner] if not hasattr(probe, name)]
    assert not missing, f"vcrpy {version('vcrpy')} no longer has {missing}: update replaykit/cassette/_vcr.py"


def test_only_the_boundary_module_touches_vcrpy_private_names():
    names = {n for names in _vcr.PRIVATE_NAMES.values() for n in names} - {"_path", "_load"}
    pattern = re.compile(r"\.(" + "|".join(sorted(re.escape(n) for n in names)) + r")\b")
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.name == "_vcr.py" and path.parent.name == "cassette":
            continue
        text = path.read_text()
        offenders += [f"{path.relative_to(SRC)}: {m.group(0)}" for m in pattern.finditer(text)]
        if "_getframe" in text:
            offenders.append(f"{path.relative_to(SRC)}: walks stack frames")
    assert not offenders


@pytest.mark.parametrize("option", ["match_on", "serializer"])
def test_options_replaykit_cannot_honour_are_an_error_not_dropped(option, tmp_path):
    recorder = vcr.VCR(cassette_library_dir=str(tmp_path))
    install(recorder, Setup(Config(cassette_dir=tmp_path)))
    value = ["method", "uri"] if option == "match_on" else "json"
    with pytest.raises(ConfigError, match=f"{option!r} is not supported with replaykit"):
        recorder.use_cassette("c.yaml", **{option: value})


def test_a_cassette_context_builds_its_arguments_once_per_entry(tmp_path):
    # vcrpy's __exit__ asks for the arguments again only for record_on_exception: each entry computes them once,
    # and a context used again (a decorated function called twice) computes them afresh
    from replaykit.cassette.index import IndexedCassette

    built: list[int] = []

    def args() -> dict:
        built.append(1)
        return {"path": str(tmp_path / "c.yaml"), "record_mode": "none", "record_on_exception": False}

    context = IndexedCassette.use_arg_getter(args)
    with context as cassette:
        assert isinstance(cassette, IndexedCassette)
    assert len(built) == 1
    with pytest.raises(RuntimeError), context:
        raise RuntimeError("inside")  # record_on_exception=False is still read on the way out
    assert len(built) == 2

    calls = []

    @IndexedCassette.use_arg_getter(args)
    def decorated() -> None:
        calls.append(1)

    decorated()
    decorated()
    assert calls == [1, 1] and len(built) == 4  # once per call
