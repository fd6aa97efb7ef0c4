"""The cluster log: a send is produced to Kafka and acked when the persister stored it.

Path of one message: the gateway checks membership (so a non-member hears
``not_found`` at once), produces the draft to the topic keyed by room (so one
room's messages stay in one partition, in send order), then waits for the
persister's ``ACK`` envelope on ``gateway.<this gateway>``. That envelope carries
the stored message, so the ack a client gets is exactly what history returns.
``submit`` returns as soon as the record is in its partition's batch, so one
connection can have many sends on their way through Kafka and the persister.
Records submitted in one event-loop turn are built into one batch per
partition and handed to the producer together (``send_batch``): per record
that costs an append to a buffer instead of the producer's whole ``send``
path, which was over a quarter of the gateway's CPU per message.

Failure is loud, never silent:

* Kafka does not take the record within ``send_timeout`` of its batch reaching the
  producer → ``Unavailable`` (checked every ``EXPIRY_TICK_SECONDS``). The clock starts
  at the hand-over, not at the submit: under a burst records queue in this gateway
  (``_send_batches`` hands one batch at a time, and aiokafka holds each until the
  partition's previous batch has gone), and that wait is bounded by
  ``MAX_UNSENT_RECORDS`` and the ack timeout; counted as Kafka's, it opened the
  breaker on a healthy Kafka and refused thousands of sends. A breaker opens so
  further sends fail immediately (rather than each waiting out the timeout) until a
  metadata probe reaches Kafka again. With an
  idempotent producer a record that did enter the producer's buffer is retried
  until Kafka takes it, so such a send may still be stored later; a retry with
  the same client_id then finds it instead of storing it twice.
* the ack does not come within ``PARLEY_ACK_TIMEOUT`` (PostgreSQL down, Redis
  down, persister down) → ``Unavailable``. The record is in Kafka and will be
  stored in order; the client's retry with the same client_id is acked with it.

A send without a client_id (an HTTP POST may omit it) gets a generated one, so
that a record replayed after a persister crash is still recognised as stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    KafkaError,
    OutOfOrderSequenceNumber,
    ProducerFenced,
    UnknownProducerId,
)
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder

from parley.bus.base import Handler
from parley.hops import Hops
from parley.log.base import Refused, Unavailable
from parley.log.kafka.records import Unstorable, decode_ack, encode_record
from parley.log.kafka.topics import BACKOFF, stop_client
from parley.models import Draft, Entry
from parley.protocol import envelope
from parley.store import Refusal, Store
from parley.store.base import NotMember, refusal_error
from parley.tracing import HEADER, Span, SpanKind, Tracing, end

logger = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 2.0
"""How long Kafka may take to acknowledge a record before the send is refused."""
START_TIMEOUT_SECONDS = 10.0
PROBE_TIMEOUT_SECONDS = 1.5
PROBE_BACKOFF_MAX_SECONDS = 2.0
MEMBER_CACHE_TTL_SECONDS = 30.0
"""Membership answers reused without asking the store (the persister checks again)."""
MEMBER_CACHE_SIZE = 50_000
GENERATED_ID_PREFIX = "~"

EXPIRY_TICK_SECONDS = 0.1
"""How often deadlines are checked: a timeout fires up to this much late."""
MAX_UNSENT_RECORDS = 20_000
"""Records built but not yet handed to the producer; past it Kafka is not keeping up."""
PARTITION_CACHE_SIZE = 100_000

AckKey = tuple[int, int, str]

FATAL_PRODUCER_ERRORS = (
    OutOfOrderSequenceNumber,
    UnknownProducerId,
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    ProducerFenced,
)
"""Errors after which an idempotent producer never works again (its sequence numbers or
its producer id no longer match the broker's, as after a broker restart under load): it
is replaced by a fresh one, with a new producer id."""


@dataclass(slots=True, eq=False)
class _InFlight:
    """A record produced by this gateway whose ack has not come back yet."""

    key: AckKey
    result: asyncio.Future[Entry | None]
    started: float
    delivered: bool = False
    """Kafka confirmed it has the record."""
    handed: float | None = None
    """When its batch went to the producer: Kafka's ``send_timeout`` runs from here, not
    from ``started``, since the wait in this gateway's own queue is not Kafka's fault."""
    span: Span | None = None
    """The ``produce`` span, when traced: it ends when Kafka has the record."""


@dataclass(slots=True, eq=False)
class _Batch:
    """Records for one partition, built in submission order and produced as one."""

    partition: int
    builder: BatchBuilder
    entries: list[_InFlight]


class AckChannel(Protocol):
    """The part of the Redis bus the log needs: a channel with a handler of its own."""

    async def listen(self, channel: str, handler: Handler) -> None: ...


def generated_client_id() -> str:
    return GENERATED_ID_PREFIX + secrets.token_urlsafe(12)


class KafkaLog:
    def __init__(
        self,
        *,
        bootstrap: str,
        topic: str,
        gateway_id: str,
        ack_timeout: float,
        store: Store,
        acks: AckChannel,
        send_timeout: float = SEND_TIMEOUT_SECONDS,
        hops: Hops | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._hops = hops or Hops()
        self._tracing = tracing
        self._bootstrap = bootstrap
        self._topic = topic
        self._gateway = gateway_id
        self._ack_timeout = ack_timeout
        self._send_timeout = min(send_timeout, ack_timeout)
        self._store = store
        self._acks = acks
        self._producer: AIOKafkaProducer | None = None
        self._down: str | None = "not started"
        """Why sends are refused right now; None while Kafka takes records."""
        self._recovery: asyncio.Task[None] | None = None
        self._broken: AIOKafkaProducer | None = None
        """A producer that met a fatal error: ``_recover`` replaces it."""
        self._waiters: dict[AckKey, list[_InFlight]] = {}
        self._in_flight: deque[_InFlight] = deque()
        """Oldest first, so the deadlines run out front to back."""
        self._expiry: asyncio.Task[None] | None = None
        self._members: dict[tuple[int, int], float] = {}
        self._partitions: list[int] | None = None
        self._partition_of: dict[int, int] = {}
        """Room -> partition, the producer's murmur2 of the room id computed once."""
        self._open: dict[int, _Batch] = {}
        """The batch each partition is filling during this loop turn."""
        self._unsent: deque[_Batch] = deque()
        self._unsent_records = 0
        self._sealing = False
        self._wake = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._acks.listen(envelope.gateway_channel(self._gateway), self._on_ack)
        self._expiry = asyncio.ensure_future(self._expire())
        self._sender = asyncio.ensure_future(self._send_batches())
        try:
            async with asyncio.timeout(START_TIMEOUT_SECONDS):
                self._producer = await self._connect()
            self._down = None
        except (KafkaError, OSError, TimeoutError) as exc:
            logger.warning("Kafka unavailable at start (%s); sends are refused until it is", exc)
            self._trip(f"Kafka unavailable: {exc}")

    async def close(self) -> None:
        for task in (self._recovery, self._expiry, self._sender):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        while self._in_flight:
            self._settle(self._in_flight.popleft(), Unavailable("the gateway is shutting down"))
        broken, self._broken = self._broken, None
        if broken is not None:
            await stop_client(broken, "the broken producer", 5)
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                async with asyncio.timeout(5):
                    await producer.stop()
            except (KafkaError, OSError, TimeoutError) as exc:
                logger.warning("Kafka producer did not stop cleanly: %s", exc)

    async def submit(
        self, draft: Draft, *, seen_member: bool = False
    ) -> asyncio.Future[Entry | None]:
        if not seen_member:
            await self._check_member(draft)
        producer = self._producer
        if producer is None or self._down is not None:
            raise Unavailable(self._down or "Kafka unavailable")
        if self._unsent_records >= MAX_UNSENT_RECORDS:
            raise Unavailable("the message log (Kafka) is not keeping up; retry shortly")
        partition = await self._partition(producer, draft.room_id)
        client_id = draft.client_id or generated_client_id()
        loop = asyncio.get_running_loop()
        entry = _InFlight(
            (draft.room_id, draft.sender.id, client_id), loop.create_future(), loop.time()
        )
        headers: list[tuple[str, bytes]] = []
        tracing = self._tracing
        if tracing is not None:
            entry.span = tracing.start("produce", kind=SpanKind.PRODUCER)
            traceparent = tracing.traceparent(entry.span)
            if traceparent is not None:
                headers.append((HEADER, traceparent.encode()))
        self._add(
            producer,
            partition,
            str(draft.room_id).encode(),
            encode_record(draft, client_id, self._gateway),
            entry,
            headers,
        )
        # The record is in its partition's batch: its order is fixed.
        self._waiters.setdefault(entry.key, []).append(entry)
        self._in_flight.append(entry)
        return entry.result

    async def _partition(self, producer: AIOKafkaProducer, room_id: int) -> int:
        """The partition of a room's records, as the producer's default partitioner picks it."""
        found = self._partition_of.get(room_id)
        if found is not None:
            return found
        if self._partitions is None:
            try:
                self._partitions = sorted(await producer.partitions_for(self._topic))
            except KafkaError as exc:
                raise self._refused(exc) from exc
        if len(self._partition_of) >= PARTITION_CACHE_SIZE:
            self._partition_of.clear()
        found = self._partition_of[room_id] = int(
            DefaultPartitioner()(str(room_id).encode(), self._partitions, self._partitions)
        )
        return found

    def _add(
        self,
        producer: AIOKafkaProducer,
        partition: int,
        key: bytes,
        value: bytes,
        entry: _InFlight,
        headers: list[tuple[str, bytes]],
    ) -> None:
        """Append to the partition's open batch; open batches go out at the end of this turn."""
        batch = self._open.get(partition)
        if batch is not None and batch.builder.append(
            timestamp=None, key=key, value=value, headers=headers
        ):
            batch.entries.append(entry)
        else:
            if batch is not None:  # full: it goes first, the new one after it
                self._unsent.append(batch)
            batch = _Batch(partition, producer.create_batch(), [entry])
            if not batch.builder.append(timestamp=None, key=key, value=value, headers=headers):
                raise Unavailable("the message is too large for the message log")
            self._open[partition] = batch
        self._unsent_records += 1
        if not self._sealing:
            self._sealing = True
            asyncio.get_running_loop().call_soon(self._seal)

    def _seal(self) -> None:
        self._sealing = False
        self._unsent.extend(self._open.values())
        self._open.clear()
        self._wake.set()

    async def _send_batches(self) -> None:
        """Hand batches to the producer one at a time, so each partition keeps its order."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._unsent:
                batch = self._unsent.popleft()
                self._unsent_records -= len(batch.entries)
                producer = self._producer
                if producer is None or self._down is not None:
                    for entry in batch.entries:
                        self._settle(entry, Unavailable(self._down or "Kafka unavailable"))
                    continue
                try:
                    delivery = await producer.send_batch(
                        batch.builder, self._topic, partition=batch.partition
                    )
                except Exception as exc:
                    self._check_fatal(exc, producer)
                    failed = self._failed(exc, producer)
                    for entry in batch.entries:
                        self._settle(entry, failed)
                    continue
                handed = asyncio.get_running_loop().time()
                for entry in batch.entries:
                    entry.handed = handed
                delivery.add_done_callback(
                    lambda report, entries=batch.entries, producer=producer: self._delivered(
                        entries, report, producer
                    )
                )

    def _delivered(
        self,
        entries: list[_InFlight],
        report: asyncio.Future[object],
        producer: AIOKafkaProducer,
    ) -> None:
        exc = report.exception() if not report.cancelled() else KafkaError("cancelled")
        if exc is None:
            now = asyncio.get_running_loop().time()
            produced = self._hops.produce
            for entry in entries:
                entry.delivered = True
                produced(now - entry.started)
                if entry.span is not None:
                    entry.span.end()
                    entry.span = None
            return
        self._check_fatal(exc, producer)
        failed = self._failed(exc, producer)
        for entry in entries:
            self._settle(entry, failed)

    def _check_fatal(self, exc: BaseException, producer: AIOKafkaProducer) -> None:
        """Set a producer that met a fatal error aside, for ``_recover`` to replace.

        Only the current one: the failures of a producer already replaced must not
        condemn its successor. Its records not yet acknowledged fail
        (``unavailable``); their senders retry with the same client_id, which finds
        any that Kafka did keep.
        """
        if isinstance(exc, FATAL_PRODUCER_ERRORS) and producer is self._producer:
            self._broken, self._producer = producer, None

    def _failed(self, exc: BaseException, producer: AIOKafkaProducer) -> Unavailable:
        """What the senders of a batch hear when producing it failed."""
        if producer is not self._producer and producer is not self._broken:
            # A producer already replaced: its failures say nothing about Kafka now.
            return Unavailable("the message log (Kafka) is unavailable")
        if isinstance(exc, KafkaError):
            return self._refused(exc)
        logger.error("producing a batch failed: %r", exc)
        return Unavailable(f"the message log (Kafka) failed: {exc!r}")

    def _settle(self, entry: _InFlight, outcome: Entry | Exception | None) -> None:
        """Resolve a send once: the first of ack, delivery failure or deadline wins."""
        self._forget(entry)
        if entry.span is not None:
            end(entry.span, outcome if isinstance(outcome, Exception) else None)
            entry.span = None
        if entry.result.done():
            return
        if isinstance(outcome, BaseException):
            entry.result.set_exception(outcome)
        else:
            entry.result.set_result(outcome)
        # Nobody may await a send whose connection went away; mark the outcome seen.
        entry.result.exception()

    def _forget(self, entry: _InFlight) -> None:
        waiters = self._waiters.get(entry.key)
        if waiters is not None:
            with contextlib.suppress(ValueError):
                waiters.remove(entry)
            if not waiters:
                del self._waiters[entry.key]

    async def _expire(self) -> None:
        """One timer for all sends: fail those whose delivery or ack is overdue."""
        loop = asyncio.get_running_loop()
        pending = self._in_flight
        while True:
            await asyncio.sleep(EXPIRY_TICK_SECONDS)
            now = loop.time()
            while pending and (
                pending[0].result.done() or pending[0].started + self._ack_timeout <= now
            ):
                self._settle(
                    pending.popleft(),
                    Unavailable(
                        "the message was not confirmed in time; retry with the same client_id"
                    ),
                )
            for entry in pending:
                if entry.started + self._send_timeout > now:
                    break
                if (
                    entry.handed is not None
                    and entry.handed + self._send_timeout <= now
                    and not entry.delivered
                    and not entry.result.done()
                ):
                    self._settle(entry, self._refused(TimeoutError()))

    async def ping(self) -> None:
        producer = self._producer
        if producer is None or self._down is not None:
            raise Unavailable(self._down or "Kafka unavailable")
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
                await producer.client.fetch_all_metadata()
        except (KafkaError, OSError, TimeoutError) as exc:
            raise Unavailable(f"Kafka unreachable: {exc!r}") from exc

    # sending

    async def _check_member(self, draft: Draft) -> None:
        """Refuse non-members before producing; tolerate a store outage for known members.

        Known members may keep sending while PostgreSQL is down: their records
        wait in Kafka and are stored when it is back, which is the point of
        having a log in front of the database.
        """
        key = (draft.room_id, draft.sender.id)
        seen = self._members.get(key)
        now = time.monotonic()
        if seen is not None and now - seen < MEMBER_CACHE_TTL_SECONDS:
            return
        try:
            member = await self._store.is_member(draft.room_id, draft.sender.id)
        except Exception as exc:
            if seen is not None:
                return
            logger.debug("store unavailable, send refused: %s", exc)  # /readyz logs the outage
            raise Unavailable("the message store is unavailable") from exc
        if not member:
            self._members.pop(key, None)
            raise NotMember
        self._members.pop(key, None)
        self._members[key] = now
        if len(self._members) > MEMBER_CACHE_SIZE:
            del self._members[next(iter(self._members))]

    def _refused(self, exc: TimeoutError | KafkaError) -> Unavailable:
        """Open the breaker: one slow or failed record means Kafka cannot take more now."""
        if isinstance(exc, TimeoutError):
            self._trip(f"Kafka did not take a message within {self._send_timeout:g}s")
        else:
            self._trip(f"Kafka refused a message: {exc!r}")
        return Unavailable("the message log (Kafka) is unavailable")

    def _on_ack(self, channel: str, payload: bytes) -> None:
        try:
            env = envelope.read(payload)
            if not isinstance(env, envelope.Ack):
                return
            client_id, outcome = decode_ack(env.payload)
        except ValueError as exc:
            logger.warning("dropping malformed ack on %s: %s", channel, exc)
            return
        settled: Entry | Exception | None
        if isinstance(outcome, Refusal):
            settled = refusal_error(outcome)
            if outcome is Refusal.NOT_MEMBER:
                self._members.pop((env.room, env.sender), None)
        elif isinstance(outcome, Unstorable):
            settled = Refused(outcome.message)
        else:
            settled = outcome
        for entry in list(self._waiters.get((env.room, env.sender, client_id), ())):
            self._settle(entry, settled)

    # the breaker

    def _trip(self, reason: str) -> None:
        if self._down is None or self._down == "not started":
            logger.warning("refusing sends: %s", reason)
        self._down = reason
        self._partitions = None  # the topic may have changed: ask again once back
        self._partition_of.clear()
        if self._recovery is None or self._recovery.done():
            self._recovery = asyncio.ensure_future(self._recover())

    async def _recover(self) -> None:
        """Probe until Kafka answers, then let sends through again.

        The probes are bounded with ``asyncio.timeout``, not ``wait_for``: on
        Python 3.11 ``wait_for`` loses a cancellation that arrives as the probe
        it waits for has just failed (a refused connection fails at once), so
        ``close()`` cancelling this loop while Kafka was down waited forever.
        """
        delay = 0.1
        while True:
            broken, self._broken = self._broken, None
            if broken is not None:
                logger.warning("replacing the Kafka producer after a fatal error")
                await stop_client(broken, "the broken producer", PROBE_TIMEOUT_SECONDS)
            try:
                if self._producer is None:
                    async with asyncio.timeout(START_TIMEOUT_SECONDS):
                        self._producer = await self._connect()
                else:
                    async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
                        await self._producer.client.fetch_all_metadata()
            except (KafkaError, OSError, TimeoutError) as exc:
                logger.debug("Kafka still unavailable: %r", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, PROBE_BACKOFF_MAX_SECONDS)
                continue
            logger.warning("Kafka reachable again; accepting sends")
            self._down = None
            return

    async def _connect(self) -> AIOKafkaProducer:
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id=f"parley-gateway-{self._gateway}",
            acks="all",
            enable_idempotence=True,
            linger_ms=0,  # batches are built per loop turn (_seal): lingering only delays
            max_batch_size=64 * 1024,
            request_timeout_ms=int(self._send_timeout * 1000),
            **BACKOFF,
        )
        try:
            await producer.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await producer.stop()
            raise
        return producer
