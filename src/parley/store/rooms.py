"""Running a group: roles, removals, the directory, joining, hiding; the queries behind the
room routes of ``api/rooms.py``, called by thin ``SqlStore`` methods.

Every change first locks the room's row (``FOR UPDATE`` on PostgreSQL; SQLite has one
writer at a time anyway) and reads the actor's role inside the same transaction, so a
permission is checked against the database as it is when the change is made: two hand-overs
at once run one after the other, and the second finds its actor no longer the owner.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from parley.models import DirectoryRoom, now_micros
from parley.store.base import NotAllowed, NotMember, RoomChange
from parley.store.schema import ADMIN, MEMBER, OWNER, members, rooms

RUNNERS = (OWNER, ADMIN)
"""The roles that run a group: rename it, set its topic and visibility, add and remove
members, delete any message."""


async def _lock(conn: AsyncConnection, room_id: int) -> tuple[str, bool]:
    """Lock the room's row for this transaction: its kind and whether it is public."""
    row = (
        await conn.execute(
            select(rooms.c.kind, rooms.c.public).where(rooms.c.id == room_id).with_for_update()
        )
    ).first()
    if row is None:
        raise NotMember
    return row.kind, bool(row.public)


async def _role(conn: AsyncConnection, room_id: int, user_id: int) -> str | None:
    role: str | None = (
        await conn.execute(
            select(members.c.role).where(members.c.room_id == room_id, members.c.user_id == user_id)
        )
    ).scalar()
    return role


async def _actor(
    conn: AsyncConnection, room_id: int, actor_id: int, allowed: tuple[str, ...]
) -> str:
    """Lock the room, then the actor's role: ``NotMember`` outside it, ``NotAllowed`` when the
    role is not one of ``allowed`` (a direct room has no owner or admin)."""
    await _lock(conn, room_id)
    role = await _role(conn, room_id, actor_id)
    if role is None:
        raise NotMember
    if role not in allowed:
        raise NotAllowed
    return role


async def _set_role(conn: AsyncConnection, room_id: int, user_id: int, role: str) -> None:
    await conn.execute(
        members.update()
        .where(members.c.room_id == room_id, members.c.user_id == user_id)
        .values(role=role)
    )


async def update(conn: AsyncConnection, room_id: int, actor_id: int, change: RoomChange) -> None:
    await _actor(conn, room_id, actor_id, RUNNERS)
    values: dict[str, object] = {}
    if change.name is not None:
        values["name"] = change.name
    if change.topic is not None:
        values["topic"] = change.topic or None
    if change.public is not None:
        values["public"] = change.public
    if values:
        await conn.execute(rooms.update().where(rooms.c.id == room_id).values(**values))


async def _insert_member(conn: AsyncConnection, room_id: int, user_id: int) -> bool:
    if await _role(conn, room_id, user_id) is not None:
        return False
    last_seq = (
        await conn.execute(select(rooms.c.last_seq).where(rooms.c.id == room_id))
    ).scalar_one()
    # A new member starts with the history marked read, not hundreds unread.
    await conn.execute(
        members.insert().values(
            room_id=room_id, user_id=user_id, joined_at=now_micros(), last_read_seq=last_seq
        )
    )
    return True


async def add(conn: AsyncConnection, room_id: int, actor_id: int, user_id: int) -> bool:
    """An owner or admin adds someone; False when they were in already."""
    await _actor(conn, room_id, actor_id, RUNNERS)
    return await _insert_member(conn, room_id, user_id)


async def join(conn: AsyncConnection, room_id: int, user_id: int) -> bool:
    """Anyone joins a public group (``NotAllowed`` for an invite-only one, ``NotMember`` for no
    group at all); False when they were in already."""
    kind, public = await _lock(conn, room_id)
    if kind != "group":
        raise NotMember
    if not public and await _role(conn, room_id, user_id) is None:
        raise NotAllowed
    return await _insert_member(conn, room_id, user_id)


