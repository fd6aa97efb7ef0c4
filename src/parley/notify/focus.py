"""Which room each connection shows, so nobody is notified of what they are reading.

A client sends ``{"type":"focus","room":"42"}`` (or ``null`` when no room is on screen or
the tab is hidden) and repeats it every ``FOCUS_REFRESH_SECONDS``; the gateway keeps it
per connection here. Embedded, a dict; in a cluster, a Redis hash per user (connection ->
room) whose TTL the refresh extends, so a gateway that dies without clearing its
connections stops hiding notifications within ``FOCUS_TTL_SECONDS``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from parley.redis.client import command_client

FOCUS_REFRESH_SECONDS = 60
FOCUS_TTL_SECONDS = 3 * FOCUS_REFRESH_SECONDS


class Focus(Protocol):
    async def show(self, user_id: int, connection: str, room_id: int | None) -> None:
        """``connection`` shows ``room_id`` now (None: no room, or gone)."""
        ...

    async def watching(self, room_id: int, user_ids: Iterable[int]) -> set[int]:
        """Those of ``user_ids`` with a connection showing ``room_id``."""
        ...

    async def close(self) -> None: ...


class LocalFocus:
    def __init__(self) -> None:
        self._rooms: dict[int, dict[str, int]] = {}

    async def show(self, user_id: int, connection: str, room_id: int | None) -> None:
        shown = self._rooms.setdefault(user_id, {})
        if room_id is None:
            shown.pop(connection, None)
            if not shown:
                del self._rooms[user_id]
        else:
            shown[connection] = room_id

    async def watching(self, room_id: int, user_ids: Iterable[int]) -> set[int]:
        return {u for u in user_ids if room_id in self._rooms.get(u, {}).values()}

    async def close(self) -> None:
        return None


def _key(user_id: int) -> str:
    return f"parley:focus:{user_id}"


class RedisFocus:
    def __init__(self, url: str) -> None:
        self._redis = command_client(url)

    async def show(self, user_id: int, connection: str, room_id: int | None) -> None:
        key = _key(user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            if room_id is None:
                pipe.hdel(key, connection)
            else:
                pipe.hset(key, connection, str(room_id))
                pipe.expire(key, FOCUS_TTL_SECONDS)
            await pipe.execute()

    async def watching(self, room_id: int, user_ids: Iterable[int]) -> set[int]:
        users = list(user_ids)
        if not users:
            return set()
        async with self._redis.pipeline(transaction=False) as pipe:
            for user in users:
                pipe.hvals(_key(user))
            shown = await pipe.execute()
        wanted = str(room_id).encode()
        return {
            u
            for u, rooms in zip(users, shown, strict=True)
            if any(r in (wanted, str(room_id)) for r in rooms)
        }

    async def close(self) -> None:
        await self._redis.aclose()
