"""Cluster-wide presence: a user online on any gateway is online.

Each gateway counts its own connections (``PresenceCounter``) and tells Redis
only about a user's first local connection and last local disconnect. Redis
holds, per gateway, the set of users it has, and per user, the set of gateways
that have them; a sorted set of gateways scored by "alive until" says which of
those gateways still count. A gateway renews its score every third of
``PARLEY_PRESENCE_TTL`` (and re-states its whole user set at the same time, so a
Redis restart or a failed update heals within one heartbeat).

A gateway that dies stops renewing. From that moment ``online()`` no longer
counts it anywhere (the check compares against Redis's own clock), and the
next surviving gateway to beat claims the dead one atomically and announces
``offline`` for its users who are not connected elsewhere.

Every change and question is one Lua script (``lua/``), so "is anybody else still
counting this user" is answered atomically across gateways, and all of them go
through one lock in call order, so Redis sees this gateway's opens and closes
in the order they happened.

Keys (a single Redis, not Redis Cluster): ``parley:presence:gateways`` (ZSET
gateway -> alive-until ms), ``parley:presence:gw:<gateway>`` (SET of user ids),
``parley:presence:user:<user>`` (SET of gateway ids).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any

from redis.exceptions import RedisError

from parley.presence.base import Changed
from parley.presence.counter import PresenceCounter
from parley.redis.client import command_client

logger = logging.getLogger(__name__)

PREFIX = "parley:presence:"
GATEWAY_SET_TTL_MS = 24 * 3600 * 1000
"""A dead gateway's user set outlives it long enough for a survivor to reap it."""


def _script(name: str) -> str:
    """A Lua script of ``lua/``, after the helpers every script shares."""
    lua = resources.files("parley.presence") / "lua"
    return (lua / "common.lua").read_text() + (lua / f"{name}.lua").read_text()


class RedisPresence:
    def __init__(self, url: str, gateway_id: str, ttl_seconds: int) -> None:
        self._redis = command_client(url)
        self._gateway = gateway_id
        self._ttl_ms = ttl_seconds * 1000
        self._beat_every = ttl_seconds / 3
        self._changed: Changed | None = None
        self._counter = PresenceCounter()
        self._lock = asyncio.Lock()
        self._connect = self._redis.register_script(_script("connect"))
        self._disconnect = self._redis.register_script(_script("disconnect"))
        self._sync = self._redis.register_script(_script("sync"))
        self._reap = self._redis.register_script(_script("reap"))
        self._online = self._redis.register_script(_script("online"))
        self._heartbeat: asyncio.Task[None] | None = None
        self._failing = False

    async def start(self, changed: Changed) -> None:
        """Drop what a previous process with this gateway id left, then start beating."""
        self._changed = changed
        try:
            gone = await self._call(self._reap, self._gateway, "1")
            await self._announce(_ids(gone), online=False)
            await self._beat()
        except (RedisError, OSError) as exc:
            logger.warning("presence: Redis unavailable at start (%s); retrying later", exc)
        self._heartbeat = asyncio.ensure_future(self._run())

    async def close(self) -> None:
        """Leave the cluster cleanly: whoever is still counted here goes offline now."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        try:
            async with self._lock:
                gone = await self._call(self._reap, self._gateway, "1")
            await self._announce(_ids(gone), online=False)
        except (RedisError, OSError) as exc:
            logger.warning("presence: could not leave the cluster cleanly: %s", exc)
        await self._redis.aclose()

    async def connected(self, user_id: int) -> bool:
        if not self._counter.opened(user_id):
            return False
        async with self._lock:
            try:
                result = await self._call(self._connect, self._gateway, self._ttl_ms, user_id)
            except (RedisError, OSError) as exc:
                self._note_failure(exc)
                return False
        return bool(result)

    async def disconnected(self, user_id: int) -> bool:
        if not self._counter.closed(user_id):
            return False
        async with self._lock:
            try:
                result = await self._call(self._disconnect, self._gateway, user_id)
            except (RedisError, OSError) as exc:
                self._note_failure(exc)
                return False
        return bool(result)

    async def online(self, user_ids: Iterable[int]) -> set[int]:
        wanted = set(user_ids)
        local = {u for u in wanted if self._counter.online(u)}
        remote = sorted(wanted - local)
        if not remote:
            return local
        try:
            found = await self._call(self._online, *remote)
        except (RedisError, OSError) as exc:
            self._note_failure(exc)
            return local
        return local | set(_ids(found))

    # heartbeat

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._beat_every)
            try:
                await self._beat()
                if self._failing:
                    logger.warning("presence: Redis reachable again")
                    self._failing = False
            except (RedisError, OSError) as exc:
                self._note_failure(exc)
            except Exception:
                logger.exception("presence heartbeat failed")

    async def _beat(self) -> None:
        """Renew this gateway, restate its users, and bury gateways that stopped beating."""
        users = sorted(self._counter.users())  # the state at call time, see the module doc
        async with self._lock:
            gone, back = await self._call(
                self._sync, self._gateway, self._ttl_ms, GATEWAY_SET_TTL_MS, *users
            )
            reaped = await self._call(self._reap, self._gateway, "0")
        await self._announce(_ids(back), online=True)
        await self._announce(_ids(gone) + _ids(reaped), online=False)

    async def _announce(self, user_ids: Sequence[int], *, online: bool) -> None:
        """Hand users whose presence changed without a connect here to the announcer."""
        wanted = [
            user_id
            for user_id in dict.fromkeys(user_ids)
            # someone back online may have gone again since the heartbeat read the set
            if not online or self._counter.online(user_id)
        ]
        if wanted and self._changed is not None:
            await self._changed(wanted, online)

    async def _call(self, script: Any, *args: object) -> Any:
        return await script(args=[PREFIX, *args])

    def _note_failure(self, exc: BaseException) -> None:
        if not self._failing:
            logger.warning("presence: Redis unavailable, counting locally: %s", exc)
        self._failing = True


def _ids(raw: Iterable[bytes | str | int]) -> list[int]:
    return [int(x) for x in raw]
