"""``parley worker persist``: from the Kafka topic into PostgreSQL, then out over Redis.

One loop per worker, in a consumer group so several workers share the
partitions. Per batch of records:

1. one ``store.append_many`` transaction, records in partition order: a room
   lives in one partition, so its seqs follow the log's order, and the store's
   (room, sender, client_id) idempotency makes a replayed record keep its first
   id and seq instead of being stored twice;
2. publish each stored entry (message or room event) on its room channel
   (``MESSAGE``) and each record's outcome to the gateway waiting for it (``ACK``:
   the stored entry, the original one for a duplicate, or why it was refused);
3. commit the offsets, only now: a worker killed anywhere before this point
   leaves the batch to be replayed, which step 1 makes harmless. The commit
   runs beside the next batch (``_commit_later``) rather than before it: the
   order holds (a commit is only sent for batches stored and published), it
   just no longer adds a Kafka round trip to every batch's latency. Commits
   follow one another at most every ``COMMIT_INTERVAL_SECONDS``, the newest
   offsets merged into the next: at a few records per batch a commit per batch
   was as many Kafka requests (each a write to ``__consumer_offsets``) as the
   fetches, on a broker that shares the cores with every hop of the way.

When PostgreSQL is down (``StoreFailed``) the same batch is retried with
backoff and nothing is committed, so records wait in Kafka, in order. A record
the database refuses (``StoreRefused``) would be refused forever: the batch is
halved around it (``bisect.py``), the rest stored, and it goes to the
dead-letter topic (``deadletter.py``), as does a record that cannot be decoded;
its sender's ``ACK`` carries an ``invalid_input`` error. When Redis is down the messages
are stored anyway: gateways refetch from the store when their bus reconnects,
and a sender whose ``ACK`` was lost times out and retries with its client_id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from parley.bus.base import Bus
from parley.figures import Board, WorkerFigures
from parley.figures.base import total
from parley.log.base import REFUSED_MESSAGE
from parley.log.kafka.bisect import Isolated, append_isolating
from parley.log.kafka.deadletter import DeadLetters
from parley.log.kafka.records import Record, Unstorable, decode_record, encode_ack
from parley.log.kafka.topics import BACKOFF, ensure_topic, stop_client
from parley.log.publish import entry_envelope
from parley.metrics import PersisterMetrics
from parley.models import Draft, Message, RoomEvent
from parley.protocol import envelope
from parley.store import Outcome, Store, StoreRefused
from parley.tracing import HEADER, Span, SpanKind, Tracing

logger = logging.getLogger(__name__)

MAX_RECORDS = 500
"""Records per transaction: big enough to amortise the commit, small enough to stay snappy."""
POLL_MS = 200
PARTITIONS = 8
"""Partitions of a topic this worker has to create (production topics are made by ops)."""
SESSION_TIMEOUT_MS = 10_000
"""How long a killed worker holds its partitions before the group hands them on.

