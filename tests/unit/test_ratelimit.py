"""The attempt limiter's contract, on the memory implementation (Redis: tests/cluster)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from parley.protocol.errors import ProtocolError
from parley.ratelimit import (
    Action,
    Admission,
    Hit,
    Limiter,
    LimiterUnavailable,
    MemoryLimiter,
    UserLimits,
    Window,
)

FIVE_PER_MINUTE = Window(5, 60)
TWO_PER_MINUTE = Window(2, 60)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def admitted(limiter: Limiter, *hits: Hit) -> bool:
    return (await limiter.reserve(hits)).admitted


async def check_the_limit_holds_under_concurrency(limiter: Limiter, key: str) -> None:
    answers = await asyncio.gather(
        *(limiter.reserve([Hit(key, FIVE_PER_MINUTE)]) for _ in range(12))
    )
    assert sum(a.admitted for a in answers) == 5
    refused = [a for a in answers if not a.admitted]
    assert all(0 < a.retry_after <= 60 and a.ticket == "" for a in refused)


async def check_all_or_none(limiter: Limiter, prefix: str) -> None:
    wide, narrow = Hit(prefix + "wide", FIVE_PER_MINUTE), Hit(prefix + "narrow", TWO_PER_MINUTE)
    assert await admitted(limiter, wide, narrow)
    assert await admitted(limiter, wide, narrow)
    assert not await admitted(limiter, wide, narrow)  # narrow is full: wide is not counted
    for _ in range(3):
        assert await admitted(limiter, wide)
    assert not await admitted(limiter, wide)


async def check_release_takes_back_one_attempt(limiter: Limiter, key: str) -> None:
    tickets = [(await limiter.reserve([Hit(key, TWO_PER_MINUTE)])).ticket for _ in range(2)]
    assert all(tickets) and tickets[0] != tickets[1]
    assert not await admitted(limiter, Hit(key, TWO_PER_MINUTE))
    await limiter.release(key, tickets[1])
    assert await admitted(limiter, Hit(key, TWO_PER_MINUTE))
    assert not await admitted(limiter, Hit(key, TWO_PER_MINUTE))
    await limiter.release(key + "-unknown", "nope")  # harmless


async def test_the_limit_holds_under_concurrency() -> None:
    await check_the_limit_holds_under_concurrency(MemoryLimiter(), "k")


async def test_an_attempt_counts_against_all_keys_or_none() -> None:
    await check_all_or_none(MemoryLimiter(), "")


async def test_release_takes_back_one_attempt() -> None:
    await check_release_takes_back_one_attempt(MemoryLimiter(), "k")


async def test_the_window_slides() -> None:
    clock = Clock()
    limiter = MemoryLimiter(clock)
    hit = Hit("k", TWO_PER_MINUTE)
    assert await admitted(limiter, hit)
    clock.now += 30
    assert await admitted(limiter, hit)
    refused = await limiter.reserve([hit])
    assert not refused.admitted and refused.retry_after == 30
    clock.now += 30  # the first attempt leaves the window
    assert await admitted(limiter, hit)
    assert not await admitted(limiter, hit)


async def test_memory_is_capped_by_forgetting_idle_keys_first() -> None:
    clock = Clock()
    limiter = MemoryLimiter(clock, max_keys=10)
    held = Hit("held", TWO_PER_MINUTE)
    for _ in range(2):
        assert await admitted(limiter, held)
    for i in range(9):
        assert await admitted(limiter, Hit(f"old{i}", Window(1, 1)))
    clock.now += 2  # the old keys' windows are over; "held" is still full
    for i in range(9):
        assert await admitted(limiter, Hit(f"new{i}", FIVE_PER_MINUTE))
    assert len(limiter) <= 10
    assert not await admitted(limiter, held)
    for i in range(100):  # a flood of live keys: least recently used go, never over the cap
        await limiter.reserve([Hit(f"flood{i}", FIVE_PER_MINUTE)])
        assert len(limiter) <= 10


async def test_user_limits_are_per_user_and_action_with_a_retry_hint() -> None:
    clock = Clock()
    limits = UserLimits(
        MemoryLimiter(clock), {Action.SEND: Window(2, 1), Action.MEMBER: Window(1, 60)}
    )
    await limits.take(Action.SEND, 1, "c1")
    await limits.take(Action.SEND, 1, "c2")
    with pytest.raises(ProtocolError) as refused:
        await limits.take(Action.SEND, 1, "c3")
    assert (refused.value.code, refused.value.client_id) == ("rate_limited", "c3")
    assert refused.value.retry_after == pytest.approx(1.0)
    await limits.take(Action.SEND, 2, "c1")  # another user's budget
    await limits.take(Action.MEMBER, 1)  # another action's budget
    clock.now += 1.0
    await limits.take(Action.SEND, 1, "c3")


class DownLimiter:
    async def reserve(self, hits: Sequence[Hit]) -> Admission:
        raise LimiterUnavailable("down")

    async def release(self, key: str, ticket: str) -> None:
        raise LimiterUnavailable("down")

    async def close(self) -> None:
        pass


async def test_user_limits_let_actions_through_while_the_counters_are_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limits = UserLimits(DownLimiter(), {Action.TYPING: Window(1, 60)})
    for _ in range(3):
        await limits.take(Action.TYPING, 1)
    assert [r.message for r in caplog.records].count(
        "per-user limits unavailable, letting actions through: down"
    ) == 1
