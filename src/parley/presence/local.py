"""Presence for one gateway on its own (embedded mode): its own count is the truth."""

from __future__ import annotations

from collections.abc import Iterable

from parley.presence.base import Changed
from parley.presence.counter import PresenceCounter


class LocalPresence:
    def __init__(self) -> None:
        self._counter = PresenceCounter()

    async def start(self, changed: Changed) -> None:
        """Every change here comes from a connect or disconnect: nothing else to report."""

    async def close(self) -> None:
        return None

    async def connected(self, user_id: int) -> bool:
        return self._counter.opened(user_id)

    async def disconnected(self, user_id: int) -> bool:
        return self._counter.closed(user_id)

    async def online(self, user_ids: Iterable[int]) -> set[int]:
        return {u for u in user_ids if self._counter.online(u)}
