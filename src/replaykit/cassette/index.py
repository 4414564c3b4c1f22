"""An indexed vcrpy cassette: O(1) request lookup, ordered replay of repeats, misses that explain themselves.

vcrpy's ``Cassette`` scans every recorded request on every lookup (twice: ``__contains__`` then
``play_response``) and re-runs the request hooks each time. Here each exchange is keyed once, a request is
filtered and keyed once (the key and the filtered copy ride on the request object through vcrpy's
``can_play_response_for`` → ``play_response`` / ``append``), a lookup is a dict hit plus a cursor into the
queue of identical requests, and the closest-candidate diff is computed only when nothing matches.
"""

from __future__ import annotations

import collections
import copy
from typing import Any

from vcr.errors import UnhandledHTTPRequestError
from vcr.record_mode import RecordMode

from replaykit.cassette import _vcr, cache
from replaykit.cassette._vcr import VcrCassette
from replaykit.cassette.bodies import repair_recorded
from replaykit.cassette.hooks import Call, CassetteHooks
from replaykit.cassette.matching import (
    _CLOSEST_BODIES,
    RequestKey,
    body_distance,
    explain,
    live_keys,
    request_body,
    request_key,
    score,
)
from replaykit.cassette.persister import LazyResponse, RecordedRequest, exchange_from_vcr
from replaykit.errors import NoMatchError
from replaykit.exchange import Exchange
from replaykit.scrub.sanitize import Rules, scrub_exchange

# marks a request the before_record_request hooks dropped (None would read as "not filtered yet")
_DROPPED = object()
# the decision for a request that goes to the target (recording) or that vcrpy leaves alone
_LIVE = object()


