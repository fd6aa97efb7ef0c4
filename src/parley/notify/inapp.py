"""The in-app channel: a row in the user's inbox, then a live ``notification`` event.

The inbox's unique (user, room, seq) is this channel's ledger: the row and the record
of having delivered it are one insert, so a replay inserts nothing and announces
nothing, and a crash before the insert loses nothing (the offsets were not committed).
A batch's rows are one insert and their events one publish.
"""

from __future__ import annotations

from collections.abc import Sequence

from parley.announcer import Announcer
from parley.notify.base import ChannelName, Notification
from parley.notify.store import NotificationStore


class InAppChannel:
    name = ChannelName.INAPP

    def __init__(self, store: NotificationStore, announcer: Announcer) -> None:
        self._store = store
        self._announcer = announcer

    async def deliver_many(self, notifications: Sequence[Notification]) -> None:
        """One multi-row insert, then the live events of the new rows published together."""
        new = await self._store.add_notifications(notifications)
        if new:
            await self._announcer.notifications([(user, item.to_json()) for user, item in new])
