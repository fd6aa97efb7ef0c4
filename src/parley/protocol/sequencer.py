"""Per-room ordering of live messages at a gateway.

Messages can reach a gateway out of order (two gateways committing to one room
publish independently) or not at all (a bus restart). The sequencer releases
them strictly in ``seq`` order, drops what it has already released, and says
which range is missing so the gateway can read it from the store once for the
whole room, not once per connection.
"""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class Sequencer(Generic[T]):
    def __init__(self) -> None:
        self.last: int | None = None
        self._early: dict[int, T] = {}

    @property
    def started(self) -> bool:
        return self.last is not None

    def start(self, last_seq: int) -> list[tuple[int, T]]:
        """Set the position read from the store; release what arrived in the meantime."""
        self.last = last_seq
        for seq in [s for s in self._early if s <= last_seq]:
            del self._early[seq]
        return self._drain()

    def push(self, seq: int, item: T) -> list[tuple[int, T]]:
        """Take one arrival; return the items now releasable, in order."""
        if self.last is not None and seq <= self.last:
            return []
        if self.last is not None and seq == self.last + 1 and not self._early:
            self.last = seq
            return [(seq, item)]
        self._early[seq] = item
        return self._drain() if self.last is not None else []

    def gap(self) -> tuple[int, int] | None:
        """The seq range (inclusive) held up by a missing message, or None."""
        if self.last is None or not self._early:
            return None
        return self.last + 1, min(self._early) - 1

    def _drain(self) -> list[tuple[int, T]]:
        released: list[tuple[int, T]] = []
        assert self.last is not None
        while (item := self._early.pop(self.last + 1, None)) is not None:
            self.last += 1
            released.append((self.last, item))
        return released
