"""The overview figures: percentiles from histogram buckets, rates per interval, the boards."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import cast

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from parley.bus import Bus
from parley.figures import GatewayFigures, LocalBoard, NotifierFigures, Sampler, WorkerFigures
from parley.figures.base import percentile
from parley.log.kafka.persister import Persister
from parley.metrics import Metrics, NotifyMetrics, PersisterMetrics
from parley.notify.focus import LocalFocus
from parley.notify.kafka import NotifyWorker
from parley.notify.store import NotificationStore
from parley.notify.worker import InProcessNotifier, Notifier
from parley.store import Store
from tests.unit.test_notify_decide import msg


def test_a_percentile_is_the_bound_of_the_bucket_it_falls_in() -> None:
    buckets = [(0.01, 50.0), (0.1, 95.0), (1.0, 99.0), (float("inf"), 100.0)]
    assert percentile(buckets, 0.5) == 0.01
    assert percentile(buckets, 0.95) == 0.1
    assert percentile(buckets, 0.99) == 1.0
    assert percentile(buckets, 1.0) == float("inf")
    assert percentile([(0.01, 0.0), (float("inf"), 0.0)], 0.5) is None
    assert percentile([], 0.5) is None


def test_the_sampler_reports_the_last_interval_not_the_whole_run() -> None:
    metrics = Metrics(lambda: 0, lambda: 0)
    sampler = Sampler("gw-a", metrics, lambda: 3, lambda: 2)
    for _ in range(10):
        metrics.messages_stored.inc()
        metrics.ack_latency.observe(0.003)
    first = sampler.sample()
    assert (first.gateway, first.connections, first.users) == ("gw-a", 3, 2)
    assert first.messages_stored == 10 and first.messages_per_second > 0
    assert first.ack_ms == {"p50": 5.0, "p95": 5.0, "p99": 5.0}
    metrics.ack_latency.observe(0.2)
    metrics.ack_latency.observe(60)  # past the last bound: reported as the largest bound
    metrics.send_errors.labels("forbidden").inc()
    second = sampler.sample()
    assert second.ack_ms == {"p50": 250.0, "p95": 10_000.0, "p99": 10_000.0}
    assert second.messages_per_second == 0 and second.send_errors == 1
    assert sampler.sample().ack_ms == {"p50": None, "p95": None, "p99": None}
    assert GatewayFigures.from_json(second.to_json()) == second


@pytest.mark.parametrize("ttl", [60.0, -1.0])
async def test_the_local_board_keeps_the_latest_figures_while_live(ttl: float) -> None:
    board = LocalBoard()
    assert await board.gateways() == []
    sample = Sampler("gw", Metrics(lambda: 0, lambda: 0), lambda: 1, lambda: 1).sample()
    await board.publish(sample, 60.0)
    newer = dataclasses.replace(sample, connections=5)
    await board.publish(newer, ttl)
    assert await board.gateways() == ([newer] if ttl > 0 else [])


class _Consumer:
    """What the persister's reporter reads of an AIOKafkaConsumer."""

    def __init__(self) -> None:
        self.parts = {TopicPartition("t", 0): (10, 4), TopicPartition("t", 1): (None, 0)}

    def assignment(self) -> set[TopicPartition]:
        return set(self.parts)

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.parts[tp][0]

    async def position(self, tp: TopicPartition) -> int:
        return self.parts[tp][1]


class _Board(LocalBoard):
    def __init__(self) -> None:
        super().__init__()
        self.published: asyncio.Queue[WorkerFigures] = asyncio.Queue()
        self.notifier: asyncio.Queue[NotifierFigures] = asyncio.Queue()

    async def publish_worker(self, figures: WorkerFigures, ttl: float) -> None:
        await self.published.put(figures)

    async def publish_notifier(self, figures: NotifierFigures, ttl: float) -> None:
        await self.notifier.put(figures)


async def test_a_persister_reports_its_lag_and_dead_letters() -> None:
    metrics = PersisterMetrics()
    metrics.dead_letters.inc(2)
    board = _Board()
    persister = Persister(
        cast(Store, None),
        cast(Bus, None),
        bootstrap="unused",
        topic="t",
        group="g",
        dead_letter_topic="t.dead",
        metrics=metrics,
        instance_id="p-1",
        board=board,
    )
    reporting = asyncio.create_task(persister._report(cast(AIOKafkaConsumer, _Consumer())))
    figures = await asyncio.wait_for(board.published.get(), 5)
    reporting.cancel()
    assert (figures.worker, figures.lag, figures.dead_letters, figures.store_retries) == (
        "p-1",
        6,
        2,
        0,
    )
    assert WorkerFigures.from_json(figures.to_json()) == figures


async def test_the_notify_worker_reports_its_lag_from_the_last_batch_it_handled() -> None:
    metrics = NotifyMetrics()
    metrics.messages.inc(40)
    metrics.notifications.inc(12)
    board = _Board()
    store = cast(NotificationStore, None)
    worker = NotifyWorker(
        Notifier(store, LocalFocus(), []),
        store,
        bootstrap="unused",
        topic="t",
        group="g.notify",
        persister_group="g",
        metrics=metrics,
        board=board,
        instance_id="n-1",
    )
    consumer = cast(AIOKafkaConsumer, _Consumer())
    # Fetched up to offset 4 of partition 0 (high watermark 10), nothing handled yet: 6.
    reporting = asyncio.create_task(worker._report(consumer))
    first = await asyncio.wait_for(board.notifier.get(), 5)
    reporting.cancel()
    assert (first.worker, first.lag, first.messages, first.notifications) == ("n-1", 6, 40, 12)
    assert board.published.empty()  # not among the persisters
    # A batch handled up to offset 3 (fetched ahead to 4): the records from 3 are behind.
    worker._done[TopicPartition("t", 0)] = 3
    assert await worker._lag(consumer) == 7
    assert NotifierFigures.from_json(first.to_json()) == first


async def test_the_in_process_notifier_reports_what_is_queued() -> None:
    notifier = InProcessNotifier(Notifier(cast(NotificationStore, None), LocalFocus(), []))
    metrics = Metrics(lambda: 0, lambda: 0, notifier=notifier)
    assert metrics.registry.get_sample_value("parley_notify_lag") == 0
    for _ in range(2):  # not started: both stay queued
        notifier.offer(msg())
    board = LocalBoard()
    assert await board.notifiers() == []
    await board.publish_notifier(notifier.figures("gw"), 60.0)
    [figures] = await board.notifiers()
    assert (figures.worker, figures.lag, figures.messages, figures.retries) == ("gw", 2, 0, 0)
    assert metrics.registry.get_sample_value("parley_notify_lag") == 2
    assert metrics.registry.get_sample_value("parley_notify_messages_total") == 0
    await board.publish_notifier(notifier.figures("gw"), -1.0)
    assert await board.notifiers() == []
