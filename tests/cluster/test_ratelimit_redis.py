"""The attempt limiter's contract on Redis, and the bounds on what it keeps there."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from parley.ratelimit import Hit, Window
from parley.ratelimit.redis import PREFIX, RedisLimiter
from tests.support.services import Services
from tests.unit.test_ratelimit import (
    check_all_or_none,
    check_release_takes_back_one_attempt,
    check_the_limit_holds_under_concurrency,
)

pytestmark = pytest.mark.cluster


@pytest.fixture
async def limiter(services: Services) -> AsyncIterator[RedisLimiter]:
    made = RedisLimiter(services.redis_url)
    yield made
    await made.close()


@pytest.fixture
def key() -> str:
    return f"test-{secrets.token_hex(4)}-"


async def test_the_limit_holds_under_concurrency(limiter: RedisLimiter, key: str) -> None:
    await check_the_limit_holds_under_concurrency(limiter, key)


async def test_an_attempt_counts_against_all_keys_or_none(limiter: RedisLimiter, key: str) -> None:
    await check_all_or_none(limiter, key)


async def test_release_takes_back_one_attempt(limiter: RedisLimiter, key: str) -> None:
    await check_release_takes_back_one_attempt(limiter, key)


async def test_keys_expire_with_their_window_and_hold_at_most_the_limit(
    limiter: RedisLimiter, key: str, services: Services
) -> None:
    for _ in range(10):
        await limiter.reserve([Hit(key, Window(3, 90))])
    client = aioredis.Redis.from_url(services.redis_url)
    try:
        assert await client.zcard(PREFIX + key) == 3
        assert 0 < await client.pttl(PREFIX + key) <= 90_000
    finally:
        await client.aclose()
