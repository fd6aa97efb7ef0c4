"""``Limiter`` in Redis: one set of counters for every gateway of a cluster.

Each key is a sorted set of attempt tickets scored by Redis's own clock (so
gateways' clocks do not matter). One Lua script (``lua/reserve.lua``) checks every
key and counts the attempt against all of them or none, atomically; a key holds at most ``limit``
entries and expires with its window, so Redis memory stays bounded.

Keys (a single Redis, not Redis Cluster): ``parley:limit:<key>``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from importlib import resources

from redis.exceptions import RedisError

from parley.ratelimit.base import Admission, Hit, LimiterUnavailable
from parley.redis.client import command_client

PREFIX = "parley:limit:"


def _script(name: str) -> str:
    """A Lua script of ``lua/``."""
    return (resources.files("parley.ratelimit") / "lua" / f"{name}.lua").read_text()


class RedisLimiter:
    def __init__(self, url: str) -> None:
        self._client = command_client(url)
        self._reserve = self._client.register_script(_script("reserve"))

    async def reserve(self, hits: Sequence[Hit]) -> Admission:
        ticket = secrets.token_hex(8)
        args: list[str | int] = [ticket]
        for hit in hits:
            args += [hit.window.limit, max(1, round(hit.window.seconds * 1000))]
        try:
            wait_ms = int(await self._reserve(keys=[PREFIX + h.key for h in hits], args=args))
        except (RedisError, OSError) as exc:
            raise LimiterUnavailable(repr(exc)) from exc
        if wait_ms > 0:
            return Admission(False, retry_after=wait_ms / 1000)
        return Admission(True, ticket)

    async def release(self, key: str, ticket: str) -> None:
        try:
            await self._client.zrem(PREFIX + key, ticket)
        except (RedisError, OSError) as exc:
            raise LimiterUnavailable(repr(exc)) from exc

    async def close(self) -> None:
        await self._client.aclose()
