"""The Kafka log's pure parts, and the aiokafka internals it builds on, with no broker.

``log/kafka/producer.py`` builds record batches itself (``create_batch``,
``BatchBuilder.append``, ``send_batch``), computes partitions with aiokafka's
``DefaultPartitioner`` and probes the broker through ``producer.client``. None
of that is aiokafka's documented API, so pyproject.toml pins an upper bound and
these tests fail loudly, without a broker, when a new aiokafka moves them.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder

from parley.bus.base import Handler
from parley.log.base import Unavailable
from parley.log.kafka import producer as producer_module
from parley.log.kafka.producer import KafkaLog, generated_client_id
from parley.models import Draft, Entry, User
from parley.store import Store


def test_generated_client_ids_are_unique_and_fit_the_limit() -> None:
    ids = {generated_client_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(1 <= len(i) <= 64 and i.startswith("~") for i in ids)


async def test_the_aiokafka_internals_the_producer_uses_are_still_there() -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers="127.0.0.1:1", acks="all", enable_idempotence=True
    )
    try:
        batch = producer.create_batch()
        assert isinstance(batch, BatchBuilder)
        assert batch.append(timestamp=None, key=b"7", value=b"record") is not None
        assert list(inspect.signature(producer.send_batch).parameters) == [
            "batch",
            "topic",
            "partition",
        ]
        assert inspect.iscoroutinefunction(producer.client.fetch_all_metadata)
        assert inspect.iscoroutinefunction(producer.partitions_for)
    finally:
        await producer.stop()


def test_the_default_partitioner_keeps_each_room_on_its_partition() -> None:
    """Kafka's murmur2 of the room id: a gateway of another version must pick the same
    partition for a room, or the room's messages would lose their order."""
    partitions = list(range(8))
    chosen = [DefaultPartitioner()(str(room).encode(), partitions, partitions) for room in range(8)]
    assert chosen == [4, 7, 0, 7, 1, 6, 6, 3]


class QueueingProducer:
    """aiokafka's producer as a burst meets it: ``send_batch`` takes a partition's next
    batch only once the previous one has gone (``drain`` seconds each), and Kafka has a
    batch ``delivery`` seconds after it was taken (never, when None)."""

    def __init__(self, drain: float, delivery: float | None) -> None:
        self._real = AIOKafkaProducer(bootstrap_servers="127.0.0.1:1")
        self.drain = drain
        self.delivery = delivery
        self.delivered = 0
        self.all_delivered = asyncio.Event()
        self.expected = 0
        self.client = self  # the breaker's probe: ``client.fetch_all_metadata``

    async def fetch_all_metadata(self) -> None:
        if self.delivery is None:  # Kafka does not answer: the probe times out
            await asyncio.Event().wait()

    def create_batch(self) -> BatchBuilder:
        return self._real.create_batch()

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(8))

    async def send_batch(self, batch: BatchBuilder, topic: str, partition: int) -> Any:
        await asyncio.sleep(self.drain)
        loop = asyncio.get_running_loop()
        delivery: asyncio.Future[None] = loop.create_future()
        if self.delivery is not None:
            loop.call_later(self.delivery, self._deliver, delivery)
        return delivery

    def _deliver(self, delivery: asyncio.Future[None]) -> None:
        delivery.set_result(None)
        self.delivered += 1
        if self.delivered == self.expected:
            self.all_delivered.set()

    async def stop(self) -> None:
        await self._real.stop()


class NoAcks:
    async def listen(self, channel: str, handler: Handler) -> None:
        pass


async def _log(producer: QueueingProducer, monkeypatch: pytest.MonkeyPatch) -> KafkaLog:
    log = KafkaLog(
        bootstrap="127.0.0.1:1",
        topic="t",
        gateway_id="g",
        ack_timeout=10.0,
        store=cast(Store, None),  # members are vouched for (seen_member): never asked
        acks=NoAcks(),
        send_timeout=0.3,
    )

    async def connect() -> QueueingProducer:
        return producer

    monkeypatch.setattr(log, "_connect", connect)
    await log.start()
    return log


async def _submit_one_per_turn(log: KafkaLog, n: int) -> list[asyncio.Future[Entry | None]]:
    """``n`` sends into one room (one partition), each in a loop turn (a batch) of its own."""
    sender = User(1, "ann", "Ann")
    results = []
    for i in range(n):
        draft = Draft(room_id=7, sender=sender, body=f"m{i}", client_id=f"c{i}", created_at=0)
        results.append(await log.submit(draft, seen_member=True))
        await asyncio.sleep(0)
    return results


async def test_a_queue_in_the_gateway_does_not_open_the_breaker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A burst queues batches in the gateway well past ``send_timeout`` while Kafka takes
    each one at once: that is no Kafka outage. Counted from the submit, it refused the
    queued sends and opened the breaker, which refused every send for a while (3,123 of
    20,000 in the notify bench, with Kafka healthy)."""
    producer = QueueingProducer(drain=0.1, delivery=0.02)
    producer.expected = 8  # the last is handed over 0.8 s after its submit
    log = await _log(producer, monkeypatch)
    try:
        results = await _submit_one_per_turn(log, producer.expected)
        delivered = asyncio.ensure_future(producer.all_delivered.wait())
        either: list[asyncio.Future[Any]] = [delivered, *results]
        done, _ = await asyncio.wait(either, timeout=5, return_when="FIRST_COMPLETED")
        assert done == {delivered}, [r.exception() for r in results if r.done()]
        assert log._down is None
    finally:
        await log.close()


async def test_kafka_not_taking_a_handed_over_batch_still_refuses_and_trips(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    producer = QueueingProducer(drain=0.0, delivery=None)
    log = await _log(producer, monkeypatch)
    try:
        (result,) = await _submit_one_per_turn(log, 1)
        with pytest.raises(Unavailable):
            await asyncio.wait_for(result, 5)
        assert log._down is not None
    finally:
        await log.close()


class RefusingProbe(QueueingProducer):
    """Kafka down: the breaker's probe fails at once, as a refused connection does."""

    async def fetch_all_metadata(self) -> None:
        raise KafkaConnectionError("connection refused")


@pytest.mark.parametrize("turns", [0, 1, 2, 3, 5, 8])
async def test_closing_while_the_breaker_probes_a_refusing_kafka_returns(
    turns: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A gateway stopping while Kafka is down must stop. With the probe under
    ``asyncio.wait_for`` (Python 3.11) the recovery loop swallowed the cancel when
    it came as a probe had just failed (here the first three timings), and
    ``close()`` never returned."""
    monkeypatch.setattr(producer_module, "PROBE_BACKOFF_MAX_SECONDS", 0.0)
    log = await _log(RefusingProbe(drain=0.0, delivery=0.0), monkeypatch)
    log._trip("Kafka unavailable: test")
    for _ in range(turns):
        await asyncio.sleep(0)
    closing = asyncio.ensure_future(log.close())
    done, _ = await asyncio.wait({closing}, timeout=3)
    assert done == {closing}
    closing.result()
