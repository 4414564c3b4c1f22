"""The vcrpy boundary: the ONLY module that touches vcrpy private names (pinned by tests/unit/test_vcr_boundary.py).

vcrpy's extension points (persisters, matchers, request/response hooks) cover storage and filtering, but not the
lookup: ``Cassette`` scans every stored request per lookup, and pytest-recording's ``VCR`` builds plain
``Cassette`` objects. So replaykit goes under vcrpy in exactly two places, both here:

* ``VcrCassette`` overrides ``Cassette``'s private template methods (``_load``, ``_responses``,
  ``_new_interactions``, ``_rerecorded_interactions``) and hands the rest of replaykit public names for the private
  state it needs (``path``, ``loaded_count``, ``apply_request_hooks``...);
* ``install`` replaces ``VCR._use_cassette`` so pytest-recording's ``vcr`` fixture builds replaykit cassettes;
* ``CassetteContext`` replaces ``CassetteContextDecorator._patch_generator``: vcrpy builds every stub (about forty
  ``mock.patch`` objects, a cassette subclass of each stub class, a retried import of each absent HTTP library)
  for each cassette it enters. Replaykit builds them once per process, bound to ``ActiveCassette`` (whichever
  cassette is innermost now), and swaps them in when the first cassette is entered and out when the last one exits.

Supported vcrpy: ``VCR_RANGE``. A release that renames any of ``PRIVATE_NAMES`` fails the boundary test, not a user's
replay.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

from vcr.cassette import Cassette, CassetteContextDecorator
from vcr.config import VCR
from vcr.patch import CassettePatcherBuilder, ConnectionRemover
from vcr.persisters.filesystem import CassetteNotFoundError
from vcr.record_mode import RecordMode

from replaykit.errors import ConfigError

VCR_RANGE = (">=9.4", "<10")
# every private attribute of vcrpy this module reads, writes or overrides
PRIVATE_NAMES: dict[type, tuple[str, ...]] = {
    Cassette: (
        "_load",
        "_responses",
        "_new_interactions",
        "_rerecorded_interactions",
        "_before_record_request",
        "_before_record_response",
        "_persister",
        "_serializer",
        "_path",
        "_old_interactions",
        "_played_interactions",
    ),
    VCR: ("_use_cassette",),
    CassetteContextDecorator: ("_patch_generator",),
    CassettePatcherBuilder: ("_recursively_apply_get_cassette_subclass",),
    ConnectionRemover: ("_connection_pool_to_connections",),
}
# options of vcrpy that replaykit replaces with its own (matching, storage): setting them would silently do nothing
UNSUPPORTED_OPTIONS = {
    "match_on": "replaykit matches by operation and JSON body (see replaykit.cassette.matching); remove match_on",
    "serializer": "replaykit writes its own readable cassette format; remove serializer",
    "persister": "replaykit persists cassettes itself; remove the custom persister",
}


class VcrCassette(Cassette):
    """vcrpy's ``Cassette`` with its private state behind public names and its lookup behind template methods.

    Subclasses implement ``load_recorded(requests, responses)``, ``candidates(request)``,
    ``new_interactions()`` and ``rerecorded_interactions()``.
    """

    loaded_count: int = 0
    metadata: dict[str, Any] = {}

    @classmethod
    def use(cls, **kwargs: Any) -> CassetteContext:
        """Vcrpy's ``Cassette.use``, entering the cassette through stubs built once per process."""
        return CassetteContext.from_args(cls, **kwargs)

    @classmethod
    def use_arg_getter(cls, arg_getter: Callable[[], dict[str, Any]]) -> CassetteContext:
        """Vcrpy's ``Cassette.use_arg_getter``, entering the cassette through stubs built once per process."""
        return CassetteContext(cls, arg_getter)

    @classmethod
    def session_patches(cls, active: ActiveCassette) -> tuple[tuple[Any, str, Any], ...]:
        """Extra ``(owner, attribute, replacement)`` patches installed with vcrpy's stubs, answering from ``active``."""
        return ()

    # -- public accessors for vcrpy private state ---------------------------------------------------------------
    @property
    def path(self) -> str:
        """The cassette file's path."""
        return str(self._path)

    def apply_request_hooks(self, request: Any) -> Any:
        """Vcrpy's ``before_record_request`` chain (replaykit's scrubbing, then the user's); None: drop it."""
        return self._before_record_request(request)

    def apply_response_hooks(self, response: Any) -> Any:
        """Vcrpy's ``before_record_response`` chain; None: drop it."""
        return self._before_record_response(response)

    def mark_played(self, index: int) -> None:
        """Tell vcrpy a loaded exchange was played (for ``all_played`` and its rewrite bookkeeping)."""
        if self.play_counts[index] == 0 and index < self.loaded_count:
            self._played_interactions.append(self.data[index])

    # -- template methods ------------------------------------------------------------------------------------------
    def load_recorded(self, requests: list[Any], responses: list[Any]) -> None:
        """Add the loaded exchanges to ``self.data`` (and index them)."""
        raise NotImplementedError

    def candidates(self, request: Any) -> list[int]:
        """Indices of the exchanges that could answer ``request``."""
        raise NotImplementedError

    def new_interactions(self) -> list[tuple[Any, Any]]:
        """Exchanges recorded this time that were not loaded (what ``new_episodes`` appends)."""
        raise NotImplementedError

    def rerecorded_interactions(self) -> list[tuple[Any, Any]]:
        """What a re-record writes: loaded exchanges not re-recorded, then the recorded ones."""
        raise NotImplementedError

    # -- vcrpy's private template methods, overridden -----------------------------------------------------------
    def _load(self) -> None:
        try:
            requests, responses, *metadata = self._persister.load_cassette(self._path, serializer=self._serializer)
        except CassetteNotFoundError:
            return
        # a corrupt cassette raises CassetteError here instead of silently replaying as empty (vcrpy #501)
        self.load_recorded(requests, responses)
        self._old_interactions.extend(self.data)
        self.loaded_count = len(self.data)
        self.dirty = False
        self.rewound = True
        self.metadata = metadata[0] if metadata else {}

    def _responses(self, request: Any):  # type: ignore[no-untyped-def]
        for index in self.candidates(request):
            yield index, self.data[index][1]

    def _new_interactions(self) -> list[tuple[Any, Any]]:
        return self.new_interactions()

    def _rerecorded_interactions(self) -> list[tuple[Any, Any]]:
        return self.rerecorded_interactions()


