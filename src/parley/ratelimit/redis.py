"""``Limiter`` in Redis: one set of counters for every gateway of a cluster.

Each key is a sorted set of attempt tickets scored by Redis's own clock (so
gateways' clocks do not matter). One Lua script checks every key and counts the
attempt against all of them or none, atomically; a key holds at most ``limit``
entries and expires with its window, so Redis memory stays bounded.

Keys (a single Redis, not Redis Cluster): ``parley:limit:<key>``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from redis.exceptions import RedisError

from parley.ratelimit.base import Admission, Hit, LimiterUnavailable
from parley.redis.client import command_client

PREFIX = "parley:limit:"

# KEYS: counters. ARGV[1]: the ticket; ARGV[2i], ARGV[2i+1]: limit, window (ms) of KEYS[i].
# -> 0 when counted against every key, else milliseconds until the attempt could pass.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local first = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    wait = math.max(wait, tonumber(first[2]) + window - now)
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[1])
  redis.call('PEXPIRE', key, tonumber(ARGV[2 * i + 1]))
end
return 0
"""


class RedisLimiter:
    def __init__(self, url: str) -> None:
        self._client = command_client(url)
        self._reserve = self._client.register_script(_RESERVE)

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
