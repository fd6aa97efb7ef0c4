"""The in-app channel: a row in the user's inbox, then a live ``notification`` event.

The inbox's unique (user, room, seq) is this channel's ledger: the row and the record
of having delivered it are one insert, so a replay inserts nothing and announces
nothing, and a crash before the insert loses nothing (the offsets were not committed).
"""

from __future__ import annotations

from parley.announcer import Announcer
from parley.notify.base import ChannelName, Notification
from parley.notify.store import NotificationStore


class InAppChannel:
    name = ChannelName.INAPP

    def __init__(self, store: NotificationStore, announcer: Announcer) -> None:
        self._store = store
        self._announcer = announcer

    async def deliver(self, notification: Notification) -> None:
        item = await self._store.add_notification(notification)
        if item is not None:
            await self._announcer.notification(notification.user_id, item.to_json())
