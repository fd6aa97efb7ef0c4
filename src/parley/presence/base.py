"""Who is online: the interface the hub uses, counted per process or cluster-wide."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class Presence(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...

    async def connected(self, user_id: int) -> bool:
        """Count a new connection; True when the user just came online everywhere."""

    async def disconnected(self, user_id: int) -> bool:
        """Count a closed connection; True when the user just went offline everywhere."""

    async def online(self, user_ids: Iterable[int]) -> set[int]: ...
