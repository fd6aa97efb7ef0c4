"""A gateway's idempotent producer after a fatal error, against the real broker.

After a broker restart under load an idempotent producer can meet
``OutOfOrderSequenceNumber`` and never work again; ``KafkaLog`` must replace it
with a fresh one rather than probe metadata with the broken one forever.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiokafka.errors import OutOfOrderSequenceNumber, ProducerFenced

from parley.bus.base import Handler
from parley.log import Unavailable
from parley.log.kafka.producer import KafkaLog
from parley.models import Draft, User, now_micros
from parley.store import SqlStore
from tests.support.cluster import eventually
from tests.support.services import Services, Topics

pytestmark = pytest.mark.cluster


class NoAcks:
    """The ack channel: nothing answers here, only delivery to Kafka is looked at."""

    async def listen(self, channel: str, handler: Handler) -> None:
        return None


@pytest.mark.parametrize("fatal", [OutOfOrderSequenceNumber, ProducerFenced])
async def test_a_fatal_producer_error_brings_a_fresh_producer(
    services: Services, topics: Topics, tmp_path: Path, fatal: type[Exception]
) -> None:
    store = SqlStore(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}")
    log = KafkaLog(
        bootstrap=services.kafka_bootstrap,
        topic=await topics.new(),
        gateway_id="recovery",
        ack_timeout=5,
        store=store,
        acks=NoAcks(),
    )
    await log.start()
    try:
        first = log._producer
        assert first is not None
        report: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        report.set_exception(fatal())
        log._delivered([], report, first)  # a batch's delivery failed with the fatal error
        log._delivered([], report, first)  # and another one of the same producer: no matter
        draft = Draft(1, User(1, "ana", "Ana"), "hi", "c1", now_micros())
        with pytest.raises(Unavailable):
            await log.submit(draft, seen_member=True)  # refused at once meanwhile

        async def replaced() -> bool:
            return log._producer not in (None, first) and log._down is None

        await eventually(replaced, 20, "a fresh producer")
        assert first._closed  # the broken one was stopped, not left running
        fresh = log._producer
        log._delivered([], report, first)  # a late failure of the old one changes nothing
        assert log._producer is fresh
        # The fresh producer delivers: the send reaches Kafka (no persister acks it here).
        await log.submit(draft, seen_member=True)

        async def delivered() -> bool:
            return bool(log._in_flight) and log._in_flight[0].delivered

        await eventually(delivered, 20, "the record to reach Kafka")
    finally:
        await log.close()
        await store.close()
