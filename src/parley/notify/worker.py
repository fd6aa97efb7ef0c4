"""The notifier: stored messages in, decisions made, each channel delivered once.

The same ``Notifier`` runs in ``parley worker notify`` (``notify/kafka.py``: a consumer
group of its own on the message log) and in-process in the embedded default
(``InProcessNotifier``: fed by the direct log after each store). ``handle`` returns only
once every notification of its messages is recorded by its channel (the in-app inbox row,
the e-mail ledger), so the Kafka worker commits offsets after it: a crash before that
replays the batch and the ledgers turn the replay into nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Protocol

from parley.figures import NotifierFigures
from parley.models import Entry, Message
from parley.notify.base import Channel, DeliveryFailed, Notification
from parley.notify.decide import Level, RoomFacts, decide
from parley.notify.email import EmailChannel
from parley.notify.focus import Focus
from parley.notify.store import NotificationStore

logger = logging.getLogger(__name__)

QUEUE_LIMIT = 10_000
"""Messages the in-process notifier holds before it drops (and logs) the oldest news."""


class Notifier:
    def __init__(self, store: NotificationStore, focus: Focus, channels: Sequence[Channel]) -> None:
        self._store = store
        self._focus = focus
        self._channels = list(channels)
        self._group_rooms: set[int] = set()
        """Rooms known to be groups: a message there without mentions notifies nobody,
        and is skipped without a query (the common case at the ingest rate)."""
        self.messages = 0
        """Stored messages decided on, counted once their batch is done (not per retry)."""
        self.sent = 0
        """Notifications decided, counted as ``messages``."""

    async def handle(self, entries: Sequence[Entry]) -> int:
        """Decide and deliver for each stored message; room events notify nobody. Returns
        the number of notifications of ``entries``.

        Raises ``DeliveryFailed`` (retry) when a channel cannot deliver now: the caller
        retries the same messages, and what was delivered already is skipped by the
        channels' ledgers.
        """
        messages = notified = 0
        for entry in entries:
            if isinstance(entry, Message):
                messages += 1
                for notification in await self.decide(entry):
                    await self._deliver(notification)
                    notified += 1
        self.messages += messages
        self.sent += notified
        return notified

    async def decide(self, message: Message) -> list[Notification]:
        if not message.mentions and message.room_id in self._group_rooms:
            return []
        room = await self._store.room(message.room_id, message.sender.id)
        if room is None:
            return []  # the sender left or the room is gone since: nobody to tell
        if room.kind == "group":
            self._group_rooms.add(room.id)
        facts = RoomFacts(room.kind, room.name, frozenset(m.id for m in room.members))
        candidates = [u for u in facts.members if u != message.sender.id]
        levels = {
            user: Level(level)
            for user, level in (await self._store.room_levels(room.id, candidates)).items()
        }
        try:
            watching = await self._focus.watching(room.id, candidates)
        except Exception as exc:  # focus is a hint: telling too many beats telling none
            logger.warning("focus unavailable, notifying regardless: %r", exc)
            watching = set()
        return decide(message, facts, levels, watching)

    async def _deliver(self, notification: Notification) -> None:
        for channel in self._channels:
            try:
                await channel.deliver(notification)
            except DeliveryFailed as exc:
                if exc.retry:
                    raise
                logger.warning(
                    "%s: cannot deliver %s: %s",
                    channel.name,
                    notification.key(channel.name),
                    exc,
                )


class Closable(Protocol):
    async def close(self) -> None: ...


class InProcessNotifier:
    """The embedded default: the direct log offers each stored entry; one task notifies.

    Sends never wait for notifications. A channel that fails for a moment is retried
    with backoff; entries still queued when the process stops are not notified (the
    cluster's worker, reading Kafka, has no such gap: docs/reliability.md).
    """

    RETRY_SECONDS = (0.5, 2.0, 5.0)

    def __init__(
        self,
        notifier: Notifier,
        digests: EmailChannel | None = None,
        *,
        closing: Sequence[Closable] = (),
    ) -> None:
        """``digests``: the e-mail channel whose digest loop runs beside the notifier;
        ``closing``: channels holding clients (Web Push's HTTP session), closed at the end."""
        self.notifier = notifier
        self._digests = digests
        self._closing = closing
        self._queue: asyncio.Queue[Entry] = asyncio.Queue(QUEUE_LIMIT)
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self.retries = 0
        self.lag = 0
        """Stored messages offered and not decided on yet (the one in hand included)."""

    @property
    def messages(self) -> int:
        return self.notifier.messages

    @property
    def notifications(self) -> int:
        return self.notifier.sent

    def figures(self, worker: str) -> NotifierFigures:
        """Its figures for the admin overview, as ``parley worker notify`` publishes them."""
        return NotifierFigures(
            worker=worker,
            lag=self.lag,
            messages=self.messages,
            notifications=self.notifications,
            retries=self.retries,
            at=time.time(),
        )

    def offer(self, entry: Entry) -> None:
        if not isinstance(entry, Message):
            return
        if self._queue.full():
            logger.warning("notifier queue full: dropping room %s seq %s", entry.room_id, entry.seq)
            return
        self._queue.put_nowait(entry)
        self.lag += 1

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._run()))
        if self._digests is not None:
            self._tasks.append(asyncio.create_task(self._digests.run_digests(self._stop)))

    async def close(self) -> None:
        self._stop.set()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for client in self._closing:
            await client.close()

    async def idle(self) -> None:
        """Wait until every offered entry is handled (tests)."""
        await self._queue.join()

    async def _run(self) -> None:
        while True:
            entry = await self._queue.get()
            try:
                await self._handle(entry)
            finally:
                self.lag -= 1
                self._queue.task_done()

    async def _handle(self, entry: Entry) -> None:
        for delay in (*self.RETRY_SECONDS, None):
            try:
                await self.notifier.handle([entry])
                return
            except Exception as exc:
                if delay is None:
                    logger.error(
                        "could not notify of room %s seq %s: %r", entry.room_id, entry.seq, exc
                    )
                    return
                logger.warning("notifying failed, retrying: %r", exc)
            self.retries += 1
            await asyncio.sleep(delay)
