from __future__ import annotations

from parley.protocol.limits import Throttle, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=10, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.1
    assert bucket.take()
    assert not bucket.take()
    clock.now += 100
    assert sum(bucket.take() for _ in range(10)) == 3


def test_throttle_lets_one_event_per_interval_per_key() -> None:
    clock = Clock()
    throttle = Throttle(2.0, clock=clock, max_keys=2)
    assert throttle.allow(("u", 1))
    assert not throttle.allow(("u", 1))
    assert throttle.allow(("u", 2))
    clock.now += 2.5
    assert throttle.allow(("u", 3))
    assert throttle.allow(("u", 1))