A worker with an ``instance_id`` restarted under that id takes them back at once."""
RETRY_FIRST_SECONDS = 0.1
RETRY_MAX_SECONDS = 2.0
PUBLISH_RETRY_DELAYS_SECONDS = (0.1, 0.3, 1.0)
COMMIT_INTERVAL_SECONDS = 0.5
"""Least time between two offset commits: what a killed worker may replay (idempotently)."""


class _Stopping(Exception):
    """Asked to stop while a batch waits for the store: it is left uncommitted."""


class Persister:
    def __init__(
        self,
        store: Store,
        bus: Bus,
        *,
        bootstrap: str,
        topic: str,
        group: str,
        dead_letter_topic: str,
        metrics: PersisterMetrics,
        instance_id: str | None = None,
        board: Board | None = None,
        figures_interval: float = 2.0,
        tracing: Tracing | None = None,
    ) -> None:
        """``store`` and ``bus`` come from the composition root (``app.persister``).

        ``instance_id`` makes the worker a static member of its group (KIP-345): a
        process restarted under the same id (a supervisor's restart after a crash or a
        deploy) is given its partitions back at once, where a new member would wait for
        the dead one's session timeout and a rebalance. A static member does not leave
        the group when it stops, so a worker stopped for good holds its partitions
        until the session timeout.
        """
        self._bootstrap = bootstrap
        self._topic = topic
        self._group = group
        self._instance_id = instance_id
        self._store = store
        self._bus = bus
        self.metrics = metrics
        self._dead_letters = DeadLetters(bootstrap, dead_letter_topic, metrics.dead_letters.inc)
        self.batches = 0
        self.stored = 0
        self._board = board
        self._figures_interval = figures_interval
        self._worker = instance_id or f"persister-{secrets.token_hex(4)}"
        self._tracing = tracing
        self._to_commit: dict[TopicPartition, int] = {}
        self._committing: asyncio.Task[None] | None = None
        self._flush = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; a batch in progress is finished or left uncommitted."""
        consumer: AIOKafkaConsumer | None = None
        try:
            await self._ensure_topic(stop)
            consumer = await self._start_consumer(stop)
            if consumer is None:
                return
            logger.info(
                "persister consuming %s as group %s from %s",
                self._topic,
                self._group,
                self._bootstrap,
            )
            reporting = asyncio.create_task(self._report(consumer))
            try:
                while not stop.is_set():
                    batch = await consumer.getmany(timeout_ms=POLL_MS, max_records=MAX_RECORDS)
                    if batch and not stop.is_set():
                        await self._handle(consumer, batch, stop)
            finally:
                reporting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reporting
                self._flush.set()
                if self._committing is not None:
                    await self._committing
        finally:
            if consumer is not None:
                await stop_client(consumer, "the consumer")
            await self._dead_letters.close()
            await self._bus.close()
            if self._board is not None:
                await self._board.close()
            await self._store.close()
            if self._tracing is not None:
                await self._tracing.close()
            logger.info("persister stopped: %d batches, %d messages", self.batches, self.stored)

    async def _report(self, consumer: AIOKafkaConsumer) -> None:
        """Publish this worker's lag and dead letters for the admin overview, every interval.

        Lag is what its partitions hold past its position, from the high watermarks the
        last fetches reported (a partition not fetched yet counts nothing).
        """
        if self._board is None:
            return
        while True:
            try:
                lag = 0
                for tp in consumer.assignment():
                    highwater = consumer.highwater(tp)
                    if highwater is not None:
                        lag += max(0, highwater - await consumer.position(tp))
                figures = WorkerFigures(
                    worker=self._worker,
                    lag=lag,
                    dead_letters=total(self.metrics.dead_letters),
                    store_retries=total(self.metrics.store_retries),
                    at=time.time(),
                )
                await self._board.publish_worker(figures, 3 * self._figures_interval)
            except Exception as exc:
                logger.warning("could not publish the persister's figures: %s", exc)
            await asyncio.sleep(self._figures_interval)

    async def _handle(
        self,
        consumer: AIOKafkaConsumer,
        batch: dict[TopicPartition, list[Any]],
        stop: asyncio.Event,
    ) -> None:
        polled_ns = time.time_ns()
        consumed = self.metrics.hops.consume
        records: list[Record] = []
        sources: list[Any] = []
        dead: list[tuple[Any, str]] = []
        offsets: dict[TopicPartition, int] = {}
        for tp, items in batch.items():
            for item in items:
                consumed(max(0.0, polled_ns / 1e9 - item.timestamp / 1000))
                try:
                    records.append(decode_record(item.value))
                    sources.append(item)
                except ValueError as exc:
                    dead.append((item, str(exc)))
            offsets[tp] = items[-1].offset + 1
        spans = self._consume_spans(sources, polled_ns)
        try:
            stored_from = time.time_ns()
            outcomes = await append_isolating(
                partial(self._append, stop=stop), [r.draft for r in records]
            )
        except _Stopping:
            self._end(spans)
            return  # stopping while the store is down: leave the batch to the next worker
        self._trace_store(spans, stored_from)
        dead += [
            (item, str(outcome))
            for item, outcome in zip(sources, outcomes, strict=True)
            if isinstance(outcome, StoreRefused)
        ]
        if dead and not await self._dead_letters.send(dead, stop):
            self._end(spans)
            return  # stopping while Kafka is down: the batch is replayed, dead letters too
        await self._announce(records, outcomes, spans)
        self._end(spans)
        self._commit_later(consumer, offsets)
        self.batches += 1
        self.stored += sum(1 for m in outcomes if isinstance(m, Message | RoomEvent))

    def _commit_later(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        """Commit ``offsets`` (of a batch stored and published) without waiting for Kafka.

        One commit at a time, at most one per ``COMMIT_INTERVAL_SECONDS``: offsets
        that come while one is on its way or waiting are merged (newest wins per
        partition) into the next. A worker that dies before a commit lands replays
        from the previous one, as it would have dying a moment earlier.
        """
        self._to_commit.update(offsets)
        if self._committing is None or self._committing.done():
            self._committing = asyncio.create_task(self._commit(consumer))

    async def _commit(self, consumer: AIOKafkaConsumer) -> None:
        """Commit what is pending, then wait out the interval (cut short when stopping)."""
        while self._to_commit:
            offsets, self._to_commit = self._to_commit, {}
            try:
                await consumer.commit(offsets)
            except KafkaError as exc:
                # The partitions moved to another worker, which replays the batch idempotently.
                logger.warning("offset commit failed, the batch will be replayed: %r", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush.wait(), COMMIT_INTERVAL_SECONDS)

    # tracing: a ``consume`` span per traced record, ``store`` and ``publish`` under it

    def _consume_spans(self, sources: Sequence[Any], polled_ns: int) -> list[Span | None] | None:
        """The ``consume`` span of each record whose header carries a trace; None untraced."""
        tracing = self._tracing
        if tracing is None:
            return None
        spans: list[Span | None] = []
        for item in sources:
            parent = next((value for key, value in item.headers or () if key == HEADER), None)
            spans.append(
                None
                if parent is None
                else tracing.start(
                    "consume",
                    parent=parent.decode("ascii", "replace"),
                    kind=SpanKind.CONSUMER,
                    start_ns=polled_ns,
                )
            )
        return spans

    def _trace_store(self, spans: list[Span | None] | None, started_ns: int) -> None:
        """The batch's transaction as a ``store`` span under each traced record's ``consume``."""
        if spans is None or self._tracing is None:
            return
        now = time.time_ns()
        for span in spans:
            if span is not None:
                self._tracing.start("store", parent=span, start_ns=started_ns).end(now)

    @staticmethod
    def _end(spans: list[Span | None] | None) -> None:
        for span in spans or ():
            if span is not None:
                span.end()

    async def _append(self, drafts: Sequence[Draft], stop: asyncio.Event) -> list[Outcome]:
        """Store with retries while the store is unreachable; a refusal goes to the caller.

        Raises ``_Stopping`` when asked to stop first.
        """
        if not drafts:
            return []
        delay = RETRY_FIRST_SECONDS
        failures = 0
        while True:
            try:
                started = time.perf_counter()
                stored = await self._store.append_many(drafts)
                self.metrics.hops.store(time.perf_counter() - started)
            except StoreRefused:
                raise
            except Exception as exc:
                failures += 1
                self.metrics.store_retries.inc()
                if failures == 1:
                    logger.warning("storing %d messages failed, retrying: %r", len(drafts), exc)
                elif failures % 20 == 0:
                    logger.warning("still cannot store (%d attempts): %r", failures, exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                    raise _Stopping from None
                delay = min(delay * 2, RETRY_MAX_SECONDS)
                continue
            if failures:
                logger.warning("stored %d waiting messages after %d retries", len(drafts), failures)
            return stored

    async def _announce(
        self,
        records: Sequence[Record],
        outcomes: Sequence[Isolated],
        spans: Sequence[Span | None] | None = None,
    ) -> None:
        """Entries on their rooms first, then each outcome to the gateway that waits for it.

        A room event record is applied like a message one (``append_many``
        stores it and changes its target) and published the same way. A traced
        record's entry carries its ``publish`` span's context to the gateways.
        """
        out: list[tuple[str, bytes]] = []
        seen: set[tuple[int, int]] = set()
        published: list[Span] = []
        for i, entry in enumerate(outcomes):
            if isinstance(entry, Message | RoomEvent) and (entry.room_id, entry.seq) not in seen:
                seen.add((entry.room_id, entry.seq))
                traceparent = None
                parent = None if spans is None else spans[i]
                if parent is not None and self._tracing is not None:
                    span = self._tracing.start("publish", parent=parent, kind=SpanKind.PRODUCER)
                    published.append(span)
                    traceparent = self._tracing.traceparent(span)
                out.append(
                    (envelope.room_channel(entry.room_id), entry_envelope(entry, traceparent))
                )
        for record, outcome in zip(records, outcomes, strict=True):
            answer = Unstorable(REFUSED_MESSAGE) if isinstance(outcome, StoreRefused) else outcome
            try:
                ack = encode_ack(record.draft, answer)
            except (TypeError, ValueError) as exc:  # a number JSON cannot carry: nobody waits
                logger.warning("cannot answer a refused record: %r", exc)
                continue
            out.append((envelope.gateway_channel(record.gateway), ack))
        try:
            await self._publish(out)
        finally:
            for span in published:
                span.end()

    async def _publish(self, out: list[tuple[str, bytes]]) -> None:
        for attempt, delay in enumerate((*PUBLISH_RETRY_DELAYS_SECONDS, None)):
            try:
                await self._bus.publish_many(out)
                return
            except Exception as exc:
                if delay is None:
                    # Stored all the same: gateways refetch on reconnect, senders retry.
                    logger.warning(
                        "could not publish %d events after %d attempts: %r",
                        len(out),
                        attempt + 1,
                        exc,
                    )
                    return
            await asyncio.sleep(delay)

    async def _ensure_topic(self, stop: asyncio.Event) -> None:
        """Create the topic when missing, so a fresh setup needs no extra step."""
        delay = RETRY_FIRST_SECONDS
        while not stop.is_set():
            try:
                await ensure_topic(self._bootstrap, self._topic, PARTITIONS)
                return
            except (KafkaError, OSError) as exc:
                logger.warning("Kafka unavailable (%r); retrying", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)

    async def _start_consumer(self, stop: asyncio.Event) -> AIOKafkaConsumer | None:
        delay = RETRY_FIRST_SECONDS
        while not stop.is_set():
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                group_id=self._group,
                group_instance_id=self._instance_id,
                client_id="parley-persister",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                session_timeout_ms=SESSION_TIMEOUT_MS,
                heartbeat_interval_ms=SESSION_TIMEOUT_MS // 4,
                max_poll_interval_ms=30 * 60 * 1000,
                # The broker answers a fetch as soon as one record is there; the wait
                # only bounds an empty poll (docs/reliability.md, durability settings).
                fetch_min_bytes=1,
                fetch_max_wait_ms=100,
                **BACKOFF,
            )
            consumer.subscribe([self._topic], listener=_Announce(self._topic))
            try:
                await consumer.start()
                return consumer
            except (KafkaError, OSError) as exc:
                logger.warning("cannot join the consumer group (%r); retrying", exc)
                await stop_client(consumer, "the consumer")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)
        return None


class _Announce(ConsumerRebalanceListener):  # type: ignore[misc]
    """Says on stdout which partitions this worker holds (tests and operators wait for it)."""

    def __init__(self, topic: str) -> None:
        self._topic = topic

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        print(f"persister assigned {len(assigned)} partitions of {self._topic}", flush=True)
