"""What notifications need of the store (``SqlStore`` implements it; ``app.py`` passes it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from parley.models import Message
from parley.notify.base import Notification
from parley.store.notifications import InboxItem, RoomMembers, UserSettings


class NotificationStore(Protocol):
    async def add_notifications(self, batch: Sequence[Notification]) -> list[tuple[int, InboxItem]]:
        """The inbox rows of ``batch`` inserted in one statement: (user, item) of each new
        row, in the order of ``batch``; a row the user already has (or a second of the
        same user and message) is not in it."""
        ...

    async def notifications(
        self, user_id: int, before: int | None, limit: int
    ) -> tuple[list[InboxItem], bool, int]: ...
    async def read_notifications(self, user_id: int, notification_id: int | None) -> int: ...
    async def has_notification(self, user_id: int, notification_id: int) -> bool: ...

    async def ledger_begin(self, keys: Sequence[str]) -> dict[str, str | None]:
        """Record the intent to deliver each of ``keys``: per key, None if new, else its
        state ("pending", "done")."""
        ...

    async def ledger_done(self, keys: Sequence[str]) -> None: ...
    async def notification_settings(self, user_ids: Sequence[int]) -> dict[int, UserSettings]: ...
    async def put_notification_settings(self, user_id: int, settings: UserSettings) -> None: ...
    async def room_levels(
        self, room_ids: Sequence[int], user_ids: Sequence[int]
    ) -> dict[tuple[int, int], str]:
        """Levels set by any of ``user_ids`` in any of ``room_ids``, by (room, user)."""
        ...

    async def room_members(self, room_ids: Sequence[int]) -> dict[int, RoomMembers]:
        """Kind, name and members of each existing room of ``room_ids``, in one query."""
        ...

    async def user_room_levels(self, user_id: int) -> dict[int, str]: ...
    async def put_room_level(self, room_id: int, user_id: int, level: str) -> None: ...
    async def digests_due(self, now: int) -> list[tuple[int, str]]: ...
    async def digest_items(self, user_id: int) -> list[InboxItem]: ...
    async def stored_messages(
        self, keys: Sequence[tuple[int, int, str]]
    ) -> dict[tuple[int, int, str], Message]:
        """Stored messages by (room, sender, client_id), as the Kafka records name them."""
        ...

    async def digest_sent(self, user_id: int, ids: Sequence[int], now: int) -> None: ...
