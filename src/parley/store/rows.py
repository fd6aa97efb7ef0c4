"""How a message is selected with its sender and read back, for every query that returns one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from parley.models import Message, User
from parley.store.schema import messages, users

MESSAGE_COLUMNS = (
    messages.c.id,
    messages.c.room_id,
    messages.c.seq,
    messages.c.body,
    messages.c.client_id,
    messages.c.created_at,
    users.c.id.label("sender_id_"),
    users.c.username.label("sender_username"),
    users.c.display_name.label("sender_display_name"),
)
"""The order ``message_from_row`` reads; hand-written SQL selects the same."""


def message_query() -> Any:
    return select(*MESSAGE_COLUMNS).join(users, users.c.id == messages.c.sender_id)


def message_from_row(row: Sequence[Any]) -> Message:
    return Message(
        id=row[0],
        room_id=row[1],
        seq=row[2],
        sender=User(id=row[6], username=row[7], display_name=row[8]),
        body=row[3],
        created_at=row[5],
        client_id=row[4],
    )
