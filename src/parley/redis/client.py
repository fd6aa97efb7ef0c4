"""The redis-py client for plain commands (scripts, PING), shared by the bus and presence."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

CONNECT_TIMEOUT_SECONDS = 2.0
COMMAND_TIMEOUT_SECONDS = 5.0


def command_client(url: str) -> aioredis.Redis:
    """A redis-py client that fails fast when Redis is down.

    One immediate retry covers the stale pooled connection left by a Redis
    restart; anything longer would only delay the caller's own fallback (a
    refused send, a 503 from /readyz) while Redis is really gone.
    """
    client: aioredis.Redis = aioredis.Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=COMMAND_TIMEOUT_SECONDS,
        health_check_interval=0,
        retry=Retry(NoBackoff(), 1),
    )
    return client
