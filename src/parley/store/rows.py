"""How stream entries are selected with their senders and read back, for every query that
returns one: a message with its state folded in (mentions, reactions, reply preview), a room
event as it was stored."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from parley.models import (
    MAX_REACTION_USERS,
    EventKind,
    Message,
    Reaction,
    ReplyPreview,
    RoomEvent,
    User,
)
from parley.store import files
from parley.store.schema import mentions, messages, reactions, room_events, users

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
    messages.c.reply_to_seq,
    messages.c.edited_at,
    messages.c.deleted_at,
)
"""The order ``message_from_row`` reads."""

EVENT_COLUMNS = (
    room_events.c.id,
    room_events.c.room_id,
    room_events.c.seq,
    room_events.c.kind,
    room_events.c.target_seq,
    room_events.c.body,
    room_events.c.mentions,
    room_events.c.emoji,
    room_events.c.client_id,
    room_events.c.created_at,
    users.c.id.label("sender_id_"),
    users.c.username.label("sender_username"),
    users.c.display_name.label("sender_display_name"),
)
"""The order ``event_from_row`` reads."""


def message_query() -> Any:
    return select(*MESSAGE_COLUMNS).join(users, users.c.id == messages.c.sender_id)


def event_query() -> Any:
    return select(*EVENT_COLUMNS).join(users, users.c.id == room_events.c.sender_id)


def message_from_row(row: Sequence[Any]) -> Message:
    """The message as stored; ``decorate`` adds its mentions, reactions and reply preview."""
    return Message(
        id=row[0],
        room_id=row[1],
        seq=row[2],
        sender=User(id=row[6], username=row[7], display_name=row[8]),
        body=row[3],
        created_at=row[5],
        client_id=row[4],
        edited_at=row[10],
        deleted=row[11] is not None,
    )


def event_from_row(row: Sequence[Any]) -> RoomEvent:
    return RoomEvent(
        id=row[0],
        room_id=row[1],
        seq=row[2],
        kind=cast(EventKind, row[3]),
        sender=User(id=row[10], username=row[11], display_name=row[12]),
        target=row[4],
        created_at=row[9],
        client_id=row[8],
        body=row[5],
        mentions=ids_from_text(row[6]),
        emoji=row[7],
    )


def ids_to_text(ids: Sequence[int]) -> str:
    return " ".join(map(str, ids))


def ids_from_text(text: str | None) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split()) if text else ()


async def read_messages(conn: AsyncConnection, query: Any) -> list[Message]:
    """Run a ``message_query`` and return its messages in their current state."""
    rows = (await conn.execute(query)).all()
    return await decorate(conn, rows)


async def decorate(conn: AsyncConnection, rows: Sequence[Sequence[Any]]) -> list[Message]:
    """Messages from ``MESSAGE_COLUMNS`` rows with their mentions, reactions and replies.

    Four queries for the whole list, none when no message has any of them to show.
    """
    found = [message_from_row(r) for r in rows]
    live = [m.id for m in found if not m.deleted]
    if not live:
        return found
    mentioned = await mentions_of(conn, live)
    reacted: dict[int, dict[str, list[int]]] = defaultdict(dict)
    for message_id, emoji, user_id in await conn.execute(
        select(reactions.c.message_id, reactions.c.emoji, reactions.c.user_id)
        .where(reactions.c.message_id.in_(live))
        .order_by(reactions.c.created_at, reactions.c.user_id)
    ):
        reacted[message_id].setdefault(emoji, []).append(user_id)
    replies = {
        (r[1], r[9]) for r, m in zip(rows, found, strict=True) if r[9] is not None and not m.deleted
    }
    previews = await reply_previews(conn, replies) if replies else {}
    carried = await files.of_messages(conn, live)
    out: list[Message] = []
    for row, message in zip(rows, found, strict=True):
        if message.deleted:
            out.append(message)
            continue
        out.append(
            dataclasses.replace(
                message,
                mentions=tuple(mentioned.get(message.id, ())),
                reactions=tuple(
                    Reaction(emoji, len(who), tuple(who[:MAX_REACTION_USERS]))
                    for emoji, who in reacted.get(message.id, {}).items()
                ),
                reply_to=previews.get((message.room_id, row[9])),
                attachments=carried.get(message.id, ()),
            )
        )
    return out


async def mentions_of(conn: AsyncConnection, message_ids: Sequence[int]) -> dict[int, list[int]]:
    """The users each of ``message_ids`` mentions, in user id order (one query)."""
    mentioned: dict[int, list[int]] = defaultdict(list)
    for message_id, user_id in await conn.execute(
        select(mentions.c.message_id, mentions.c.user_id)
        .where(mentions.c.message_id.in_(message_ids))
        .order_by(mentions.c.user_id)
    ):
        mentioned[message_id].append(user_id)
    return mentioned


async def reply_previews(
    conn: AsyncConnection, keys: set[tuple[int, int]]
) -> dict[tuple[int, int], ReplyPreview]:
    """The messages at these (room, seq), as reply previews."""
    found: dict[tuple[int, int], ReplyPreview] = {}
    for row in await conn.execute(
        message_query().where(tuple_(messages.c.room_id, messages.c.seq).in_(keys))
    ):
        original = message_from_row(row)
        found[(original.room_id, original.seq)] = preview(original)
    return found


def preview(original: Message) -> ReplyPreview:
    return ReplyPreview(
        seq=original.seq,
        sender=original.sender,
        body="" if original.deleted else original.body,
        deleted=original.deleted,
    )
