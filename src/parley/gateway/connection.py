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


class Flusher:
    """Writes every connection with pending frames once, at the end of the loop turn."""

    def __init__(self) -> None:
        self._dirty: list[Connection] = []
        self.frames = 0
        """Frames written to sockets so far, for /metrics."""

    def mark(self, conn: Connection) -> None:
        if not self._dirty:
            asyncio.get_running_loop().call_soon(self.flush)
        self._dirty.append(conn)

    def flush(self) -> None:
        dirty, self._dirty = self._dirty, []
        for conn in dirty:
            conn.flush()


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
