"""One client socket as the hub sees it: a user, the rooms it follows, an outbox.

Frames are appended to the outbox and written once per event-loop turn, so a
burst of events costs one socket write per connection, not one per event. The
transport's buffer is the bounded outgoing queue: past the limit the client is
too slow and is closed with 1013 so it never holds back anyone else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from math import exp
from time import monotonic
from typing import Protocol

from parley.models import User

logger = logging.getLogger(__name__)

CLOSE_GOING_AWAY = 1001
CLOSE_TOO_BIG = 1009
CLOSE_RESTART = 1012
CLOSE_TRY_AGAIN = 1013
CLOSE_UNAUTHORIZED = 4401


class Transport(Protocol):
    def write(self, data: bytes) -> None: ...
    def get_write_buffer_size(self) -> int: ...
    def is_closing(self) -> bool: ...


COALESCE_RATIO = 2.0
"""Under load, after a flush that took D seconds the next one waits until RATIO x D."""
COALESCE_MAX_DELAY = 0.02
"""The longest a frame waits for a flush because of coalescing, in seconds."""
COALESCE_WINDOW = 0.1
"""Seconds over which the time spent flushing is averaged (exponential decay)."""
COALESCE_BUSY = 0.2
"""Share of that time spent flushing above which the gateway counts as loaded."""


class Flusher:
    """Writes every connection with pending frames once per flush, one write per socket.

    The cost of a flush is one syscall per socket, nearly whatever it carries, so
    under load flushes are spaced out: when more than ``busy`` of the recent time
    went into flushing, after a flush that took D seconds the next one waits until
    ``ratio * D`` (at most ``max_delay``) has passed, and every frame queued
    meanwhile shares the socket's write; a loaded gateway then spends at most
    1 / (1 + ratio) of its time writing and writes several frames per syscall. A
    gateway that is not loaded writes at the end of the loop turn, so an occasional
    large broadcast (a typing notice to a big room) delays nothing after it.
    """

    def __init__(
        self,
        ratio: float = COALESCE_RATIO,
        max_delay: float = COALESCE_MAX_DELAY,
        window: float = COALESCE_WINDOW,
        busy: float = COALESCE_BUSY,
    ) -> None:
        self._dirty: list[Connection] = []
        self.frames = 0
        """Frames written to sockets so far, for /metrics."""
        self._ratio = ratio
        self._max_delay = max_delay
        self._window = window
        self._threshold = busy * window
        self._spent = 0.0
        """Seconds spent flushing, decayed with time constant ``window``."""
        self._stamp = 0.0
        self._next = 0.0
        """time.monotonic() before which a new flush is deferred."""

    def mark(self, conn: Connection) -> None:
        if not self._dirty:
            loop = asyncio.get_running_loop()
            delay = self._next - monotonic()
            if delay > 0:
                loop.call_later(delay, self.flush)
            else:
                loop.call_soon(self.flush)
        self._dirty.append(conn)

    def flush(self) -> None:
        dirty, self._dirty = self._dirty, []
        started = monotonic()
        for conn in dirty:
            conn.flush()
        ended = monotonic()
        took = ended - started
        self._spent = self._spent * exp((self._stamp - ended) / self._window) + took
        self._stamp = ended
        if self._spent > self._threshold:
            self._next = ended + min(took * self._ratio, self._max_delay)
        else:
            self._next = ended


class Connection:
    __slots__ = (
        "_close",
        "_flusher",
        "_limit",
        "_out",
        "_transport",
        "closed",
        "live_from",
        "user",
    )

    def __init__(
        self,
        user: User,
        transport: Transport,
        flusher: Flusher,
        limit: int,
        close: Callable[[int, str], None],
    ) -> None:
        self.user = user
        self.live_from: dict[int, int] = {}
        """Room id -> the seq after which this connection gets every message live."""
        self.closed = False
        self._transport = transport
        self._flusher = flusher
        self._limit = limit
        self._out: list[bytes] = []
        self._close = close

    def send(self, frame: bytes) -> None:
        """Queue one already-framed WebSocket message; the hot path of every fan-out."""
        out = self._out
        out.append(frame)
        if len(out) == 1:
            self._flusher.mark(self)

    def flush(self) -> None:
        out = self._out
        if not out or self.closed:
            out.clear()
            return
        self._flusher.frames += len(out)
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        transport = self._transport
        if transport.is_closing():
            return
        transport.write(data)
        if transport.get_write_buffer_size() > self._limit:
            logger.info("closing slow consumer %s (user %s)", id(self), self.user.id)
            self.close(CLOSE_TRY_AGAIN, "slow consumer: reconnect and resume")

    def close(self, code: int, reason: str) -> None:
        """Write what is queued, then close; further frames are dropped."""
        if self.closed:
            return
        self.flush()
        self.closed = True
        self._close(code, reason)
