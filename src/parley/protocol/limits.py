"""Rate limits and throttles with an injected clock, so tests need no sleeping."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from time import monotonic

Clock = Callable[[], float]


class TokenBucket:
    """Allows ``burst`` at once and ``rate`` per second sustained."""

    __slots__ = ("_clock", "_tokens", "burst", "rate", "stamp")

    def __init__(self, rate: float, burst: int, clock: Clock = monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self.stamp = clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class Throttle:
    """Lets one event per key through each ``interval`` seconds (typing notices)."""

    def __init__(self, interval: float, clock: Clock = monotonic, max_keys: int = 10_000) -> None:
        self.interval = interval
        self._clock = clock
        self._last: dict[Hashable, float] = {}
        self._max_keys = max_keys

    def allow(self, key: Hashable) -> bool:
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            return False
        if len(self._last) >= self._max_keys:
            self._forget_older_than(now - self.interval)
        self._last[key] = now
        return True

    def _forget_older_than(self, cutoff: float) -> None:
        self._last = {k: t for k, t in self._last.items() if t >= cutoff}
