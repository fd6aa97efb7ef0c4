"""Read markers asked for on demand: who has seen a room up to a seq ("seen by").

Read markers of others are no longer pushed to every member of a group (issue 15):
a client asks for them when it shows them. One query answers, and only for a
member of the room, so the answer never tells a stranger who is in it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from parley.models import ReadMarker, User
from parley.store.schema import members, rooms, users


async def read_markers(
    conn: AsyncConnection, room_id: int, viewer_id: int, at_least: int
) -> list[ReadMarker] | None:
    """Members of ``room_id`` whose marker is at ``at_least`` or beyond, highest first;
    None when ``viewer_id`` is not a member."""
    rows = (
        await conn.execute(
            select(users.c.id, users.c.username, users.c.display_name, members.c.last_read_seq)
            .join(users, users.c.id == members.c.user_id)
            .where(members.c.room_id == room_id)
            .order_by(members.c.last_read_seq.desc(), users.c.id)
        )
    ).all()
    if not any(row.id == viewer_id for row in rows):
        return None
    return [
        ReadMarker(User(row.id, row.username, row.display_name), row.last_read_seq)
        for row in rows
        if row.last_read_seq >= at_least
    ]


async def direct_rooms(conn: AsyncConnection, room_ids: Sequence[int]) -> set[int]:
    """Which of ``room_ids`` are direct rooms, whose read markers go to both members."""
    if not room_ids:
        return set()
    rows = await conn.execute(
        select(rooms.c.id).where(rooms.c.id.in_(list(room_ids)), rooms.c.kind == "direct")
    )
    return {row.id for row in rows}
