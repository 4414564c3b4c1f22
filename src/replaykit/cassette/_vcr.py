"""The vcrpy boundary: the ONLY module that touches vcrpy private names (pinned by tests/unit/test_vcr_boundary.py).

vcrpy's extension points (persisters, matchers, request/response hooks) cover storage and filtering, but not the
lookup: ``Cassette`` scans every stored request per lookup, and pytest-recording's ``VCR`` builds plain
``Cassette`` objects. So replaykit goes under vcrpy in exactly two places, both here:

* ``VcrCassette`` overrides ``Cassette``'s private template methods (``_load``, ``_responses``,
  ``_new_interactions``, ``_rerecorded_interactions``) and hands the rest of replaykit public names for the private
  state it needs (``path``, ``loaded_count``, ``apply_request_hooks``...);
* ``install`` replaces ``VCR._use_cassette`` so pytest-recording's ``vcr`` fixture builds replaykit cassettes.

Supported vcrpy: ``VCR_RANGE``. A release that renames any of ``PRIVATE_NAMES`` fails the boundary test, not a user's
replay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vcr.cassette import Cassette
from vcr.config import VCR
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
            return options(str(getattr(mode, "value", mode) or ""), merged)

        return cassette_class.use_arg_getter(args)

    vcr._use_cassette = _use


__all__ = ["PRIVATE_NAMES", "UNSUPPORTED_OPTIONS", "VCR_RANGE", "VcrCassette", "install", "record_mode", "send_real"]
