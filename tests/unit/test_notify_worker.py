"""The in-process notifier gathers a batch: messages stored while it lingers share one
round of store look-ups and one delivery per channel (what made it cheap at a chat's pace)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from parley.announcer import Announcer
from parley.bus import MemoryBus
from parley.models import Draft, Message, now_micros
from parley.notify.base import ChannelName, Notification
from parley.notify.focus import LocalFocus
from parley.notify.inapp import InAppChannel
from parley.notify.worker import InProcessNotifier, Notifier
from parley.presence import LocalPresence
from parley.store import SqlStore
from tests.unit.conftest import make_user


class Recorded:
    """The in-app channel, with the size of each batch it was handed."""

    name = ChannelName.INAPP

    def __init__(self, inner: InAppChannel) -> None:
        self.inner = inner
        self.batches: list[int] = []

    async def deliver_many(self, notifications: Sequence[Notification]) -> None:
        self.batches.append(len(notifications))
        await self.inner.deliver_many(notifications)


@pytest.mark.parametrize(("linger", "batches"), [(0.05, [3]), (0.0, [1, 2])])
async def test_messages_offered_while_it_lingers_share_a_batch(
    store: SqlStore, linger: float, batches: list[int]
) -> None:
    ana, bob = await make_user(store, "ana"), await make_user(store, "bob")
    room, _ = await store.direct_room(ana.id, bob.id)
    stored = [await store.append(Draft(room, ana, f"m{i}", None, now_micros())) for i in range(3)]
    bus = MemoryBus()
    await bus.start(lambda channel, payload: None)
    channel = Recorded(InAppChannel(store, Announcer(store, bus, LocalPresence())))
    notifier = InProcessNotifier(Notifier(store, LocalFocus(), [channel]), linger=linger)
    await notifier.start()
    try:
        first, *rest = stored
        assert isinstance(first, Message)
        notifier.offer(first)
        for _ in range(3):  # the notifier takes it: without a linger it is at work on it
            await asyncio.sleep(0)
        for message in rest:
            assert isinstance(message, Message)
            notifier.offer(message)
        await notifier.idle()
    finally:
        await notifier.close()
    assert channel.batches == batches
    items, _, unread = await store.notifications(bob.id, None, 10)
    assert ([i.excerpt for i in items], unread) == (["m2", "m1", "m0"], 3)


async def test_stopped_while_it_lingers_it_counts_nothing_in_hand(store: SqlStore) -> None:
    ana, bob = await make_user(store, "ana"), await make_user(store, "bob")
    room, _ = await store.direct_room(ana.id, bob.id)
    stored = await store.append(Draft(room, ana, "m", None, now_micros()))
    assert isinstance(stored, Message)
    notifier = InProcessNotifier(Notifier(store, LocalFocus(), []), linger=60.0)
    await notifier.start()
    notifier.offer(stored)
    for _ in range(3):  # the notifier takes it and lingers
        await asyncio.sleep(0)
    assert notifier.lag == 1
    await notifier.close()
    assert notifier.lag == 0
    await asyncio.wait_for(notifier.idle(), 1)  # and the queue counts it done
