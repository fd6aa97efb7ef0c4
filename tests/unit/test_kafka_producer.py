"""The Kafka log's pure parts, and the aiokafka internals it builds on, with no broker.

``log/kafka/producer.py`` builds record batches itself (``create_batch``,
``BatchBuilder.append``, ``send_batch``), computes partitions with aiokafka's
``DefaultPartitioner`` and probes the broker through ``producer.client``. None
of that is aiokafka's documented API, so pyproject.toml pins an upper bound and
these tests fail loudly, without a broker, when a new aiokafka moves them.
"""

from __future__ import annotations

import inspect

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder

from parley.log.kafka.producer import generated_client_id


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