class IndexedCassette(VcrCassette):
    """vcrpy Cassette with replaykit's keyed matching (see ``replaykit.cassette.matching``) and ``CassetteHooks``."""

    def __init__(
        self,
        *args: Any,
        rules: Rules | None = None,
        ignore_fields: tuple[str, ...] = (),
        hooks: CassetteHooks | None = None,
        match_as_sent: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.rules = rules or Rules()
        self.ignore_fields = tuple(ignore_fields)
        self.hooks = hooks or CassetteHooks()
        # the before_record_request chain only rewrites requests, idempotently (replaykit's scrubbing, vcrpy's
        # filter_* options; no user hook, no ignored hosts): see ``_as_sent``
        self.match_as_sent = match_as_sent
        # key -> indices into self.data of the exchanges recorded for it, in recorded order
        self._index: dict[RequestKey, list[int]] = collections.defaultdict(list)
        # key -> position in its queue before which every exchange has been played (play_counts only grow, so
        # the first unplayed one is found without rescanning: N identical requests cost O(N), not O(N²))
        self._cursor: dict[RequestKey, int] = {}
        self._cursor_counts: Any = self.play_counts
        self._keys: list[RequestKey] = []
        self.misses: list[NoMatchError] = []

    @classmethod
    def session_patches(cls, active: _vcr.ActiveCassette) -> tuple[tuple[Any, str, Any], ...]:
        """Boto3 requests the active cassette plays are answered above urllib3 (see ``cassette._botocore``)."""
        from replaykit.cassette._botocore import send_patch

        patch = send_patch(active)
        return () if patch is None else (patch,)

    # -- public accessors ---------------------------------------------------------------------------------------
    def exchange(self, index: int) -> Exchange:
        """The decoded exchange at ``index`` (loaded, or recorded and scrubbed this session)."""
        request, response = self.data[index]
        exchange = getattr(request, "exchange", None)
        if exchange is None:  # a raw vcrpy pair (a test built the cassette by hand)
            exchange = exchange_from_vcr(index, request, response)[0]
        return exchange

    def operation_of(self, index: int) -> str:
        """The operation of the exchange at ``index``."""
        return self._keys[index].operation

    # -- keys ------------------------------------------------------------------------------------------
    def key(self, request: Any) -> RequestKey:
        """The match key of a (filtered) vcrpy request."""
        cached = request.__dict__.get("_replaykit_key")
        if cached is not None:
            return cached
        key = request_key(request, self.rules, self.ignore_fields)
        try:
            request._replaykit_key = key
        except AttributeError:
            pass
        return key

    def _filtered(self, request: Any) -> Any:
        """The request after the before_record_request hooks (None if they drop it), computed once per request."""
        filtered = request.__dict__.get("_replaykit_filtered")
        if filtered is None:
            filtered = self.apply_request_hooks(request)
            try:
                request._replaykit_filtered = filtered if filtered else _DROPPED
            except AttributeError:
                pass
        return None if filtered is _DROPPED or not filtered else filtered

    def filter_request(self, request: Any) -> Any:
        """Vcrpy's hook application, answered from the per-request cache."""
        return self._filtered(request)

    def _as_sent(self, request: Any) -> int | None:
        """The exchange that answers the request *as sent*, before any hook ran; None: ask the hooks.

        Scrubbing the live request (headers, URI) costs more than the rest of matching. With ``match_as_sent``
        the hooks only rewrite, idempotently, so a request whose key as sent equals a stored (already rewritten)
        key is rewritten to that same key: its keyed parts are already in rewritten form. Any other request (a
        secret in its URI, a sandbox host, an aws-chunked body) keys differently as sent and takes the full path.
        """
        if not self.match_as_sent or hasattr(request.body, "read"):  # a stream could be read only once
            return None
        key = request.__dict__.get("_replaykit_sent_key")
        if key is None:
            key = live_keys(request, self.rules, self.ignore_fields)[0]
            try:
                request._replaykit_sent_key = key
            except AttributeError:
                pass
        return self._next_for(key)

    def _live_keys(self, request: Any) -> tuple[RequestKey, Any] | None:
        """(key as sent, scrubbed key thunk) of a live request, once per request; None if the hooks drop it.

        Scrubbing a body costs more than everything else matching does, and is needed only when the body holds
        something to scrub (see ``matching.live_keys``): the thunk runs only when the key as sent finds nothing.
        """
        keys = request.__dict__.get("_replaykit_keys")
        if keys is None:
            filtered = self._filtered(request)
            if filtered is None:
                return None
            cached = filtered.__dict__.get("_replaykit_key")
            if cached is not None:
                keys = (cached, lambda: cached)
            else:
                raw, scrub = live_keys(filtered, self.rules, self.ignore_fields)

                def scrubbed() -> RequestKey:
                    key = filtered.__dict__.get("_replaykit_key")
                    if key is None:
                        key = scrub()
                        filtered._replaykit_key = key  # key(filtered) and append reuse it
                    return key

                keys = (raw, scrubbed)
            try:
                request._replaykit_keys = keys
            except AttributeError:
                pass
        return keys

    # -- vcrpy API, indexed -----------------------------------------------------------------------------
    def load_recorded(self, requests: list[Any], responses: list[Any]) -> None:
        """Index the loaded exchanges (one key each)."""
        with cache.paused_gc():  # one key and a few small objects per exchange, no cycles
            for request, response in zip(requests, responses, strict=True):
                self._add(self.key(request), request, response)

    def _add(self, key: RequestKey, request: Any, response: Any) -> None:
        self._index[key].append(len(self.data))
        self._keys.append(key)
        self.data.append((request, response))

    def append(self, request: Any, response: Any) -> None:
        """Record a new exchange: decoded and scrubbed once, here; every subscriber and the persister read it."""
        # the hooks already ran when vcrpy asked whether the cassette could answer this very request
        filtered = self._filtered(request)
        if filtered is None:
            return
        repair_recorded(response)  # the test reading this response while recording gets consistent bytes too
        response = self.apply_response_hooks(copy.deepcopy(response))
        if response is None:
            return
        index = len(self.data)
        exchange = scrub_exchange(exchange_from_vcr(index, filtered, response)[0], self.rules)
        exchange.index = index
        self._add(self.key(filtered), RecordedRequest(exchange), LazyResponse(exchange))
        self.dirty = True
        self.hooks.recorded(self, exchange)

    def record_live(self, request: Any) -> Exchange:
        """Send ``request`` (as the SDK sent it) to its target outside vcrpy, record it, return the exchange."""
        before = len(self.data)
        self.append(request, _vcr.send_real(request))
        if len(self.data) == before:
            raise UnhandledHTTPRequestError(f"the recording hooks dropped {request!r}: nothing recorded")
        return self.exchange(before)

    def candidates(self, request: Any) -> list[int]:
        """Indices of the recorded exchanges with the request's key."""
        keys = self._live_keys(request)
        if keys is None:
            return []
        return self._index.get(keys[0]) or self._index.get(keys[1](), [])

    def _playable(self, request: Any) -> int | None:
        """Index of the exchange that answers the request now, or None (the fast path: O(1) amortised)."""
        keys = self._live_keys(request)
        if keys is None:
            return None
        raw, scrubbed = keys
        index = self._next_for(raw)
        if index is None:
            key = scrubbed()
            if key != raw:
                index = self._next_for(key)
        return index

    def _next_for(self, key: RequestKey) -> int | None:
        queue = self._index.get(key)
        if not queue:
            return None
        if self.allow_playback_repeats:
            return queue[0]
        counts = self.play_counts
        if counts is not self._cursor_counts:  # rewound, or replaced from outside: cursors are void
            self._cursor.clear()
            self._cursor_counts = counts
        pos = self._cursor.get(key, 0)
        while pos < len(queue) and counts[queue[pos]]:
            pos += 1
        self._cursor[key] = pos
        return queue[pos] if pos < len(queue) else None

    def __contains__(self, request: Any) -> bool:
        return self._playable(request) is not None

    def rewind(self) -> None:
        """Make every exchange playable again."""
        super().rewind()
        self._cursor.clear()
        self._cursor_counts = self.play_counts

    def _decide(self, request: Any) -> Any:
        """What answers ``request``: a recorded index, a hook's answer (``_Answer``), or ``_LIVE``; once per request.

        vcrpy asks ``can_play_response_for`` (urllib3 even twice: from ``connect`` and ``getresponse``), then
        ``play_response``: the decision is taken once and carried on the request, so a fault selects each call once.
        """
        decision = request.__dict__.get("_replaykit_decision")
        if decision is not None:
            if isinstance(decision, BaseException):
                raise decision
            return decision
        try:
            decision = self._decide_now(request)
        except BaseException as exc:
            _remember(request, exc)
            raise
        _remember(request, decision)
        return decision

    def _decide_now(self, request: Any) -> Any:
        if self._replays() and not self._may_step_in():
            index = self._as_sent(request)
            if index is not None:
                return index
        filtered = self._filtered(request)
        if filtered is None:
            return _LIVE  # the user's hooks drop it: vcrpy neither plays nor records it
        # the cheap conditions first: recording a new cassette (or in "all" mode) never needs the request's key
        index = None
        if self._replays():
            index = self._playable(request)
        if self.hooks.before_send:
            operation = self._keys[index].operation if index is not None else self._live_operation(request)
            answer = self.hooks.send(Call(self, filtered, operation, index, request))
            if answer is not None:
                return _Answer(answer)
        if index is not None:
            return index
        if self.write_protected:
            miss = self.miss(request)
            self.misses.append(miss)
            raise miss
        return _LIVE

    def _may_step_in(self) -> bool:
        """Whether a ``before_send`` subscriber may answer a request (one telling it cannot has a true ``idle``)."""
        return any(not getattr(getattr(fn, "__self__", None), "idle", False) for fn in self.hooks.before_send)

    def _replays(self) -> bool:
        """Whether recorded exchanges may answer requests (not while re-recording everything, or recording anew)."""
        return self.record_mode != RecordMode.ALL and (self.rewound or self.allow_playback_repeats)

    def _live_operation(self, request: Any) -> str:
        keys = self._live_keys(request)
        return keys[0].operation if keys is not None else "http.unknown"

    def can_play_response_for(self, request: Any) -> bool:
        """Whether this request is answered here (recorded or injected); raises NoMatchError on a replay miss."""
        return self._decide(request) is not _LIVE

    def play_if_playable(self, request: Any) -> Any:
        """The recorded response if the cassette plays ``request`` now and no ``before_send`` subscriber may step in.

        Else None, with nothing decided, noted or played: the request then takes vcrpy's path as usual (a miss is
        reported once, a fault is selected once). A subscriber tells it cannot step in with a true ``idle``.
        """
        if self._may_step_in() or not self._replays():
            return None
        index = self._as_sent(request)
        if index is None:
            if self._filtered(request) is None:
                return None
            index = self._playable(request)
            if index is None:
                return None
        # decided here, as ``_decide`` would decide it: no subscriber steps in (all idle), the index answers
        _remember(request, index)
        return self.play_response(request)

    def play_response(self, request: Any) -> Any:
        """The first unplayed response for the request, in recorded order, or a ``before_send`` hook's answer.

        An injected answer (fault injection) does not consume the recorded exchange, so the SDK's retry gets it as
        it would from a provider.
        """
        decision = self._decide(request)
        if isinstance(decision, _Answer):
            return decision.response
        if decision is _LIVE:
            raise UnhandledHTTPRequestError(f"The cassette ({self.path!r}) doesn't contain the request ({request!r})")
        index = decision
        self.mark_played(index)
        self.play_counts[index] += 1
        if self.hooks.on_play:
            self.hooks.played(self, self.exchange(index))
        return self.data[index][1]

    def new_interactions(self) -> list[tuple[Any, Any]]:
        """Exchanges whose key no loaded exchange has."""
        old = set(self._keys[: self.loaded_count])
        return [pair for i, pair in enumerate(self.data) if self._keys[i] not in old]

    def rerecorded_interactions(self) -> list[tuple[Any, Any]]:
        """Loaded exchanges no recorded one replaces (none with ``drop_unused_requests``), then the recorded ones."""
        loaded = self.data[: self.loaded_count]
        recorded = self.data[self.loaded_count :]
        if self.drop_unused_requests:
            return recorded
        fresh = set(self._keys[self.loaded_count :])
        return [pair for i, pair in enumerate(loaded) if self._keys[i] not in fresh] + recorded

    # -- misses (slow path: only when nothing matches) ------------------------------------------------------
    def _ranked(self, filtered: Any) -> list[int]:
        """Recorded exchanges from closest to farthest: route first, then how many body leaves differ."""
        want = self.key(filtered)
        by_route = sorted(range(len(self.data)), key=lambda i: -score(want, self._keys[i]))
        if not by_route:
            return []
        best = score(want, self._keys[by_route[0]])
        same_route = [i for i in by_route if score(want, self._keys[i]) == best]
        rest = by_route[len(same_route) :]
        # unplayed ones first: an exchange already played is rarely the one a test meant
        same_route.sort(key=lambda i: self.play_counts[i] > 0)
        head, tail = same_route[:_CLOSEST_BODIES], same_route[_CLOSEST_BODIES:]
        _, want_body = request_body(filtered, self.rules, self.ignore_fields)
        distance = {i: body_distance(want_body, self._recorded_body(i)) for i in head}
        head.sort(key=lambda i: (distance[i], self.play_counts[i] > 0))
        return head + tail + rest

    def _recorded_body(self, index: int) -> Any:
        return request_body(self.data[index][0], self.rules, self.ignore_fields)[1]

    def find_requests_with_most_matches(self, request: Any) -> list[tuple[Any, list[str], list[tuple[str, str]]]]:
        """Vcrpy's similar-request report, computed from replaykit keys (slow path only)."""
        filtered = self._filtered(request) or request
        want = self.key(filtered)
        out = []
        for i in self._ranked(filtered)[:3]:
            diffs = self._diffs(filtered, i)
            out.append(
                (
                    self.data[i][0],
                    ["operation"] if want.operation == self._keys[i].operation else [],
                    [("replaykit", "; ".join(diffs))] if diffs else [],
                )
            )
        return out

    def _diffs(self, filtered: Any, index: int) -> list[str]:
        want = self.key(filtered)
        # both bodies as matching sees them: scrubbed (a message never echoes a secret the request carried)
        # and without volatile fields (they never decide a match, so they never explain a miss)
        _, want_body = request_body(filtered, self.rules, self.ignore_fields)
        diffs = explain((want, want_body), (self._keys[index], self._recorded_body(index)))
        if not diffs and self.play_counts[index]:
            diffs = ["already played (the test sends this request more often than it was recorded)"]
        return diffs

    def miss(self, request: Any) -> NoMatchError:
        """The NoMatchError for a request: closest recorded exchange of the same operation and the exact difference."""
        filtered = self._filtered(request) or request
        want = self.key(filtered)
        lines = [f"{self.path} has no unplayed exchange for {want.operation} {want.method} {want.path}"]
        if want.operation.endswith(".unknown"):
            lines.append("  (the operation could not be identified: matched on method, path and body only)")
        ranked = self._ranked(filtered)
        closest: int | None = None
        diffs: list[str] = []
        if not ranked:
            lines.append("  the cassette is empty or missing")
            fix = "once"
        else:
            closest = ranked[0]
            diffs = self._diffs(filtered, closest)
            lines.append(f"  closest: exchange #{closest} ({self._keys[closest].operation})")
            for diff in diffs:
                lines.append(f"    {diff}" if diff.startswith("already played") else f"    differs at {diff}")
            fix = "rewrite"
        lines.append(f"  fix: re-record this test with `pytest --record-mode={fix}`")
        return NoMatchError(
            "\n".join(lines),
            path=self.path,
            operation=want.operation,
            closest_index=closest,
            diffs=diffs,
            fix_mode=fix,
        )

    def describe_miss(self, request: Any) -> str:
        """The text of ``miss(request)``."""
        return str(self.miss(request))


class _Answer:
    """A ``before_send`` hook's response, standing in for the recorded one."""

    __slots__ = ("response",)

    def __init__(self, response: Any) -> None:
        self.response = response


def _remember(request: Any, decision: Any) -> None:
    try:
        request._replaykit_decision = decision
    except AttributeError:
        pass