class ActiveCassette:
    """The innermost cassette entered through ``CassetteContext``: what vcrpy's shared stubs talk to.

    vcrpy binds each stub to one cassette (as a class attribute of a subclass built per cassette). The stubs
    replaykit builds once are bound to this object instead, which hands every attribute lookup to the innermost
    active cassette, as vcrpy's innermost patches would answer for nested cassettes.
    """

    # vcrpy names the stub subclasses after this; the builder reads the next two
    _path = "replaykit-active-cassette"

    def __init__(self, skip_patchers: tuple[str, ...]) -> None:
        self.stack: list[Cassette] = []
        self.skip_patchers = skip_patchers
        self.custom_patches: tuple[Any, ...] = ()

    def __getattr__(self, name: str) -> Any:
        stack = self.__dict__.get("stack")
        if not stack:
            # a stub connection kept past every cassette (a pooled connection of a client the tests share): it talks
            # to the real host, as the real library would outside cassettes (vcrpy's would use the exited cassette)
            return getattr(_NO_CASSETTE, name)
        return getattr(stack[-1], name)


class _NoCassette:
    """What a vcrpy stub sees when no cassette is active: nothing to play, nothing protected, nothing recorded."""

    _path = "no active cassette"
    write_protected = False

    def can_play_response_for(self, request: Any) -> bool:
        return False

    def filter_request(self, request: Any) -> Any:
        return request

    def append(self, request: Any, response: Any) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"no replaykit cassette is active (looking up {name!r})")


