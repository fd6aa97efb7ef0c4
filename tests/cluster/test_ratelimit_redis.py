"""The attempt limiter's contract on Redis, and the bounds on what it keeps there."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from parley.ratelimit import Hit, LimiterUnavailable, Window
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


async def test_the_attempts_of_one_turn_are_one_call_answered_in_their_order(
    limiter: RedisLimiter, key: str, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every send of a cluster reserves its user's budget: one script call per turn,
    not per attempt, and the attempts are counted in the order they were made."""
    script = limiter._reserve
    calls = []

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["keys"])
        return await script(*args, **kwargs)

    monkeypatch.setattr(limiter, "_reserve", counted)
    five, two = Window(5, 60), Window(2, 60)
    wide, narrow = Hit(key + "wide", five), Hit(key + "narrow", two)
    answers = await asyncio.gather(
        *(limiter.reserve([Hit(key, five)]) for _ in range(8)),
        *(limiter.reserve([wide, narrow]) for _ in range(3)),
        limiter.reserve([wide]),
    )
    assert len(calls) == 1
    assert [a.admitted for a in answers] == [True] * 5 + [False] * 3 + [True, True, False, True]
    assert len({a.ticket for a in answers if a.admitted}) == 8
    client = aioredis.Redis.from_url(services.redis_url)
    try:  # the refused pair counted against neither key
        assert await client.zcard(PREFIX + key + "wide") == 3
        assert await client.zcard(PREFIX + key + "narrow") == 2
    finally:
        await client.aclose()


async def test_redis_away_fails_every_attempt_of_the_turn() -> None:
    away = RedisLimiter("redis://127.0.0.1:1")
    try:
        answers = await asyncio.gather(
            *(away.reserve([Hit("k", Window(5, 60))]) for _ in range(3)), return_exceptions=True
        )
        assert all(isinstance(a, LimiterUnavailable) for a in answers), answers
    finally:
        await away.close()


async def test_more_attempts_at_once_than_the_pool_has_connections_are_all_counted(
    limiter: RedisLimiter, key: str
) -> None:
    """A gateway under load has hundreds of sends reserving at once. With a call per
    attempt, past redis-py's 100 pooled connections they failed as ``LimiterUnavailable``,
    which lets the action through: the user's limit did not hold exactly when it mattered."""
    answers = await asyncio.gather(
        *(limiter.reserve([Hit(key, Window(250, 60))]) for _ in range(300))
    )
    assert sum(a.admitted for a in answers) == 250
