"""``parley worker notify``: a consumer group of its own on the message log.

It reads the topic the persister reads (``parley.messages``), not a topic of stored
messages: a record is a draft without its seq or mentions, so each message record is
looked up in the store by its idempotency key (room, sender, client_id), which is
exactly what the persister's append kept. Reading the source topic costs one indexed
query per batch and no second write per message on the hot path; it also means the
worker depends on nothing the persister must publish for it.

A record not found yet is one the persister has not stored yet (the worker is ahead of
it): the batch waits for it. A record the persister has moved past (its group's committed
offset is beyond the record) without storing it was refused or dead-lettered, and
notifies nobody. Per batch: look up, decide, deliver (every channel records what it
delivered under its idempotency key), then commit the offsets; a crash before the
commit replays the batch, and the ledgers make the replay deliver nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from parley.figures import Board, NotifierFigures
from parley.figures.base import total
from parley.log.kafka.persister import PARTITIONS, SESSION_TIMEOUT_MS
from parley.log.kafka.records import decode_record
from parley.log.kafka.topics import BACKOFF, ensure_topic, stop_client
from parley.metrics import NotifyMetrics
from parley.models import Message
from parley.notify.base import DeliveryFailed
from parley.notify.email import EmailChannel
from parley.notify.store import NotificationStore
from parley.notify.worker import BATCH, Notifier
from parley.store import StoreFailed

logger = logging.getLogger(__name__)

MAX_RECORDS = BATCH
POLL_MS = 200
WAIT_FOR_PERSISTER_SECONDS = 0.2
RETRY_FIRST_SECONDS = 0.2
RETRY_MAX_SECONDS = 5.0

Key = tuple[int, int, str]
R = TypeVar("R")


class _Stopping(Exception):
    """Asked to stop with a batch unfinished: it is left uncommitted, to be replayed."""


class NotifyWorker:
    def __init__(
        self,
        notifier: Notifier,
        store: NotificationStore,
        *,
        bootstrap: str,
        topic: str,
        group: str,
        persister_group: str,
        metrics: NotifyMetrics,
        board: Board | None = None,
        figures_interval: float = 2.0,
        email: EmailChannel | None = None,
        closing: Sequence[Any] = (),
        instance_id: str | None = None,
    ) -> None:
        """``closing``: clients the composition root made for this worker, closed at the end.

        ``instance_id``: a static group member id, as the persister's: a worker restarted
        under it (a supervisor's restart after a crash) gets its partitions back at once."""
        self._notifier = notifier
        self._store = store
        self._bootstrap = bootstrap
        self._topic = topic
        self._group = group
        self._persister_group = persister_group
        self.metrics = metrics
        self._board = board
        self._figures_interval = figures_interval
        self._email = email
        self._closing = closing
        self._instance_id = instance_id
        self._name = instance_id or f"notify-{secrets.token_hex(4)}"
        self.handled = 0
        self._done: dict[TopicPartition, int] = {}
        """Per partition, the offset after the last batch handled: where its lag starts."""

    async def run(self, stop: asyncio.Event) -> None:
        consumer: AIOKafkaConsumer | None = None
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap, **BACKOFF)
        tasks: list[asyncio.Task[None]] = []
        try:
            consumer = await self._start(stop, admin)
            if consumer is None:
                return
            print(f"notify worker consuming {self._topic} as group {self._group}", flush=True)
            tasks.append(asyncio.create_task(self._report(consumer)))
            if self._email is not None:
                tasks.append(asyncio.create_task(self._email.run(stop)))
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=POLL_MS, max_records=MAX_RECORDS)
                if batch and not stop.is_set():
                    try:
                        await self._handle(consumer, admin, batch, stop)
                    except _Stopping:
                        return
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if consumer is not None:
                await stop_client(consumer, "the notify consumer")
            with contextlib.suppress(Exception):
                await admin.close()
            for client in self._closing:
                with contextlib.suppress(Exception):
                    await client.close()
            logger.info("notify worker stopped after %d records", self.handled)

    async def _start(
        self, stop: asyncio.Event, admin: AIOKafkaAdminClient
    ) -> AIOKafkaConsumer | None:
        delay = RETRY_FIRST_SECONDS
        while not stop.is_set():
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                group_id=self._group,
                group_instance_id=self._instance_id,
                client_id="parley-notify",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                session_timeout_ms=SESSION_TIMEOUT_MS,
                heartbeat_interval_ms=SESSION_TIMEOUT_MS // 4,
                max_poll_interval_ms=30 * 60 * 1000,
                fetch_max_wait_ms=100,
                **BACKOFF,
            )
            try:
                await ensure_topic(self._bootstrap, self._topic, PARTITIONS)
                await admin.start()
                consumer.subscribe([self._topic], listener=_Announce(self._topic, self._done))
                await consumer.start()
                return consumer
            except (KafkaError, OSError) as exc:
                logger.warning("notify worker cannot start (%r); retrying", exc)
                await stop_client(consumer, "the notify consumer")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)
        return None

    async def _handle(
        self,
        consumer: AIOKafkaConsumer,
        admin: AIOKafkaAdminClient,
        batch: dict[TopicPartition, list[Any]],
        stop: asyncio.Event,
    ) -> None:
        wanted: list[tuple[TopicPartition, int, Key]] = []
        offsets: dict[TopicPartition, int] = {}
        for tp, items in batch.items():
            for item in items:
                try:
                    draft = decode_record(item.value).draft
                except ValueError:
                    continue  # the persister dead-letters it: nothing was stored
                if draft.kind == "message" and draft.client_id is not None:
                    wanted.append(
                        (tp, item.offset, (draft.room_id, draft.sender.id, draft.client_id))
                    )
            offsets[tp] = items[-1].offset + 1
        messages = await self._retrying(lambda: self._stored(admin, wanted, stop), stop)
        notified = await self._retrying(lambda: self._notifier.handle(messages), stop)
        self.metrics.messages.inc(len(messages))
        self.metrics.notifications.inc(notified)
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:
            logger.warning("offset commit failed, the batch will be replayed: %r", exc)
        self.handled += sum(len(items) for items in batch.values())
        self._done.update(offsets)
        self.metrics.lag.set(await self._lag(consumer))

    async def _lag(self, consumer: AIOKafkaConsumer) -> int:
        """Records of its partitions past the last batch handled, by the high watermarks of
        the last fetches (records fetched ahead but not handled count as behind)."""
        lag = 0
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is not None:
                done = self._done.get(tp)
                lag += max(0, highwater - (await consumer.position(tp) if done is None else done))
        return lag

    async def _stored(
        self,
        admin: AIOKafkaAdminClient,
        wanted: list[tuple[TopicPartition, int, Key]],
        stop: asyncio.Event,
    ) -> list[Message]:
        """The stored messages of ``wanted``, in log order, once the persister had them."""
        found: dict[Key, Message] = {}
        pending = wanted
        while pending:
            found.update(await self._store.stored_messages([k for _, _, k in pending]))
            pending = [w for w in pending if w[2] not in found]
            if not pending:
                break
            passed = await admin.list_consumer_group_offsets(self._persister_group)
            behind = [w for w in pending if w[0] in passed and passed[w[0]].offset > w[1]]
            if behind:
                # The persister commits its offsets after the store: a record it passed is
                # stored by now (maybe since the look-up above), or was refused.
                found.update(await self._store.stored_messages([k for _, _, k in behind]))
            pending = [
                (tp, offset, key)
                for tp, offset, key in pending
                if tp not in passed or passed[tp].offset <= offset
            ]
            if pending:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), WAIT_FOR_PERSISTER_SECONDS)
                    raise _Stopping
        return [found[k] for _, _, k in wanted if k in found]

    async def _retrying(self, work: Callable[[], Awaitable[R]], stop: asyncio.Event) -> R:
        delay = RETRY_FIRST_SECONDS
        while True:
            try:
                return await work()
            except (DeliveryFailed, StoreFailed, KafkaError, OSError) as exc:
                self.metrics.retries.inc()
                logger.warning("notifying failed, retrying the batch: %r", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
                raise _Stopping
            delay = min(delay * 2, RETRY_MAX_SECONDS)

    async def _report(self, consumer: AIOKafkaConsumer) -> None:
        """The worker's lag on /metrics (also set after each batch) and on the admin overview
        (the board's notifiers, a hash of their own in Redis)."""
        while True:
            try:
                lag = await self._lag(consumer)
                self.metrics.lag.set(lag)
                if self._board is not None:
                    figures = NotifierFigures(
                        worker=self._name,
                        lag=lag,
                        messages=total(self.metrics.messages),
                        notifications=total(self.metrics.notifications),
                        retries=total(self.metrics.retries),
                        at=time.time(),
                    )
                    await self._board.publish_notifier(figures, 3 * self._figures_interval)
            except Exception as exc:
                logger.warning("could not publish the notify worker's figures: %s", exc)
            await asyncio.sleep(self._figures_interval)


class _Announce(ConsumerRebalanceListener):  # type: ignore[misc]
    """Says on stdout which partitions this worker holds (tests and operators wait for it),
    and forgets where it stood in the partitions it gives up."""

    def __init__(self, topic: str, done: dict[TopicPartition, int]) -> None:
        self._topic = topic
        self._done = done

    async def on_partitions_revoked(self, revoked: Any) -> None:
        for tp in revoked:  # another worker may take it further: its lag restarts from there
            self._done.pop(tp, None)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        print(f"notify worker assigned {len(assigned)} partitions of {self._topic}", flush=True)