_NO_CASSETTE = _NoCassette()


_MISSING = object()


class _Stubs:
    """vcrpy's stubs for one set of skipped patcher groups, built once, swapped in while a cassette is active."""

    def __init__(self, cassette_class: type[VcrCassette], skip: tuple[str, ...]) -> None:
        self.active = ActiveCassette(skip)
        self.active.custom_patches = cassette_class.session_patches(self.active)
        self.swaps: list[tuple[Any, str, Any]] = []
        self.removers: list[Any] = []
        for item in CassettePatcherBuilder(self.active).build():
            if isinstance(item, mock._patch):
                self.swaps.append((item.getter(), item.attribute, item.new))
            else:  # a ConnectionRemover: closes a cassette's stub connections left in urllib3 pools when it exits
                self.removers.append(item)
        self.saved: list[Any] = []

    def enter(self, cassette: Cassette) -> None:
        stack = self.active.stack
        if not stack:
            # what entering each mock.patch.object in turn does: remember the owner's own attribute (an earlier
            # stub's, when two groups patch the same one); one it only inherited is deleted again on exit
            saved = self.saved = []
            for owner, name, new in self.swaps:
                saved.append(vars(owner).get(name, _MISSING))
                setattr(owner, name, new)
        stack.append(cassette)

    def exit(self, cassette: Cassette) -> None:
        stack = self.active.stack
        for i in range(len(stack) - 1, -1, -1):
            if stack[i] is cassette:
                del stack[i]
                break
        for remover in self.removers:
            remover.__exit__(None, None, None)
            remover._connection_pool_to_connections.clear()
        if not stack:
            for (owner, name, _), old in zip(reversed(self.swaps), reversed(self.saved), strict=True):
                if old is _MISSING:
                    delattr(owner, name)
                else:
                    setattr(owner, name, old)
            self.saved = []


_STUBS: dict[tuple[type, tuple[str, ...]], _Stubs] = {}


def _stubs_for(cassette: Cassette) -> _Stubs:
    skip = tuple(sorted(set(getattr(cassette, "skip_patchers", ()) or ())))
    key = (type(cassette), skip)
    stubs = _STUBS.get(key)
    if stubs is None:
        cls = type(cassette)
        stubs = _STUBS[key] = _Stubs(cls if issubclass(cls, VcrCassette) else VcrCassette, skip)
    return stubs


class CassetteContext(CassetteContextDecorator):
    """Vcrpy's cassette context manager/decorator, entering cassettes through stubs built once per process.

    Semantics are vcrpy's: outside every cassette the HTTP libraries are the real ones; inside, the innermost
    cassette answers; a cassette's own ``custom_patches`` are applied per cassette on top, as vcrpy applies them.
    The arguments are computed once per entry: vcrpy's ``__exit__`` asks for them again only to read
    ``record_on_exception``, and rebuilding them (the merged configuration, the persister) was most of the cost
    of leaving a cassette.
    """

    def __init__(self, cls: type[Cassette], args_getter: Callable[[], dict[str, Any]]) -> None:
        super().__init__(cls, self._args)
        self._fresh_args = args_getter
        self._entered: dict[str, Any] | None = None

    def _args(self) -> dict[str, Any]:
        return self._entered if self._entered is not None else self._fresh_args()

    def __enter__(self) -> Any:
        self._entered = self._fresh_args()
        try:
            return super().__enter__()
        except BaseException:
            self._entered = None
            raise

    def __exit__(self, *exc_info: Any) -> None:
        try:
            super().__exit__(*exc_info)
        finally:
            self._entered = None

    def _patch_generator(self, cassette: Cassette) -> Iterator[Cassette]:
        stubs = _stubs_for(cassette)
        custom = tuple(getattr(cassette, "custom_patches", ()) or ())
        with contextlib.ExitStack() as exit_stack:
            stubs.enter(cassette)
            exit_stack.callback(stubs.exit, cassette)
            if custom:  # the user's (vcr_config custom_patches): bound to this cassette, over the shared stubs
                builder = CassettePatcherBuilder(cassette)
                for owner, name, new in custom:
                    if hasattr(owner, name):
                        exit_stack.enter_context(
                            mock.patch.object(owner, name, builder._recursively_apply_get_cassette_subclass(new))
                        )
            yield cassette


