"""Who is online: counted per process, or cluster-wide when gateways share Redis."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from parley.protocol.presence import PresenceCounter


class Presence(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...

    async def connected(self, user_id: int) -> bool:
        """Count a new connection; True when the user just came online everywhere."""

    async def disconnected(self, user_id: int) -> bool:
        """Count a closed connection; True when the user just went offline everywhere."""

    async def online(self, user_ids: Iterable[int]) -> set[int]: ...


class LocalPresence:
    """One gateway is the whole cluster, so its own count is the truth."""

    def __init__(self) -> None:
        self._counter = PresenceCounter()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def connected(self, user_id: int) -> bool:
        return self._counter.opened(user_id)

    async def disconnected(self, user_id: int) -> bool:
        return self._counter.closed(user_id)

    async def online(self, user_ids: Iterable[int]) -> set[int]:
        return {u for u in user_ids if self._counter.online(u)}
