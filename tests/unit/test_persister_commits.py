"""The persister's offset commits: beside the batches, merged, at most one per interval,
and the last one sent at once when the worker stops."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from parley.bus.base import Bus
from parley.log.kafka import persister
from parley.log.kafka.persister import Persister
from parley.metrics import PersisterMetrics
from parley.store import Store

P0 = TopicPartition("t", 0)
P1 = TopicPartition("t", 1)
INTERVAL = 0.5


class _Consumer:
    """Records each commit with the loop's time, and tells when ``expected`` have come."""

    def __init__(self, expected: int) -> None:
        self.commits: list[dict[TopicPartition, int]] = []
        self.times: list[float] = []
        self.expected = expected
        self.all_in = asyncio.Event()

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))
        self.times.append(asyncio.get_running_loop().time())
        if len(self.commits) == self.expected:
            self.all_in.set()


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch) -> Persister:
    monkeypatch.setattr(persister, "COMMIT_INTERVAL_SECONDS", INTERVAL)
    return Persister(
        cast(Store, None),
        cast(Bus, None),
        bootstrap="unused",
        topic="t",
        group="g",
        dead_letter_topic="t.dead",
        metrics=PersisterMetrics(),
    )


async def test_batches_within_the_interval_share_one_commit_of_their_newest_offsets(
    worker: Persister,
) -> None:
    fake = _Consumer(expected=2)
    consumer = cast(AIOKafkaConsumer, fake)
    worker._commit_later(consumer, {P0: 1})
    await asyncio.sleep(0)  # one turn: the commit task takes the first offsets
    worker._commit_later(consumer, {P0: 2})
    worker._commit_later(consumer, {P0: 3, P1: 5})
    await asyncio.wait_for(fake.all_in.wait(), 10)
    assert fake.commits == [{P0: 1}, {P0: 3, P1: 5}]  # the first at once, the rest merged
    assert fake.times[1] - fake.times[0] >= INTERVAL  # the next waited out the interval


async def test_stopping_sends_the_pending_offsets_without_waiting_the_interval(
    worker: Persister,
) -> None:
    fake = _Consumer(expected=2)
    consumer = cast(AIOKafkaConsumer, fake)
    worker._commit_later(consumer, {P0: 1})
    await asyncio.sleep(0)  # one turn: the commit task takes the first offsets
    worker._commit_later(consumer, {P0: 2})
    worker._flush.set()
    assert worker._committing is not None
    await asyncio.wait_for(worker._committing, 10)
    assert fake.commits == [{P0: 1}, {P0: 2}]
    assert fake.times[1] - fake.times[0] < INTERVAL