def send_real(request: Any, timeout: float = 120.0) -> dict[str, Any]:
    """Send a vcrpy request to its real host outside vcrpy's patches; the response as vcrpy serializes it.

    For the rare answer that must be *recorded* whole but *delivered* altered (a stream broken while recording):
    vcrpy's stubs return what they recorded, so the exchange is sent here and recorded by the caller.
    """
    import http.client
    from urllib.parse import urlsplit

    from vcr.patch import force_reset

    parts = urlsplit(request.uri)
    headers = {k: ", ".join(v) if isinstance(v, (list, tuple)) else v for k, v in dict(request.headers).items()}
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    with force_reset():  # looked up inside: force_reset puts the real classes back on http.client for this block
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(parts.hostname or "", parts.port, timeout=timeout)
        try:
            conn.request(request.method, target or "/", body=request.body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
    out_headers: dict[str, list[str]] = {}
    for name, value in response.getheaders():
        out_headers.setdefault(name, []).append(value)
    return {
        "status": {"code": response.status, "message": response.reason},
        "headers": out_headers,
        "body": {"string": data},
    }


def record_mode(value: str) -> RecordMode:
    """Vcrpy's RecordMode for a replaykit mode name (``rewrite`` records new episodes into a fresh file)."""
    return RecordMode("new_episodes" if value == "rewrite" else value)


def rewrites_only(vcr: VCR, kwargs: dict[str, Any]) -> bool:
    """Whether vcrpy's ``before_record_request`` chain for these options only rewrites requests, idempotently.

    Its ``filter_headers`` / ``filter_query_parameters`` / ``filter_post_data_parameters`` replace or remove
    values; a user's ``before_record_request`` may do anything, and ``ignore_hosts`` / ``ignore_localhost`` drop
    requests (which must then not be answered from the cassette).
    """
    hook = kwargs.get("before_record_request", kwargs.get("before_record", vcr.before_record_request))
    ignored = kwargs.get("ignore_hosts", vcr.ignore_hosts) or kwargs.get("ignore_localhost", vcr.ignore_localhost)
    return not (hook or ignored)


def install(vcr: VCR, options: Callable[[str, dict[str, Any]], dict[str, Any]], cassette_class: type[Cassette]) -> None:
    """Make a pytest-recording ``VCR`` build ``cassette_class`` cassettes.

    ``options(mode, merged)`` turns vcrpy's merged configuration (the user's ``vcr_config`` and markers included)
    into the cassette's keyword arguments. Options replaykit cannot honour raise ``ConfigError``.
    """

    def _use(with_current_defaults: bool = False, **kwargs: Any) -> Any:
        for name, why in UNSUPPORTED_OPTIONS.items():
            if name in kwargs:
                raise ConfigError(f"vcr option {name!r} is not supported with replaykit: {why}")
        extra = getattr(vcr.persister, "extra_paths", None)
        if extra:
            raise ConfigError(
                "extra cassettes in the vcr marker (@pytest.mark.vcr('other.yaml')) are not supported with replaykit"
            )

        def args() -> dict[str, Any]:
            merged = vcr.get_merged_config(**kwargs)
            mode = merged.pop("record_mode", None)
            merged["match_as_sent"] = rewrites_only(vcr, kwargs)
            return options(str(getattr(mode, "value", mode) or ""), merged)

        return cassette_class.use_arg_getter(args)

    vcr._use_cassette = _use


__all__ = [
    "PRIVATE_NAMES",
    "UNSUPPORTED_OPTIONS",
    "VCR_RANGE",
    "ActiveCassette",
    "CassetteContext",
    "VcrCassette",
    "install",
    "record_mode",
    "rewrites_only",
    "send_real",
]