async def expel(conn: AsyncConnection, room_id: int, actor_id: int, user_id: int) -> None:
    """The owner removes an admin or a member, an admin removes a member; nobody removes the
    owner or themselves this way (they leave). ``NotMember`` for someone not in the room."""
    role = await _actor(conn, room_id, actor_id, RUNNERS)
    target = await _role(conn, room_id, user_id)
    if target is None:
        raise NotMember
    if user_id == actor_id or target == OWNER or (role == ADMIN and target != MEMBER):
        raise NotAllowed
    await conn.execute(
        members.delete().where(members.c.room_id == room_id, members.c.user_id == user_id)
    )


async def promote(
    conn: AsyncConnection, room_id: int, actor_id: int, user_id: int, role: str
) -> None:
    """The owner makes a member an admin (``ADMIN``) or an admin a member (``MEMBER``)."""
    await _actor(conn, room_id, actor_id, (OWNER,))
    target = await _role(conn, room_id, user_id)
    if target is None:
        raise NotMember
    if target == OWNER:
        raise NotAllowed
    await _set_role(conn, room_id, user_id, role)


async def transfer(conn: AsyncConnection, room_id: int, actor_id: int, user_id: int) -> None:
    """The owner hands the group over and stays on as an admin."""
    await _actor(conn, room_id, actor_id, (OWNER,))
    target = await _role(conn, room_id, user_id)
    if target is None:
        raise NotMember
    if user_id == actor_id:
        return
    # The old owner steps down first: ``uq_members_owner`` allows one owner per room.
    await _set_role(conn, room_id, actor_id, ADMIN)
    await _set_role(conn, room_id, user_id, OWNER)


async def leave(conn: AsyncConnection, room_id: int, user_id: int) -> None:
    """A leaving owner's group passes to its longest-standing admin, else member."""
    await _lock(conn, room_id)
    role = await _role(conn, room_id, user_id)
    if role is None:
        raise NotMember
    await conn.execute(
        members.delete().where(members.c.room_id == room_id, members.c.user_id == user_id)
    )
    if role != OWNER:
        return
    heir = (
        await conn.execute(
            select(members.c.user_id)
            .where(members.c.room_id == room_id)
            .order_by((members.c.role == ADMIN).desc(), members.c.joined_at, members.c.user_id)
            .limit(1)
        )
    ).scalar()
    if heir is not None:
        await _set_role(conn, room_id, heir, OWNER)


async def hide(conn: AsyncConnection, room_id: int, user_id: int) -> None:
    """Out of the user's room list until a message comes after the stream's present end."""
    last_seq = (await conn.execute(select(rooms.c.last_seq).where(rooms.c.id == room_id))).scalar()
    result = await conn.execute(
        members.update()
        .where(members.c.room_id == room_id, members.c.user_id == user_id)
        .values(hidden_seq=last_seq or 0)
    )
    if result.rowcount == 0:
        raise NotMember


async def directory(
    conn: AsyncConnection, text: str, *, after: int | None, limit: int
) -> tuple[list[DirectoryRoom], bool]:
    """Public groups whose name or topic contains ``text`` (any case), oldest first, and
    whether more follow the page; ``after``: the last id of the previous page."""
    counted = select(func.count()).where(members.c.room_id == rooms.c.id).scalar_subquery()
    query = (
        select(rooms.c.id, rooms.c.name, rooms.c.topic, counted.label("members"))
        .where(rooms.c.kind == "group", rooms.c.public.is_(True))
        .order_by(rooms.c.id)
        .limit(limit + 1)
    )
    if text:
        query = query.where(
            rooms.c.name.icontains(text, autoescape=True)
            | rooms.c.topic.icontains(text, autoescape=True)
        )
    if after is not None:
        query = query.where(rooms.c.id > after)
    rows = (await conn.execute(query)).all()
    found = [DirectoryRoom(r.id, r.name or "", r.topic, r.members) for r in rows[:limit]]
    return found, len(rows) > limit
