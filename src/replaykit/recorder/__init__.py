"""Wiring replaykit into vcrpy: the indexed cassette, persister and hooks, for the plugin and ``use_cassette``.

vcrpy, the index and the sanitizer are imported when the first cassette is built, not with this module: the
pytest plugin imports ``Setup`` at start-up, and importing vcrpy (it imports every HTTP library it can patch)
cost ~0.5 s of every pytest start, tests with cassettes or not.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from replaykit.cassette.hooks import CassetteHooks
from replaykit.config import Config, load_config
from replaykit.errors import ConfigError, ContractViolation, NoMatchError
from replaykit.exchange import Exchange
from replaykit.providers import openai as openai_provider

if TYPE_CHECKING:
    from replaykit.cassette.index import IndexedCassette
    from replaykit.scrub.sanitize import Rules

RECORD_MODES = ("none", "once", "new_episodes", "all", "rewrite")
# vcrpy's patcher groups for optional HTTP libraries, by the module that tells whether the library is installed
_OPTIONAL_PATCHERS = {"httplib2": "httplib2", "tornado": "tornado", "aiohttp": "aiohttp"}


@functools.cache
def absent_patchers() -> tuple[str, ...]:
    """The vcrpy patcher groups whose library is not installed (found once per process).

    vcrpy tries to import every library it can patch each time a cassette is entered; an import that fails is not
    cached by Python, so each one re-scans ``sys.path`` (~35 µs each, several per test). Skipping the absent ones
    changes nothing else (vcrpy's public ``skip_patchers`` option).
    """
    import importlib.util

    return tuple(name for name, module in _OPTIONAL_PATCHERS.items() if importlib.util.find_spec(module) is None)


class SandboxValidationWarning(UserWarning):
    """A recording stored an error that came from the sandbox's own input validation."""


def _sandbox_refusal(headers: dict[str, list[str]]) -> str | None:
    """The field the sandbox refused, taken out of the headers (a cassette keeps the provider's shape)."""
    for name in list(headers):
        if name.lower() == "x-replaykit-sandbox-validation":
            values = headers.pop(name)
            return values[0] if values else "input"
    return None


@dataclass
class Stats:
    """What a session replayed and recorded, per operation (a ``CassetteHooks`` subscriber)."""

    replayed: collections.Counter[str] = field(default_factory=collections.Counter)
    recorded: collections.Counter[str] = field(default_factory=collections.Counter)
    written: set[str] = field(default_factory=set)
    sandbox_traffic: int = 0  # requests recorded from a local server (a sandbox), whatever host the cassette shows
    # recorded errors the sandbox's own input validation produced: "<cassette> #<n>: <field>"
    sandbox_refusals: list[str] = field(default_factory=list)
    # replays matched only because the installed SDK's default fields are ignored: "<cassette> #<n>: <fields>"
    sdk_defaults: set[str] = field(default_factory=set)

    def on_play(self, cassette: IndexedCassette, exchange: Exchange) -> None:
        """Count one replayed exchange (and note one recorded by an SDK that sent fewer default fields)."""
        operation = exchange.operation
        self.replayed[operation] += 1
        body = exchange.request.body
        if operation.startswith("openai.") and body.kind == "json":
            missing = openai_provider.missing_sdk_defaults(operation, body.value)
            if missing:
                sent = ", ".join(f"{k}={v!r}" for k, v in missing.items())
                self.sdk_defaults.add(
                    f"{cassette._path} exchange #{exchange.index} ({operation}): recorded without {sent}"
                )

    @property
    def idle(self) -> bool:
        """Stats only observe: they never answer a request, so replay's fast path may skip ``before_send``."""
        return True

    def before_send(self, call: Any) -> None:
        """Count a request about to be recorded whose target is a local server (as the SDK addressed it)."""
        raw = call.raw if call.raw is not None else call.request
        if call.live and raw is not None:
            host = urlsplit(raw.uri).hostname or ""
            if host in ("localhost", "::1") or host.startswith("127."):
                self.sandbox_traffic += 1

    def on_record(self, cassette: IndexedCassette, exchange: Exchange) -> None:
        """Count one recorded exchange."""
        self.recorded[exchange.operation] += 1
        refused = _sandbox_refusal(exchange.response.headers)
        if refused:
            where = f"{cassette._path} exchange #{exchange.index}"
            self.sandbox_refusals.append(f"{where}: {refused}")
            warnings.warn(
                f"replaykit: the sandbox refused field `{refused}` ({exchange.operation}) and that "
                f"error is being recorded into {where}; a real provider may accept it: fix the request or the "
                "sandbox before committing this cassette",
                SandboxValidationWarning,
                stacklevel=2,
            )

    def on_write(self, path: Path) -> None:
        """Remember a cassette written."""
        self.written.add(str(path))


@dataclass
class Setup:
    """How cassettes of one run are recorded and replayed, and who listens (``hooks``)."""

    config: Config
    record_mode: str = "none"
    host_map: dict[str, str] = field(default_factory=dict)
    target: str = "sandbox"
    profile: str | None = None
    stats: Stats = field(default_factory=Stats)
    hooks: CassetteHooks = field(default_factory=CassetteHooks)

    def __post_init__(self) -> None:
        # the stats subscribe first (once: dataclasses.replace copies hooks that already hold them)
        if self.stats.on_record not in self.hooks.on_record:
            self.hooks.subscribe(self.stats)

    @property
    def rules(self) -> Rules:
        """Sanitization rules: built-in provider rules plus the user's, with the sandbox host map."""
        from replaykit.scrub.sanitize import Rules

        return Rules.from_config(self.config.sanitize, self.host_map)

    def with_subscribers(self, *subscribers: Any) -> Setup:
        """A copy whose cassettes also notify ``subscribers`` (after this setup's own)."""
        hooks = self.hooks.copy()
        for subscriber in subscribers:
            hooks.subscribe(subscriber)
        return dataclasses.replace(self, hooks=hooks)

    def cassette_kwargs(self, record_mode: str | None = None, **user: Any) -> dict[str, Any]:
        """Keyword arguments for ``IndexedCassette`` (user hooks run after replaykit's scrubbing)."""
        from replaykit.cassette._vcr import record_mode as record_mode_of
        from replaykit.cassette.persister import PersisterSettings, ReplaykitPersister
        from replaykit.scrub.sanitize import scrub_request

        mode = record_mode or self.record_mode
        if mode not in RECORD_MODES:
            raise ConfigError(f"{mode!r} is not a valid record_mode; valid modes are: {', '.join(RECORD_MODES)}")
        rules = self.rules
        user_hook = user.pop("before_record_request", None)

        def before_record_request(request: Any) -> Any:
            request = scrub_request(request, rules)
            return user_hook(request) if user_hook else request

        settings = PersisterSettings(
            rules=rules, target=self.target, profile=self.profile, on_write=self.hooks.written, fresh=mode == "rewrite"
        )
        return {
            "persister": ReplaykitPersister(settings),
            "record_mode": record_mode_of(mode),
            "before_record_request": before_record_request,
            "rules": rules,
            "ignore_fields": self.config.volatile_fields,
            # vcrpy's "all" keeps loaded exchanges no new request matched: a re-record must not keep stale calls
            "drop_unused_requests": mode == "all",
            "hooks": self.hooks,
            # without a user hook the chain is replaykit's scrubbing alone: it only rewrites, idempotently
            "match_as_sent": user_hook is None,
            "skip_patchers": absent_patchers(),
            **user,
        }


class _CassetteContext:
    """``use_cassette``'s context manager/decorator: vcrpy's, plus misses raised as NoMatchError on exit."""

    def __init__(self, decorator: Any, path: Path, record_mode: str, setup: Setup, gate: Any = None) -> None:
        self._decorator = decorator
        self._path = path
        self._record_mode = record_mode
        self._setup = setup
        self._gate = gate
        self._cassette: IndexedCassette | None = None

    def __enter__(self) -> IndexedCassette:
        # replay outside pytest gets the plugin's network guard (sockets, UDP, DNS)
        from replaykit.recorder.network import blocked

        self._guard = blocked([]) if self._record_mode == "none" else None
        if self._guard is not None:
            self._guard.__enter__()
        self._cassette = self._decorator.__enter__()
        return self._cassette

    def __exit__(self, *exc: Any) -> None:
        cassette = self._cassette
        try:
            self._decorator.__exit__(*exc)
        finally:
            if self._guard is not None:
                self._guard.__exit__(None, None, None)
        if cassette is None:
            return
        if not cassette.misses:
            violations = self._gate.problems() if self._gate is not None else []
            if violations and exc[0] is None:
                raise ContractViolation(
                    f"{self._path}: {len(violations)} contract violation(s):\n  " + "\n  ".join(violations),
                    violations=violations,
                )
            return
        if isinstance(exc[1], NoMatchError):
            return  # the miss itself propagates
        # the code under test swallowed the miss, or an SDK wrapped it into its own error: say what really happened
        first = cassette.misses[0]
        text = "\n".join(dict.fromkeys(str(m) for m in cassette.misses))
        raise NoMatchError(
            text,
            path=str(self._path),
            operation=first.operation,
            closest_index=first.closest_index,
            diffs=first.diffs,
            fix_mode=first.fix_mode,
        ) from exc[1]

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        import inspect

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with type(self)(self._decorator, self._path, self._record_mode, self._setup, self._gate):
                    return await func(*args, **kwargs)

            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)(self._decorator, self._path, self._record_mode, self._setup, self._gate):
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
    check_contracts: bool | None = None,
    **vcr_options: Any,
) -> _CassetteContext:
    """Record or replay the HTTP traffic inside a ``with`` block (or a decorated function) with a cassette.

    ``record_mode`` is vcrpy's (none/once/new_episodes/all) or ``rewrite``. ``host_map`` maps local bases
    (e.g. the sandbox's) to the provider's canonical base, so the cassette stores real provider hosts. ``faults``
    (faults or a plan) apply in every mode. Replayed exchanges are checked against the project's contracts as the
    plugin checks them (``check_contracts``: default on with the project's configuration, off with an explicit
    ``config`` unless it sets ``contracts="check"``): violations raise ``ContractViolation`` on exit; a request the
    cassette cannot answer raises ``NoMatchError``.
    """
    explicit = config is not None or setup is not None
    cfg = config or (setup.config if setup is not None else load_config())
    setup = setup or Setup(cfg, record_mode, dict(host_map or {}), target or cfg.target, profile)
    if faults is not None:
        from replaykit.faults import as_plan

        setup = setup.with_subscribers(as_plan(faults, cfg.cassette_dir))
    gate = None
    if check_contracts is None:
        # the project's own settings (pyproject found from the working directory) decide, as in the plugin; an
        # explicit Config checks only when it asks to (contracts="check")
        check_contracts = not explicit or cfg.contracts == "check"
    if check_contracts:
        # as in the plugin: replayed exchanges are checked against contracts/ (when it has any); recordings teach
        from replaykit.contracts.gate import ContractGate

        gate = ContractGate(setup.config.contracts_dir, setup.config.contracts)
        setup = setup.with_subscribers(gate) if gate.mode == "check" else setup
    from replaykit.cassette.index import IndexedCassette

    path = Path(path)
    kwargs = setup.cassette_kwargs(record_mode, **vcr_options)
    decorator = IndexedCassette.use(path=str(path), **kwargs)
    return _CassetteContext(decorator, path, record_mode, setup, gate)


def install(vcr: Any, setup: Setup) -> None:
    """Make a pytest-recording VCR instance build replaykit cassettes (called from its configure hook)."""
    from replaykit.cassette import _vcr
    from replaykit.cassette.index import IndexedCassette

    def options(mode: str, merged: dict[str, Any]) -> dict[str, Any]:
        if setup.record_mode == "rewrite" and mode == "new_episodes":
            mode = "rewrite"  # the plugin hid rewrite from pytest-recording, which would delete the cassette first
        user_hook = merged.pop("before_record_request", None)
        user_skip = tuple(merged.pop("skip_patchers", ()) or ())
        as_sent = merged.pop("match_as_sent", False)
        merged.update(setup.cassette_kwargs(mode or setup.record_mode))
        merged["match_as_sent"] = as_sent  # what vcrpy's own chain (``user_hook`` here) does decides it
        merged["skip_patchers"] = tuple(dict.fromkeys((*user_skip, *merged["skip_patchers"])))
        if user_hook is not None:
            inner = merged["before_record_request"]
            merged["before_record_request"] = lambda r: user_hook(inner(r))
        return merged

    _vcr.install(vcr, options, IndexedCassette)


__all__ = ["RECORD_MODES", "Setup", "Stats", "install", "use_cassette"]
