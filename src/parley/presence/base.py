"""Who is online: the interface the hub uses, counted per process or cluster-wide."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

Changed = Callable[[Sequence[int], bool], Awaitable[None]]
"""Called with users who came online (True) or went offline (False) everywhere
without a connect or disconnect on this gateway: another gateway died, or a
heartbeat healed an update Redis lost. The announcer tells the clients."""


class Presence(Protocol):
    async def start(self, changed: Changed) -> None: ...
    async def close(self) -> None: ...

    async def connected(self, user_id: int) -> bool:
        """Count a new connection; True when the user just came online everywhere."""

    async def disconnected(self, user_id: int) -> bool:
        """Count a closed connection; True when the user just went offline everywhere."""

    async def online(self, user_ids: Iterable[int]) -> set[int]: ...
