"""What the Kafka clients of gateways and persisters share: topic creation and backoff."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Final

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

logger = logging.getLogger(__name__)

RETRY_BACKOFF_MS: Final = 500
"""Between retries of a failed request and between metadata refreshes that found no broker.

aiokafka's default (100 ms) is what its loops wait between attempts while the
broker is down; five times longer still recovers within a second of Kafka
being back, at a fifth of the connection attempts.
"""
BACKOFF: Final = {"retry_backoff_ms": RETRY_BACKOFF_MS}
"""Keyword arguments every producer, consumer and admin client is built with."""


async def ensure_topic(bootstrap: str, topic: str, partitions: int) -> None:
    """Create the topic when missing (one replica: production topics are made by ops).

    Raises aiokafka's ``KafkaError`` or ``OSError`` when Kafka cannot be reached.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **BACKOFF)
    try:
        await admin.start()
        if topic in await admin.list_topics():
            return
        try:
            await admin.create_topics([NewTopic(topic, partitions, replication_factor=1)])
            logger.info("created topic %s (%d partitions)", topic, partitions)
        except TopicAlreadyExistsError:
            pass
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


async def stop_client(client: Any, what: str, timeout: float = 10.0) -> None:
    """Stop an aiokafka producer or consumer, however unreachable Kafka is.

    With the broker gone, ``stop()`` can fail, hang, or let the
    ``CancelledError`` of its own fetch tasks escape (aiokafka 0.14), which
    would end a worker asked to stop with an error instead of exit status 0.
    Only a cancellation of the caller itself goes on.
    """
    try:
        await asyncio.wait_for(client.stop(), timeout)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        logger.warning("%s did not stop cleanly: its tasks were cancelled", what)
    except (KafkaError, OSError, TimeoutError) as exc:
        logger.warning("%s did not stop cleanly: %r", what, exc)
