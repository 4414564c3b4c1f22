"""Wiring replaykit into vcrpy: the indexed cassette, persister and hooks, for the plugin and ``use_cassette``."""

from __future__ import annotations

import collections
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import vcr as vcrpy
from vcr.record_mode import RecordMode

from replaykit.cassette.index import IndexedCassette
from replaykit.cassette.persister import PersisterSettings, ReplaykitPersister
from replaykit.config import Config, load_config
from replaykit.errors import ConfigError, NoMatchError
from replaykit.scrub.sanitize import Rules, scrub_request

RECORD_MODES = ("none", "once", "new_episodes", "all", "rewrite")


@dataclass
class Stats:
    """What a session replayed and recorded, per (provider, operation)."""

    replayed: collections.Counter[str] = field(default_factory=collections.Counter)
    recorded: collections.Counter[str] = field(default_factory=collections.Counter)
    written: set[str] = field(default_factory=set)

    def on_play(self, cassette: IndexedCassette, index: int) -> None:
        """Count one replayed exchange."""
        self.replayed[cassette._keys[index].operation] += 1

    def on_record(self, cassette: IndexedCassette, index: int) -> None:
        """Count one recorded exchange."""
        self.recorded[cassette._keys[index].operation] += 1

    def on_write(self, path: Path) -> None:
        """Remember a cassette written."""
        self.written.add(str(path))


@dataclass
class Setup:
    """How cassettes of one run are recorded and replayed."""

    config: Config
    record_mode: str = "none"
    host_map: dict[str, str] = field(default_factory=dict)
    target: str = "sandbox"
    profile: str | None = None
    stats: Stats = field(default_factory=Stats)
    on_play: Callable[[IndexedCassette, int], None] | None = None
    # fault injection and cost guard plug in here (see IndexedCassette.interceptor / before_live)
    interceptor: Callable[[IndexedCassette, int, Any], Any] | None = None
    before_live: Callable[[IndexedCassette, Any], None] | None = None

    @property
    def rules(self) -> Rules:
        """Sanitization rules: built-in provider rules plus the user's, with the sandbox host map."""
        return Rules.from_config(self.config.sanitize, self.host_map)

    def cassette_kwargs(self, record_mode: str | None = None, **user: Any) -> dict[str, Any]:
        """Keyword arguments for ``IndexedCassette`` (user hooks run after replaykit's scrubbing)."""
        mode = record_mode or self.record_mode
        if mode not in RECORD_MODES:
            raise ConfigError(f"{mode!r} is not a valid record_mode; valid modes are: {', '.join(RECORD_MODES)}")
        rules = self.rules
        user_hook = user.pop("before_record_request", None)

        def before_record_request(request: Any) -> Any:
            request = scrub_request(request, rules)
            return user_hook(request) if user_hook else request

        settings = PersisterSettings(
            rules=rules, target=self.target, profile=self.profile, on_write=self.stats.on_write
        )
        return {
            "persister": ReplaykitPersister(settings),
            "record_mode": RecordMode("new_episodes" if mode == "rewrite" else mode),
            "before_record_request": before_record_request,
            "rules": rules,
            "ignore_fields": self.config.volatile_fields,
            # vcrpy's "all" keeps loaded exchanges no new request matched: a re-record must not keep stale calls
            "drop_unused_requests": mode == "all",
            "on_play": self._on_play,
            "on_record": self.stats.on_record,
            "interceptor": self.interceptor,
            "before_live": self.before_live,
            **user,
        }

    def _on_play(self, cassette: IndexedCassette, index: int) -> None:
        self.stats.on_play(cassette, index)
        if self.on_play is not None:
            self.on_play(cassette, index)


class _CassetteContext:
    """``use_cassette``'s context manager/decorator: vcrpy's, plus misses raised as NoMatchError on exit."""

    def __init__(self, decorator: Any, path: Path, record_mode: str, setup: Setup) -> None:
        self._decorator = decorator
        self._path = path
        self._record_mode = record_mode
        self._setup = setup
        self._cassette: IndexedCassette | None = None

    def __enter__(self) -> IndexedCassette:
        if self._record_mode == "rewrite" and self._path.exists():
            self._path.unlink()
        self._cassette = self._decorator.__enter__()
        return self._cassette

    def __exit__(self, *exc: Any) -> None:
        cassette = self._cassette
        # recorded/written counts come from the cassette's own hooks (on_record, the persister's on_write)
        self._decorator.__exit__(*exc)
        if cassette is not None and cassette.misses and exc[0] is None:
            raise NoMatchError("\n".join(dict.fromkeys(cassette.misses)), path=str(self._path))

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        import inspect

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with type(self)(self._decorator, self._path, self._record_mode, self._setup):
                    return await func(*args, **kwargs)

            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)(self._decorator, self._path, self._record_mode, self._setup):
                return func(*args, **kwargs)

        return wrapper


def use_cassette(
    path: str | Path,
    record_mode: str = "none",
    *,
    config: Config | None = None,
    host_map: dict[str, str] | None = None,
    target: str | None = None,
    profile: str | None = None,
    setup: Setup | None = None,
    faults: Any = None,
    **vcr_options: Any,
) -> _CassetteContext:
    """Record or replay the HTTP traffic inside a ``with`` block (or a decorated function) with a cassette.

    ``record_mode`` is vcrpy's (none/once/new_episodes/all) or ``rewrite``. ``host_map`` maps local bases
    (e.g. the sandbox's) to the provider's canonical base, so the cassette stores real provider hosts.
    """
    cfg = config or load_config()
    setup = setup or Setup(cfg, record_mode, dict(host_map or {}), target or cfg.target, profile)
    if faults is not None:
        from replaykit.faults import with_faults

        setup = with_faults(setup, faults)
    path = Path(path)
    kwargs = setup.cassette_kwargs(record_mode, **vcr_options)
    decorator = IndexedCassette.use(path=str(path), **kwargs)
    return _CassetteContext(decorator, path, record_mode, setup)


def install(vcr: vcrpy.VCR, setup: Setup, on_cassette: Callable[[IndexedCassette], None] | None = None) -> None:
    """Make a pytest-recording VCR instance build replaykit cassettes (called from its configure hook)."""

    def _use(with_current_defaults: bool = False, **kwargs: Any) -> Any:
        def args() -> dict[str, Any]:
            merged = vcr.get_merged_config(**kwargs)
            user_hook = merged.pop("before_record_request", None)
            mode = merged.pop("record_mode", setup.record_mode)
            mode = getattr(mode, "value", mode)
            for ignored in ("match_on", "persister", "serializer"):
                merged.pop(ignored, None)
            rk = setup.cassette_kwargs(mode)
            if user_hook is not None:
                inner = rk["before_record_request"]
                rk["before_record_request"] = lambda r: user_hook(inner(r))
            merged.update(rk)
            return merged

        return IndexedCassette.use_arg_getter(args)

    vcr._use_cassette = _use  # type: ignore[method-assign]
