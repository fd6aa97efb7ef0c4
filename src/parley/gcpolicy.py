"""Keep the long-lived heap out of the cyclic garbage collector's way, and time its pauses.

Why: a gateway holds a large, long-lived heap (per connection: the transport,
aiohttp's request and WebSocket objects, the session, feed memberships), and the
collector's full (generation-2) collection walks all of it with the event loop
stopped. With 5000 connected users that took 0.3-1 s, every few seconds while
connections arrive and every minute or so under traffic: each one blew the p99
of the messages in flight, and this, not CPU, capped the ``chat`` benchmark
(docs/performance.md).

What: after every full collection the survivors are frozen (``gc.freeze()``:
moved into the permanent generation, which the collector never walks), so the
next full collections only look at what was allocated since (tens of ms instead
of hundreds). Freezing costs nothing (it splices a list) and refcounting still
frees frozen objects as soon as their last reference goes, so only *cyclic*
garbage that was frozen while still alive escapes: a closed connection leaves
44 objects in reference cycles (the ``ClientConnectionResetError`` and
``EofStream`` raised as it closes, with their tracebacks and frames, and
aiohttp's request and writer objects; 8.6 KB by ``sys.getsizeof``). A sweep --
``gc.unfreeze()`` then one full collection, whose survivors are frozen again --
reclaims it.

The sweep interval (``PARLEY_GC_SWEEP_INTERVAL``, default 300 s) trades one
full-heap pause (0.3 s at 5000 connections, like one unfrozen full collection)
against memory: about 9 KB per connection closed during the interval stays
allocated until the next sweep (over 40 MB if 5000 clients reconnect).

The generation thresholds are left at CPython's defaults: young collections
cost about 1 % of a core in the chat benchmark, under 10 ms each within its
steps, so there is little to gain, and larger thresholds made generation-1
collections longer (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import bisect
import gc
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

logger = logging.getLogger("parley.gc")

# Upper bounds (seconds) of the pause histogram's buckets: young collections take
# tens of microseconds, an unfrozen full collection of a busy gateway about a second.
PAUSE_BUCKETS: tuple[float, ...] = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)

GENERATIONS = (0, 1, 2)
OLDEST = 2

GcCallback = Callable[[Literal["start", "stop"], dict[str, int]], object]


class GcModule(Protocol):
    """The part of the ``gc`` module the policy uses, so tests can pass a fake."""

    callbacks: list[GcCallback]

    def freeze(self) -> None: ...

    def unfreeze(self) -> None: ...

    def collect(self, generation: int = 2) -> int: ...

    def get_freeze_count(self) -> int: ...


@dataclass
class PauseStats:
    """Pauses of one generation's collections, in the shape of a Prometheus histogram.

    Kept as plain counters (a bisect and three additions per collection) rather
    than a ``prometheus_client.Histogram``, whose lock would be taken hundreds of
    times a second by young collections; ``parley.metrics`` reads it at scrape time.
    """

    bounds: Sequence[float] = PAUSE_BUCKETS
    counts: list[int] = field(default_factory=list)  # per bucket, plus one for +Inf
    count: int = 0
    total: float = 0.0
    longest: float = 0.0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, seconds)] += 1
        self.count += 1
        self.total += seconds
        self.longest = max(self.longest, seconds)

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, collections at most that long), ending with (inf, count)."""
        out: list[tuple[float, int]] = []
        running = 0
        for bound, n in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += n
            out.append((bound, running))
        return out


class GcPolicy:
    """Times every collection and, when ``freeze`` is on, freezes full collections' survivors.

    ``install()`` hooks ``gc.callbacks``; ``sweep()`` is the periodic unfreeze and
    full collection; ``start(interval)`` runs it on the event loop's timer. The gc
    module and the clock are injectable so the logic is testable without a server.
    """

    def __init__(
        self,
        *,
        freeze: bool = True,
        gc_module: GcModule | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.freeze = freeze
        self._gc: GcModule = gc_module if gc_module is not None else gc
        self._clock = clock
        self._started: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.pauses: dict[int, PauseStats] = {g: PauseStats() for g in GENERATIONS}
        self.sweeps = 0
        self.swept_objects = 0
        self.last_sweep_seconds = 0.0

    @property
    def installed(self) -> bool:
        return self._on_gc in self._gc.callbacks

    @property
    def frozen(self) -> int:
        """Objects in the permanent generation now (live or frozen garbage)."""
        return self._gc.get_freeze_count()

    def install(self) -> None:
        """Start timing collections; with ``freeze``, also sweep now.

        The first sweep freezes what start-up built (imports, the application)
        straight away instead of at the first automatic full collection.
        """
        if not self.installed:
            self._gc.callbacks.append(self._on_gc)
        if self.freeze:
            self.sweep()

    def uninstall(self) -> None:
        """Stop the timer and the callback, and hand frozen objects back to the collector."""
        self.stop()
        if self.installed:
            self._gc.callbacks.remove(self._on_gc)
        if self.freeze:
            self._gc.unfreeze()

    def sweep(self) -> int:
        """Unfreeze, collect everything once, and (via the callback) freeze the survivors.

        The one full-heap pause of the policy; returns the objects it found unreachable.
        """
        started = self._clock()
        self._gc.unfreeze()
        found = self._gc.collect(OLDEST)
        if self.freeze:
            self._gc.freeze()  # done by the callback too when installed; freezing twice is free
        self.last_sweep_seconds = self._clock() - started
        self.sweeps += 1
        self.swept_objects += found
        logger.info(
            "gc sweep: %d unreachable objects, %d frozen, %.0f ms",
            found,
            self.frozen,
            self.last_sweep_seconds * 1000,
        )
        return found

    def start(self, interval: float, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Sweep every ``interval`` seconds on the running (or given) event loop."""
        if interval <= 0:
            raise ValueError("the sweep interval must be positive")
        loop = loop or asyncio.get_running_loop()
        self.stop()

        def tick() -> None:
            self._timer = loop.call_later(interval, tick)
            self.sweep()

        self._timer = loop.call_later(interval, tick)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = self._clock()
            return
        started, self._started = self._started, None
        generation = info.get("generation", OLDEST)
        if started is not None:
            self.pauses[min(max(generation, 0), OLDEST)].observe(self._clock() - started)
        if self.freeze and generation >= OLDEST:
            self._gc.freeze()
