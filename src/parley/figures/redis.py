"""The cluster's board: one Redis hash, a field per gateway, read whole by the overview.

Each field carries its sample time; a gateway that stopped publishing (crashed,
partitioned) drops out of the overview once its figures are older than their
TTL, and the whole hash expires when no gateway publishes at all.
"""

from __future__ import annotations

import time

import orjson

from parley.figures.base import GatewayFigures
from parley.redis.client import command_client

KEY = "parley:figures"


class RedisBoard:
    def __init__(self, url: str) -> None:
        self._redis = command_client(url)

    async def publish(self, figures: GatewayFigures, ttl: float) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(KEY, figures.gateway, orjson.dumps({**figures.to_json(), "ttl": ttl}))
            pipe.pexpire(KEY, int(ttl * 1000))
            await pipe.execute()

    async def gateways(self) -> list[GatewayFigures]:
        raw = await self._redis.hgetall(KEY)
        now, live, stale = time.time(), [], []
        for field, value in raw.items():
            data = orjson.loads(value)
            if data["at"] + data["ttl"] < now:
                stale.append(field)
            else:
                live.append(GatewayFigures.from_json(data))
        if stale:
            await self._redis.hdel(KEY, *stale)
        return sorted(live, key=lambda f: f.gateway)

    async def close(self) -> None:
        await self._redis.aclose()
