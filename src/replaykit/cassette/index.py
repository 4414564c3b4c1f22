"""An indexed vcrpy cassette: O(1) request lookup, ordered replay of repeats, misses that explain themselves.

vcrpy's ``Cassette`` scans every recorded request on every lookup (twice: ``__contains__`` then
``play_response``) and re-runs the request hooks each time. Here each exchange is keyed once, a request is a
dict lookup plus a queue, and the closest-candidate diff is computed only when nothing matches.
"""

from __future__ import annotations

import collections
from typing import Any

from vcr.cassette import Cassette
from vcr.errors import UnhandledHTTPRequestError
from vcr.persisters.filesystem import CassetteNotFoundError
from vcr.record_mode import RecordMode

from replaykit.cassette.matching import RequestKey, explain, key_for, key_of_body, parse_body, score
from replaykit.cassette.persister import RecordedRequest
from replaykit.sanitize import Rules, scrub_value


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
        self._index: dict[RequestKey, list[int]] = collections.defaultdict(list)
        self._keys: list[RequestKey] = []
        self.misses: list[str] = []

    # -- keys ------------------------------------------------------------------------------------------
    def key(self, request: Any) -> RequestKey:
        """The match key of a (filtered) vcrpy request."""
        cached = getattr(request, "_replaykit_key", None)
        if cached is not None:
            return cached
        copy_source = any(k.lower() == "x-amz-copy-source" for k in request.headers)
        if isinstance(request, RecordedRequest):
            key = key_of_body(
                request.method,
                request.uri,
                request.exchange.request.body,
                copy_source=copy_source,
                ignore_fields=self.ignore_fields,
            )
        else:
            kind, value = parse_body(request.body)
            key = key_for(
                request.method,
                request.uri,
                kind,
                value,
                copy_source=copy_source,
                ignore_fields=self.ignore_fields,
                scrub=lambda v: scrub_value(v, self.rules),
            )
        try:
            request._replaykit_key = key
        except AttributeError:
            pass
        return key

    # -- vcrpy API, indexed -----------------------------------------------------------------------------
    def _load(self) -> None:
        try:
            requests, responses, *metadata = self._persister.load_cassette(self._path, serializer=self._serializer)
        except CassetteNotFoundError:
            return
        # corrupt cassettes raise CassetteError here instead of silently replaying as empty (vcrpy #501)
        for request, response in zip(requests, responses, strict=True):
            self._add(request, response)
            self._old_interactions.append((request, response))
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
        request = self._before_record_request(request)
        if not request:
            return
        import copy

        response = self._before_record_response(copy.deepcopy(response))
        if response is None:
            return
        self._add(request, response)
        self.dirty = True
        if self.on_record is not None:
            self.on_record(self, len(self.data) - 1)

    def _candidates(self, request: Any) -> list[int]:
        key = getattr(request, "_replaykit_key", None)
        if key is None:
            filtered = self._before_record_request(request)
            if not filtered:
                return []
            key = self.key(filtered)
            try:
                request._replaykit_key = key
            except AttributeError:
                pass
        return self._index.get(key, [])

    def _responses(self, request: Any):  # type: ignore[override]
        for index in self._candidates(request):
            yield index, self.data[index][1]

    def __contains__(self, request: Any) -> bool:
        return any(self.play_counts[i] == 0 or self.allow_playback_repeats for i in self._candidates(request))

    def can_play_response_for(self, request: Any) -> bool:
        """Whether this request can be answered from the cassette; remembers misses in replay."""
        ok = bool(
            request in self and self.record_mode != RecordMode.ALL and (self.rewound or self.allow_playback_repeats)
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
        for index in self._candidates(request):
            if self.play_counts[index] == 0 or self.allow_playback_repeats:
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
        raise UnhandledHTTPRequestError(f"The cassette ({self._path!r}) doesn't contain the request ({request!r})")

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

    def find_requests_with_most_matches(self, request: Any) -> list[tuple[Any, list[str], list[tuple[str, str]]]]:
        """vcrpy's similar-request report, computed from replaykit keys (slow path only)."""
        filtered = self._before_record_request(request) or request
        want = self.key(filtered)
        ranked = sorted(range(len(self.data)), key=lambda i: score(want, self._keys[i]), reverse=True)[:3]
        out = []
        for i in ranked:
            diffs = self._diffs(filtered, i)
            out.append(
                (
                    self.data[i][0],
                    ["operation"] if want.operation == self._keys[i].operation else [],
                    [("replaykit", "; ".join(diffs))] if diffs else [],
                )
            )
        return out

    # -- misses ---------------------------------------------------------------------------------------
    def _diffs(self, filtered: Any, index: int) -> list[str]:
        want = self.key(filtered)
        rec_req = self.data[index][0]
        _, want_body = parse_body(filtered.body)
        if isinstance(rec_req, RecordedRequest):
            rec_body = rec_req.exchange.request.body.value
        else:
            _, rec_body = parse_body(rec_req.body)
        diffs = explain((want, want_body), (self._keys[index], rec_body))
        if not diffs and self.play_counts[index]:
            diffs = ["already played (the test sends this request more often than it was recorded)"]
        return diffs

    def describe_miss(self, request: Any) -> str:
        """The NoMatchError text for a request: closest recorded exchange and the exact difference."""
        filtered = self._before_record_request(request) or request
        want = self.key(filtered)
        lines = [f"{self._path} has no unplayed exchange for {want.operation} {want.method} {want.path}"]
        if not self.data:
            lines.append("  the cassette is empty or missing")
        else:
            best = max(range(len(self.data)), key=lambda i: (score(want, self._keys[i]), -self.play_counts[i]))
            lines.append(f"  closest: exchange #{best} ({self._keys[best].operation})")
            lines.extend(f"    differs at {d}" for d in self._diffs(filtered, best))
        lines.append("  fix: re-record with `pytest --record-mode=rewrite` for this test, or update the request")
        return "\n".join(lines)
