"""The flusher: what one event-loop turn queues for a socket goes out as one write.

A delivery's cost is mostly its write syscall, so the frames a connection gets
in one turn share it, in the order they were queued; a socket that is closing
or too slow is skipped or closed without holding back the others.
"""

from __future__ import annotations

import asyncio

from parley.gateway.connection import Connection, Flusher
from parley.models import User
from parley.protocol.status import CloseCode


class Wire:
    """A transport that keeps each write apart, to count them."""

    def __init__(self, buffered: int = 0) -> None:
        self.writes: list[bytes] = []
        self.buffered = buffered
        self.closing = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return self.closing

    def abort(self) -> None:
        self.closing = True


def connection(flusher: Flusher, wire: Wire, closes: list[CloseCode] | None = None) -> Connection:
    def close(code: CloseCode, _reason: str) -> None:
        if closes is not None:
            closes.append(code)

    return Connection(User(1, "ana", "Ana"), wire, flusher, 1024, close)


async def turn() -> None:
    """Let the loop run the flush scheduled by the frames queued so far."""
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def test_the_frames_of_one_turn_are_one_write_in_order() -> None:
    flusher = Flusher()
    ana, bob = Wire(), Wire()
    to_ana, to_bob = connection(flusher, ana), connection(flusher, bob)
    to_ana.send(b"message")
    to_bob.send(b"message")
    to_ana.send_droppable(b"typing")
    to_ana.send(b"read")
    await turn()
    assert ana.writes == [b"messagetypingread"]
    assert bob.writes == [b"message"]
    assert (flusher.frames, flusher.writes) == (4, 2)


async def test_a_later_turn_gets_a_write_of_its_own() -> None:
    flusher = Flusher()
    wire = Wire()
    conn = connection(flusher, wire)
    conn.send(b"first")
    await turn()
    conn.send(b"second")
    await turn()
    assert wire.writes == [b"first", b"second"]
    assert (flusher.frames, flusher.writes) == (2, 2)


async def test_a_closing_or_slow_socket_does_not_hold_the_others() -> None:
    flusher = Flusher()
    gone, slow, fine = Wire(), Wire(buffered=4096), Wire()
    closes: list[CloseCode] = []
    to_gone = connection(flusher, gone)
    to_slow = connection(flusher, slow, closes)
    to_fine = connection(flusher, fine)
    gone.closing = True
    for conn in (to_gone, to_slow, to_fine):
        conn.send(b"message")
    await turn()
    assert gone.writes == []
    assert slow.writes == [b"message"] and closes == [CloseCode.TRY_AGAIN_LATER]
    assert fine.writes == [b"message"]
    assert flusher.writes == 2
    to_slow.send(b"after the close")
    to_fine.send(b"next")
    await turn()
    assert slow.writes == [b"message"]
    assert fine.writes == [b"message", b"next"]
