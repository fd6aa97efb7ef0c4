"""The cluster's board: Redis hashes (gateways, persisters, notifications workers), a field
per process, each read whole by the overview.

Each field carries its sample time; a gateway that stopped publishing (crashed,
partitioned) drops out of the overview once its figures are older than their
TTL, and the whole hash expires when no gateway publishes at all.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from parley.figures.base import GatewayFigures, NotifierFigures, WorkerFigures
from parley.redis.client import command_client

KEY = "parley:figures"
WORKERS_KEY = "parley:figures:persisters"
NOTIFIERS_KEY = "parley:figures:notifiers"


class RedisBoard:
    def __init__(self, url: str) -> None:
        self._redis = command_client(url)

    async def publish(self, figures: GatewayFigures, ttl: float) -> None:
        await self._put(KEY, figures.gateway, figures.to_json(), ttl)

    async def gateways(self) -> list[GatewayFigures]:
        found = [GatewayFigures.from_json(d) for d in await self._live(KEY)]
        return sorted(found, key=lambda f: f.gateway)

    async def publish_worker(self, figures: WorkerFigures, ttl: float) -> None:
        await self._put(WORKERS_KEY, figures.worker, figures.to_json(), ttl)

    async def workers(self) -> list[WorkerFigures]:
        found = [WorkerFigures.from_json(d) for d in await self._live(WORKERS_KEY)]
        return sorted(found, key=lambda f: f.worker)

    async def publish_notifier(self, figures: NotifierFigures, ttl: float) -> None:
        await self._put(NOTIFIERS_KEY, figures.worker, figures.to_json(), ttl)

    async def notifiers(self) -> list[NotifierFigures]:
        found = [NotifierFigures.from_json(d) for d in await self._live(NOTIFIERS_KEY)]
        return sorted(found, key=lambda f: f.worker)

    async def _put(self, key: str, field: str, data: dict[str, Any], ttl: float) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, field, orjson.dumps({**data, "ttl": ttl}))
            pipe.pexpire(key, int(ttl * 1000))
            await pipe.execute()

    async def _live(self, key: str) -> list[dict[str, Any]]:
        raw = await self._redis.hgetall(key)
        now, live, stale = time.time(), [], []
        for field, value in raw.items():
            data = orjson.loads(value)
            if data["at"] + data["ttl"] < now:
                stale.append(field)
            else:
                live.append(data)
        if stale:
            await self._redis.hdel(key, *stale)
        return live

    async def close(self) -> None:
        await self._redis.aclose()
