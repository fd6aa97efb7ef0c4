"""``Limiter`` in this process's memory: the embedded default (one gateway)."""

from __future__ import annotations

import secrets
from collections import OrderedDict, deque
from collections.abc import Sequence
from time import monotonic

from parley.protocol.limits import Clock
from parley.ratelimit.base import Admission, Hit

MAX_KEYS = 100_000


class _Counter:
    __slots__ = ("entries", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.entries: deque[tuple[float, str]] = deque()

    def expire(self, now: float) -> None:
        cutoff = now - self.seconds
        while self.entries and self.entries[0][0] <= cutoff:
            self.entries.popleft()


class MemoryLimiter:
    """Sliding windows of attempt times per key, at most ``max_keys`` keys.

    Memory is bounded twice: a key's entries never outnumber its limit (a full
    key refuses instead of growing), and past ``max_keys`` keys the expired ones
    are dropped, then the least recently used, so a flood of distinct keys (an
    address per request) costs a fixed amount of memory. Forgetting a key only
    ever lets attempts through sooner, never refuses one wrongly.
    """

    def __init__(self, clock: Clock = monotonic, max_keys: int = MAX_KEYS) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._counters: OrderedDict[str, _Counter] = OrderedDict()

    def __len__(self) -> int:
        return len(self._counters)

    async def reserve(self, hits: Sequence[Hit]) -> Admission:
        now = self._clock()
        wait = 0.0
        for hit in hits:
            counter = self._counters.get(hit.key)
            if counter is None:
                continue
            counter.expire(now)
            excess = len(counter.entries) - hit.window.limit
            if excess >= 0:
                wait = max(wait, counter.entries[excess][0] + hit.window.seconds - now)
        if wait > 0:
            return Admission(False, retry_after=wait)
        ticket = secrets.token_hex(8)
        for hit in hits:
            counter = self._counters.get(hit.key)
            if counter is None:
                self._make_room()
                counter = self._counters[hit.key] = _Counter(hit.window.seconds)
            else:
                self._counters.move_to_end(hit.key)
            counter.seconds = hit.window.seconds
            counter.entries.append((now, ticket))
        return Admission(True, ticket)

    async def release(self, key: str, ticket: str) -> None:
        counter = self._counters.get(key)
        if counter is None:
            return
        counter.entries = deque(e for e in counter.entries if e[1] != ticket)
        if not counter.entries:
            del self._counters[key]

    async def close(self) -> None:
        self._counters.clear()

    def _make_room(self) -> None:
        if len(self._counters) < self._max_keys:
            return
        now = self._clock()
        for key in list(self._counters):
            counter = self._counters[key]
            counter.expire(now)
            if not counter.entries:
                del self._counters[key]
        # Still full of live keys: drop the least recently used tenth at once, so
        # the next inserts do not each scan the whole table again.
        while len(self._counters) >= self._max_keys - self._max_keys // 10:
            self._counters.popitem(last=False)
