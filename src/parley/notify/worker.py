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

STORE_CONNECTIONS = 8
"""The worker's store pool: its queries run one after the other per batch, so a few
connections are plenty."""
BATCH = 500
"""Messages the in-process notifier decides on together at most (as a Kafka poll)."""
QUEUE_LIMIT = 10_000
"""Messages the in-process notifier holds before it drops (and logs) the oldest news."""
LINGER_SECONDS = 0.05
"""How long the in-process notifier gathers messages after the first of a batch. A batch
costs the same few store round trips (members, levels, the inbox insert, push
subscriptions) whatever its size, and at a chat's pace without a wait every batch was
one message: that was a sixth of the gateway's CPU. Notifications are a hint beside
the live message, so 50 ms later is not seen."""


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

        The messages are decided on together (a query for their rooms, one for the levels,
        a focus look-up per room), then each channel delivers all their notifications at
        once (``Channel.deliver_many``: each user's in log order): the work is round trips
        to the store, Redis and the SMTP server, and one notification after the other
        would wait for each in turn.

        Raises ``DeliveryFailed`` (retry) when a channel cannot deliver now: the caller
        retries the same messages, and what was delivered already is skipped by the
        channels' ledgers.
        """
        messages = [e for e in entries if isinstance(e, Message)]
        notifications = await self.decide(messages)
        if notifications:
            for channel in self._channels:
                await self._deliver(channel, notifications)
        self.messages += len(messages)
        self.sent += len(notifications)
        return len(notifications)

    async def decide(self, messages: Sequence[Message]) -> list[Notification]:
        """The notifications of ``messages``, in their order."""
        wanted = [
            m
            for m in messages
            if not m.deleted and (m.mentions or m.room_id not in self._group_rooms)
        ]
        if not wanted:
            return []
        rooms = await self._store.room_members(sorted({m.room_id for m in wanted}))
        candidates: dict[int, set[int]] = {}
        """Per room, who may hear of one of its messages: the levels and focus to look up."""
        for message in wanted:
            room = rooms.get(message.room_id)
            if room is None or message.sender.id not in room.members:
                continue  # the sender left or the room is gone since: nobody to tell
            if room.kind == "group":
                self._group_rooms.add(message.room_id)
                may = room.members.intersection(message.mentions)
            else:
                may = room.members
            candidates.setdefault(message.room_id, set()).update(may - {message.sender.id})
        users = sorted(set().union(*candidates.values()))
        if not users:
            return []
        levels: dict[int, dict[int, Level]] = {}
        for (room_id, user), level in (
            await self._store.room_levels(sorted(candidates), users)
        ).items():
            levels.setdefault(room_id, {})[user] = Level(level)
        watching = await self._watching(candidates)
        out: list[Notification] = []
        for message in wanted:
            room = rooms.get(message.room_id)
            if room is None or message.room_id not in candidates:
                continue
            facts = RoomFacts(
                "direct" if room.kind == "direct" else "group", room.name, room.members
            )
            out += decide(
                message,
                facts,
                levels.get(message.room_id, {}),
                watching.get(message.room_id, set()),
            )
        return out

    async def _watching(self, candidates: dict[int, set[int]]) -> dict[int, set[int]]:
        """Per room, those of its candidates who have it open."""
        try:
            found = await asyncio.gather(
                *(self._focus.watching(room, users) for room, users in candidates.items())
            )
        except Exception as exc:  # focus is a hint: telling too many beats telling none
            logger.warning("focus unavailable, notifying regardless: %r", exc)
            return {}
        return dict(zip(candidates, found, strict=True))

    async def _deliver(self, channel: Channel, notifications: list[Notification]) -> None:
        try:
            await channel.deliver_many(notifications)
        except DeliveryFailed as exc:
            if exc.retry:
                raise
            logger.warning(
                "%s: cannot deliver %d notifications: %s", channel.name, len(notifications), exc
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
        email: EmailChannel | None = None,
        *,
        closing: Sequence[Closable] = (),
        linger: float = LINGER_SECONDS,
    ) -> None:
        """``email``: the e-mail channel whose outbox and digest loop run beside the notifier;
        ``closing``: channels holding clients (Web Push's HTTP session), closed at the end;
        ``linger``: seconds to gather a batch after its first message."""
        self.notifier = notifier
        self._linger = linger
        self._email = email
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
        if self._email is not None:
            self._tasks.append(asyncio.create_task(self._email.run(self._stop)))

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
            batch = [await self._queue.get()]
            try:
                # Cancelled while it lingers, the entry in hand is still counted done.
                if self._linger > 0:
                    await asyncio.sleep(self._linger)
                while len(batch) < BATCH and not self._queue.empty():  # what piled up meanwhile
                    batch.append(self._queue.get_nowait())
                await self._handle(batch)
            finally:
                self.lag -= len(batch)
                for _ in batch:
                    self._queue.task_done()

    async def _handle(self, batch: list[Entry]) -> None:
        for delay in (*self.RETRY_SECONDS, None):
            try:
                await self.notifier.handle(batch)
                return
            except Exception as exc:
                if delay is None:
                    first, last = batch[0], batch[-1]
                    logger.error(
                        "could not notify of %d messages (room %s seq %s to room %s seq %s): %r",
                        len(batch),
                        first.room_id,
                        first.seq,
                        last.room_id,
                        last.seq,
                        exc,
                    )
                    return
                logger.warning("notifying failed, retrying: %r", exc)
            self.retries += 1
            await asyncio.sleep(delay)
