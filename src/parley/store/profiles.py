"""Profiles and settings: display names, when users were last connected, their settings.

``last_seen_at`` is written once per going offline everywhere (the announcer's presence
event), never per message or per connection, so it costs one small UPDATE per visit.
A profile is visible only to the user and to people who share a room with them.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Row, exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from parley.models import HourCycle, Settings, Theme
from parley.store.schema import members, user_settings, users

_SETTINGS = ("theme", "hour_cycle", "updated_at")


async def set_display_name(conn: AsyncConnection, user_id: int, name: str) -> Row[Any] | None:
    """The user's row as it is now; None when there is no such user."""
    result = await conn.execute(
        users.update().where(users.c.id == user_id).values(display_name=name).returning(users)
    )
    row: Row[Any] | None = result.first()
    return row


async def record_last_seen(conn: AsyncConnection, user_id: int, at: int) -> None:
    await conn.execute(users.update().where(users.c.id == user_id).values(last_seen_at=at))


async def visible_user(conn: AsyncConnection, viewer_id: int, user_id: int) -> Row[Any] | None:
    """The user's row (``last_seen_at`` with it) if the viewer is them or shares a room."""
    mine = members.alias("mine")
    theirs = members.alias("theirs")
    shared = exists(
        select(1)
        .select_from(mine.join(theirs, mine.c.room_id == theirs.c.room_id))
        .where(mine.c.user_id == viewer_id, theirs.c.user_id == user_id)
    )
    query = select(users).where(users.c.id == user_id)
    if viewer_id != user_id:
        query = query.where(shared)
    row: Row[Any] | None = (await conn.execute(query)).first()
    return row


async def settings(conn: AsyncConnection, user_id: int) -> Settings:
    row = (
        await conn.execute(
            select(user_settings.c.theme, user_settings.c.hour_cycle).where(
                user_settings.c.user_id == user_id
            )
        )
    ).first()
    if row is None:
        return Settings()
    return Settings(theme=cast(Theme, row.theme), hour_cycle=cast(HourCycle, row.hour_cycle))


async def put_settings(
    conn: AsyncConnection, user_id: int, wanted: Settings, now: int, *, sqlite: bool
) -> None:
    """Insert or replace the row in one statement, so two saves at once leave one of them."""
    values = {
        "user_id": user_id,
        "theme": wanted.theme,
        "hour_cycle": wanted.hour_cycle,
        "updated_at": now,
    }
    upsert: Any = (sqlite_insert if sqlite else pg_insert)(user_settings).values(values)
    await conn.execute(
        upsert.on_conflict_do_update(
            index_elements=[user_settings.c.user_id],
            set_={k: upsert.excluded[k] for k in _SETTINGS},
        )
    )
