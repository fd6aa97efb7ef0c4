"""One client socket as the hub sees it: a user, the rooms it follows, an outbox.

Frames are appended to the outbox and written once per event-loop turn, so a
burst of events costs one socket write per connection, not one per event. The
transport's buffer is the bounded outgoing queue: past the limit the client is
too slow and is closed with 1013 so it never holds back anyone else. Before
that, a socket falling behind goes without droppable frames (typing notices):
they are worth nothing late, and every byte they would take delays a message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from math import ceil, exp
from time import monotonic
from typing import Protocol

from parley.models import User
from parley.protocol import wsframe
from parley.protocol.status import CloseCode

logger = logging.getLogger(__name__)


class Transport(Protocol):
    def write(self, data: bytes) -> None: ...
    def get_write_buffer_size(self) -> int: ...
    def is_closing(self) -> bool: ...
    def abort(self) -> None: ...


COALESCE_RATIO = 2.0
"""Under load, after a flush that took D seconds the next one waits until RATIO x D."""
COALESCE_MAX_DELAY_SECONDS = 0.02
"""The longest a frame waits for a flush because of coalescing, in seconds."""
COALESCE_WINDOW_SECONDS = 0.1
"""Seconds over which the time spent flushing is averaged (exponential decay)."""
COALESCE_BUSY = 0.2
"""Share of that time spent flushing above which the gateway counts as loaded."""
DROPPABLE_BUFFER_BYTES = 64 * 1024
"""Bytes waiting in a socket's buffer above which it gets no droppable frame (typing)."""
DROPPABLE_QUEUED_FRAMES = 64
"""Frames waiting in a connection's outbox above which it gets no droppable frame."""


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
        max_delay: float = COALESCE_MAX_DELAY_SECONDS,
        window: float = COALESCE_WINDOW_SECONDS,
        busy: float = COALESCE_BUSY,
    ) -> None:
        self._dirty: list[Connection] = []
        self.frames = 0
        """Frames written to sockets so far, for /metrics."""
        self.writes = 0
        """Socket writes so far, for /metrics: ``frames / writes`` is what coalescing merged.

        Each write is a syscall, most of a delivery's cost; in a chat at a
        hundred messages a second a socket gets about one frame a second, so
        nearly every frame is a write of its own whatever a flush waits for.
        """
        self.dropped = 0
        """Droppable frames (typing) not sent to a socket that was behind, for /metrics."""
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


HEARTBEAT_SECONDS = 30.0
"""Seconds without a frame from the client after which the gateway pings it."""
PONG_TIMEOUT_SECONDS = HEARTBEAT_SECONDS / 2
"""Seconds a pinged client has to send anything (its pong) before it counts as dead."""
SWEEP_PERIOD_SECONDS = 5.0
"""Seconds between two heartbeat sweeps: the resolution of both times above."""
BUSY = -1
"""``Connection.silent`` while the heartbeat leaves it alone (setting up, handling a frame)."""


class Heartbeat:
    """Pings idle connections and drops the ones that stay silent, with one timer for all.

    aiohttp's ``heartbeat=`` keeps a timer per socket and re-arms it as data
    arrives; at ten thousand sockets those timers are a sizeable part of a
    connection's memory. Here one sweep every ``period`` seconds counts, per
    connection, the sweeps since it last received a frame (``silent``, reset by
    the read loop). A connection silent for more than ``idle`` seconds gets a
    ping; one that still has sent nothing ``timeout`` seconds later is aborted
    (no close frame: the peer is presumed gone), which ends its read loop.
    Both times are kept to within one period, later rather than earlier.
    """

    def __init__(
        self,
        connections: Callable[[], Iterable[Connection]],
        idle: float = HEARTBEAT_SECONDS,
        timeout: float = PONG_TIMEOUT_SECONDS,
        period: float = SWEEP_PERIOD_SECONDS,
    ) -> None:
        self._connections = connections
        self._period = period
        self.ping_after = int(idle // period) + 1
        """Silent sweeps after which a connection is pinged (more than ``idle`` seconds)."""
        self.drop_after = self.ping_after + ceil(timeout / period)
        """Silent sweeps after which a pinged connection is aborted."""
        self._timer: asyncio.TimerHandle | None = None
        self._stopped = False

    def start(self) -> None:
        """Sweep every period from now on; a no-op when already started, or ever stopped."""
        if self._timer is None and not self._stopped:
            self._timer = asyncio.get_running_loop().call_later(self._period, self._tick)

    def stop(self) -> None:
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _tick(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(self._period, self._tick)
        self.sweep()

    def sweep(self) -> None:
        ping_after, drop_after = self.ping_after, self.drop_after
        dead: list[Connection] = []
        for conn in self._connections():
            silent = conn.silent
            if silent == BUSY:
                continue
            silent += 1
            conn.silent = silent
            if silent == ping_after:
                conn.send(wsframe.PING)
            elif silent >= drop_after:
                dead.append(conn)
        for conn in dead:
            logger.info("no pong from connection %s (user %s): dropping it", id(conn), conn.user.id)
            conn.abort()


class Connection:
    __slots__ = (
        "_close",
        "_flusher",
        "_limit",
        "_out",
        "_transport",
        "closed",
        "family",
        "live_from",
        "silent",
        "user",
        "watching",
    )

    def __init__(
        self,
        user: User,
        transport: Transport,
        flusher: Flusher,
        limit: int,
        close: Callable[[CloseCode, str], None],
        family: str | None = None,
    ) -> None:
        self.user = user
        self.family = family
        """The session (refresh family) of its token; revoking the session closes this."""
        self.live_from: dict[int, int] = {}
        """Room id -> the seq after which this connection gets every message live."""
        self.closed = False
        self.watching: frozenset[int] = frozenset()
        """Users whose presence this connection subscribed to (``presence_subscribe``)."""
        self._transport = transport
        self._flusher = flusher
        self._limit = limit
        self._out: list[bytes] = []
        self._close = close
        self.silent = BUSY
        """Heartbeat sweeps since the client last sent a frame; ``BUSY``: not counted."""

    def send(self, frame: bytes) -> None:
        """Queue one already-framed WebSocket message; the hot path of every fan-out."""
        out = self._out
        out.append(frame)
        if len(out) == 1:
            self._flusher.mark(self)

    def send_droppable(self, frame: bytes) -> None:
        """Queue a frame worth sending only to a socket that keeps up (a typing notice).

        A socket with more than ``DROPPABLE_BUFFER_BYTES`` unsent, or more than
        ``DROPPABLE_QUEUED_FRAMES`` frames waiting for the flush, goes without
        it: under backpressure typing is the first thing lost, never a message.
        """
        if (
            len(self._out) > DROPPABLE_QUEUED_FRAMES
            or self._transport.get_write_buffer_size() > DROPPABLE_BUFFER_BYTES
        ):
            self._flusher.dropped += 1
            return
        self.send(frame)

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
        self._flusher.writes += 1
        if transport.get_write_buffer_size() > self._limit:
            logger.info("closing slow consumer %s (user %s)", id(self), self.user.id)
            self.close(CloseCode.TRY_AGAIN_LATER, "slow consumer: reconnect and resume")

    def close(self, code: CloseCode, reason: str) -> None:
        """Write what is queued, then close; further frames are dropped."""
        if self.closed:
            return
        self.flush()
        self.closed = True
        self._close(code, reason)

    def abort(self) -> None:
        """Drop the connection at once: nothing queued is written, no close frame is sent."""
        self.closed = True
        self._out.clear()
        self._transport.abort()
