"""The dead-letter topic: records that can never be stored, kept with why, out of the way.

A record the database refuses (or that is not a record at all) would stop its
partition if the persister retried it like an outage. It is produced instead,
byte for byte with its key, to the dead-letter topic (``<topic>.dlq`` by
default), the reason and its origin in the headers, as Kafka Connect does with
``errors.deadletterqueue``: an operator can read it, fix the cause and produce
it again. Only once it is there does the persister commit past it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from parley.log.kafka.topics import BACKOFF, ensure_topic, stop_client

logger = logging.getLogger(__name__)

RETRY_FIRST_SECONDS = 0.1
RETRY_MAX_SECONDS = 2.0
PARTITIONS = 1
"""Dead letters are rare and read by people; one partition keeps them in one order."""

DeadLetter = tuple[Any, str]
"""A consumed record (aiokafka's ``ConsumerRecord``) and why it can never be stored."""


class DeadLetters:
    def __init__(self, bootstrap: str, topic: str, counted: Callable[[int], None]) -> None:
        """``counted(n)``: n records were dead-lettered (the metric)."""
        self.topic = topic
        self._bootstrap = bootstrap
        self._counted = counted
        self._producer: AIOKafkaProducer | None = None

    async def send(self, dead: Sequence[DeadLetter], stop: asyncio.Event) -> bool:
        """Produce each dead letter, retrying while Kafka is unreachable; False if stopped first."""
        delay = RETRY_FIRST_SECONDS
        failures = 0
        while not stop.is_set():
            try:
                await self._send(dead)
            except (KafkaError, OSError, TimeoutError) as exc:
                failures += 1
                if failures == 1:
                    logger.warning("cannot write to %s, retrying: %r", self.topic, exc)
                await self._reset()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
                continue
            for item, reason in dead:
                logger.error(
                    "dead-lettered %s[%d]@%d to %s: %s",
                    item.topic,
                    item.partition,
                    item.offset,
                    self.topic,
                    reason,
                )
            self._counted(len(dead))
            return True
        return False

    async def _send(self, dead: Sequence[DeadLetter]) -> None:
        if self._producer is None:
            await ensure_topic(self._bootstrap, self.topic, PARTITIONS)
            producer = AIOKafkaProducer(
                bootstrap_servers=self._bootstrap,
                client_id="parley-dead-letters",
                acks="all",
                enable_idempotence=True,
                **BACKOFF,
            )
            await producer.start()
            self._producer = producer
        deliveries = [
            await self._producer.send(
                self.topic,
                value=item.value,
                key=item.key,
                headers=[
                    ("parley.error", reason.encode()),
                    ("parley.topic", item.topic.encode()),
                    ("parley.partition", str(item.partition).encode()),
                    ("parley.offset", str(item.offset).encode()),
                ],
            )
            for item, reason in dead
        ]
        await asyncio.gather(*deliveries)

    async def _reset(self) -> None:
        """Drop the producer after a failure: the next attempt starts a fresh one."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await stop_client(producer, "the dead-letter producer", 5)

    async def close(self) -> None:
        await self._reset()
