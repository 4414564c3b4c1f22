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

from vcr.cassette import Cassette
from vcr.errors import UnhandledHTTPRequestError
from vcr.persisters.filesystem import CassetteNotFoundError
from vcr.record_mode import RecordMode

from replaykit.cassette import cache
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
from replaykit.scrub.sanitize import Rules

# marks a request the before_record_request hooks dropped (None would read as "not filtered yet")
_DROPPED = object()


class IndexedCassette(Cassette):
    """vcrpy Cassette with replaykit's keyed matching (see ``replaykit.cassette.matching``)."""

    def __init__(
        self,
        *args: Any,
        rules: Rules | None = None,
        ignore_fields: tuple[str, ...] = (),
        on_play: Any = None,
        on_record: Any = None,
        interceptor: Any = None,
        before_live: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.rules = rules or Rules()
        self.ignore_fields = tuple(ignore_fields)
        # called with (cassette, index) whenever an exchange is replayed: stats and contract checks hook in here
        self.on_play = on_play
        self.on_record = on_record
        # interceptor(cassette, index, response) -> response: fault injection swaps or breaks a replayed response
        self.interceptor = interceptor
        # before_live(cassette, request): may raise to refuse a request that would go to the real target (cost guard)
        self.before_live = before_live
        # key -> indices into self.data of the exchanges recorded for it, in recorded order
        self._index: dict[RequestKey, list[int]] = collections.defaultdict(list)
        # key -> position in its queue before which every exchange has been played (play_counts only grow, so
        # the first unplayed one is found without rescanning: N identical requests cost O(N), not O(N²))
        self._cursor: dict[RequestKey, int] = {}
        self._cursor_counts: Any = self.play_counts
        self._keys: list[RequestKey] = []
        self.misses: list[str] = []

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
            filtered = self._before_record_request(request)
            try:
                request._replaykit_filtered = filtered if filtered else _DROPPED
            except AttributeError:
                pass
        return None if filtered is _DROPPED or not filtered else filtered

    def filter_request(self, request: Any) -> Any:
        """vcrpy's hook application, answered from the per-request cache."""
        return self._filtered(request)

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
    def _load(self) -> None:
        try:
            requests, responses, *metadata = self._persister.load_cassette(self._path, serializer=self._serializer)
        except CassetteNotFoundError:
            return
        # corrupt cassettes raise CassetteError here instead of silently replaying as empty (vcrpy #501)
        with cache.paused_gc():  # one key and a few small objects per exchange, no cycles
            for request, response in zip(requests, responses, strict=True):
                self._add(request, response)
            self._old_interactions.extend(self.data)
        self._loaded_count = len(self.data)
        self.dirty = False
        self.rewound = True
        self._metadata = metadata[0] if metadata else {}

    def _add(self, request: Any, response: Any) -> None:
        key = self.key(request)
        self._index[key].append(len(self.data))
        self._keys.append(key)
        self.data.append((request, response))

    def append(self, request: Any, response: Any) -> None:
        """Record a new exchange (hooks run once, response copied so the live one stays intact)."""
        # the hooks already ran when vcrpy asked whether the cassette could answer this very request
        filtered = self._filtered(request)
        if filtered is None:
            return
        response = self._before_record_response(copy.deepcopy(response))
        if response is None:
            return
        self._add(filtered, response)
        self.dirty = True
        if self.on_record is not None:
            self.on_record(self, len(self.data) - 1)

    def _candidates(self, request: Any) -> list[int]:
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

    def _responses(self, request: Any):  # type: ignore[override]
        for index in self._candidates(request):
            yield index, self.data[index][1]

    def __contains__(self, request: Any) -> bool:
        return self._playable(request) is not None

    def rewind(self) -> None:
        """Make every exchange playable again."""
        super().rewind()
        self._cursor.clear()
        self._cursor_counts = self.play_counts

    def can_play_response_for(self, request: Any) -> bool:
        """Whether this request can be answered from the cassette; remembers misses in replay."""
        # the cheap conditions first: recording a new cassette (or in "all" mode) never needs the request's key
        ok = bool(
            self.record_mode != RecordMode.ALL and (self.rewound or self.allow_playback_repeats) and request in self
        )
        if not ok and self.write_protected:
            self.misses.append(self.describe_miss(request))
        elif not ok and self.before_live is not None:
            self.before_live(self, request)
        return ok

    def play_response(self, request: Any) -> Any:
        """The first unplayed response for the request, in recorded order.

        An ``interceptor`` may answer instead (fault injection): an injected response or a raised transport
        error does not consume the recorded exchange, so the SDK's retry gets it as it would from a provider.
        """
        index = self._playable(request)
        if index is None:
            raise UnhandledHTTPRequestError(f"The cassette ({self._path!r}) doesn't contain the request ({request!r})")
        response = self.data[index][1]
        if self.interceptor is not None:
            injected = self.interceptor(self, index, response)
            if injected is not response:
                return injected
        if self.play_counts[index] == 0 and index < self._loaded_count:
            self._played_interactions.append((self.data[index][0], response))
        self.play_counts[index] += 1
        if self.on_play is not None:
            self.on_play(self, index)
        return response

    def _new_interactions(self) -> list[tuple[Any, Any]]:
        old = {self.key(r) for r, _ in self._old_interactions}
        return [(r, s) for r, s in self.data if self.key(r) not in old]

    def _rerecorded_interactions(self) -> list[tuple[Any, Any]]:
        loaded = self.data[: self._loaded_count]
        recorded = self.data[self._loaded_count :]
        if self.drop_unused_requests:
            return recorded
        fresh = {self.key(r) for r, _ in recorded}
        return [(r, s) for r, s in loaded if self.key(r) not in fresh] + recorded

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
        """vcrpy's similar-request report, computed from replaykit keys (slow path only)."""
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

    def describe_miss(self, request: Any) -> str:
        """The NoMatchError text for a request: closest recorded exchange and the exact difference."""
        filtered = self._filtered(request) or request
        want = self.key(filtered)
        lines = [f"{self._path} has no unplayed exchange for {want.operation} {want.method} {want.path}"]
        ranked = self._ranked(filtered)
        if not ranked:
            lines.append("  the cassette is empty or missing")
        else:
            best = ranked[0]
            lines.append(f"  closest: exchange #{best} ({self._keys[best].operation})")
            for diff in self._diffs(filtered, best):
                lines.append(f"    {diff}" if diff.startswith("already played") else f"    differs at {diff}")
        lines.append("  fix: re-record with `pytest --record-mode=rewrite` for this test, or update the request")
        return "\n".join(lines)
