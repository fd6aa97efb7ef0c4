"""The store's queries for uploads: recording them, who may read one, attaching them to a
message as it is stored, reading them back with messages, and sweeping the abandoned ones.

Called by thin methods of ``SqlStore`` and by ``append.CoreStatements``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from parley.models import Attachment
from parley.store.schema import avatars, files, members, messages


@dataclass(frozen=True, slots=True)
class NewFile:
    """An upload whose bytes are already in the file store."""

    uploader_id: int
    room_id: int
    key: str
    thumbnail_key: str | None
    name: str
    content_type: str
    size: int
    width: int | None
    height: int | None
    created_at: int


@dataclass(frozen=True, slots=True)
class StoredFile:
    """An upload as the route that serves it needs it."""

    attachment: Attachment
    key: str
    thumbnail_key: str | None


_ATTACHMENT = (
    files.c.id,
    files.c.name,
    files.c.content_type,
    files.c.size,
    files.c.width,
    files.c.height,
)


async def insert(conn: AsyncConnection, new: NewFile) -> Attachment:
    result = await conn.execute(
        files.insert()
        .values(
            uploader_id=new.uploader_id,
            room_id=new.room_id,
            key=new.key,
            thumbnail_key=new.thumbnail_key,
            name=new.name,
            content_type=new.content_type,
            size=new.size,
            width=new.width,
            height=new.height,
            created_at=new.created_at,
        )
        .returning(files.c.id)
    )
    return Attachment(
        result.scalar_one(), new.name, new.content_type, new.size, new.width, new.height
    )


async def readable(conn: AsyncConnection, file_id: int, viewer_id: int) -> StoredFile | None:
    """The file if the viewer is a member of its room now and it is theirs or carried by a
    message that is not deleted; None otherwise, the same whether it exists or not."""
    query = (
        select(*_ATTACHMENT, files.c.key, files.c.thumbnail_key)
        .select_from(files.outerjoin(messages, messages.c.id == files.c.message_id))
        .where(
            files.c.id == file_id,
            exists().where(members.c.room_id == files.c.room_id, members.c.user_id == viewer_id),
            or_(
                and_(files.c.message_id.is_not(None), messages.c.deleted_at.is_(None)),
                and_(files.c.message_id.is_(None), files.c.uploader_id == viewer_id),
            ),
        )
    )
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return StoredFile(Attachment(*row[:6]), row.key, row.thumbnail_key)


async def claimable(
    conn: AsyncConnection, ids: set[int], pairs: set[tuple[int, int]], *, lock: bool
) -> set[tuple[int, int, int]]:
    """Which (file, room, uploader) of these files are unattached uploads of those
    (room, uploader) pairs; ``lock`` holds them (PostgreSQL) so the sweep waits for the
    message that takes them."""
    query = select(files.c.id, files.c.room_id, files.c.uploader_id).where(
        files.c.id.in_(ids), files.c.message_id.is_(None)
    )
    if lock:
        query = query.with_for_update()
    return {
        (row.id, row.room_id, row.uploader_id)
        for row in await conn.execute(query)
        if (row.room_id, row.uploader_id) in pairs
    }


async def attach(conn: AsyncConnection, carried: dict[int, int]) -> None:
    """Mark each file of {file id: message id} as carried by that message."""
    for file_id, message_id in carried.items():
        await conn.execute(
            files.update().where(files.c.id == file_id).values(message_id=message_id)
        )


async def of_messages(
    conn: AsyncConnection, message_ids: Sequence[int]
) -> dict[int, tuple[Attachment, ...]]:
    found: dict[int, list[Attachment]] = defaultdict(list)
    for row in await conn.execute(
        select(files.c.message_id, *_ATTACHMENT)
        .where(files.c.message_id.in_(message_ids))
        .order_by(files.c.id)
    ):
        found[row[0]].append(Attachment(*row[1:]))
    return {message_id: tuple(carried) for message_id, carried in found.items()}


async def sweep(conn: AsyncConnection, older_than: int) -> list[str]:
    """Delete the uploads never attached and created before ``older_than``, in one statement
    (two gateways sweeping at once delete each row once); return the keys to remove from the
    file store."""
    result = await conn.execute(
        files.delete()
        .where(files.c.message_id.is_(None), files.c.created_at < older_than)
        .returning(files.c.key, files.c.thumbnail_key)
    )
    return [key for row in result for key in row if key is not None]


async def set_avatar(conn: AsyncConnection, user_id: int, key: str | None, now: int) -> str | None:
    """In the caller's transaction: the row is locked while replaced, so two uploads at once
    each get the other's key back to delete, and none is left behind."""
    query = select(avatars.c.key).where(avatars.c.user_id == user_id)
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    old = (await conn.execute(query)).scalar_one_or_none()
    await conn.execute(avatars.delete().where(avatars.c.user_id == user_id))
    if key is not None:
        await conn.execute(avatars.insert().values(user_id=user_id, key=key, version=now))
    return old


async def avatar_key(conn: AsyncConnection, user_id: int) -> str | None:
    return (
        await conn.execute(select(avatars.c.key).where(avatars.c.user_id == user_id))
    ).scalar_one_or_none()
