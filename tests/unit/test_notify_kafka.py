"""The notify worker's wait for the persister: a record is notified once stored, and given
up only when the persister moved past it without storing it (refused)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import SimpleNamespace
from typing import cast

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from parley.metrics import NotifyMetrics
from parley.models import Message
from parley.notify.focus import LocalFocus
from parley.notify.kafka import Key, NotifyWorker
from parley.notify.store import NotificationStore
from parley.notify.worker import Notifier
from tests.unit.test_notify_decide import msg

TP = TopicPartition("t", 0)
STORED: Key = (7, 1, "c")
REFUSED: Key = (7, 1, "refused")


class _Store:
    """Stores ``STORED`` between the worker's first look-up and its next one, as the
    persister does when it commits its batch (store, then offsets) in between."""

    def __init__(self) -> None:
        self.lookups = 0

    async def stored_messages(self, keys: Sequence[Key]) -> dict[Key, Message]:
        self.lookups += 1
        return {STORED: msg()} if self.lookups > 1 and STORED in keys else {}


class _Admin:
    async def list_consumer_group_offsets(self, group: str) -> dict[TopicPartition, object]:
        return {TP: SimpleNamespace(offset=10)}  # the persister is past both records


async def test_a_record_stored_while_the_worker_looked_is_notified_and_a_refused_one_is_not() -> (
    None
):
    store = _Store()
    notes = cast(NotificationStore, store)
    worker = NotifyWorker(
        Notifier(notes, LocalFocus(), []),
        notes,
        bootstrap="unused",
        topic="t",
        group="g.notify",
        persister_group="g",
        metrics=NotifyMetrics(),
    )
    admin = cast(AIOKafkaAdminClient, _Admin())
    found = await worker._stored(admin, [(TP, 3, STORED), (TP, 4, REFUSED)], asyncio.Event())
    assert found == [msg()]
    assert store.lookups == 2
