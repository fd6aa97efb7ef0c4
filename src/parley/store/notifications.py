"""The queries of notifications: the inbox, the delivery ledger, and the settings.

Called by thin methods of ``SqlStore`` (as ``search.py`` is). Inserts that must happen at
most once (an inbox row per user and message, a ledger key) use the database's own
``ON CONFLICT DO NOTHING``, so two workers replaying the same message race harmlessly.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from parley.models import JSON, Message, User, now_micros, rfc3339
from parley.store.rows import mentions_of, message_from_row, message_query
from parley.store.schema import (
    members,
    messages,
    notification_ledger,
    notification_settings,
    notifications,
    room_notification_settings,
    rooms,
    users,
)

EMAIL_MODES = ("off", "immediately", "digest")
LEVELS = ("all", "mentions", "nothing")


@dataclass(frozen=True, slots=True)
class InboxItem:
    """One row of a user's in-app inbox, as the API and the live event show it."""

    id: int
    room_id: int
    seq: int
    reason: str
    sender: User
    room_name: str | None
    excerpt: str
    created_at: int
    read: bool

    def to_json(self) -> JSON:
        return {
            "id": str(self.id),
            "room": str(self.room_id),
            "seq": self.seq,
            "reason": self.reason,
            "sender": self.sender.to_json(),
            "room_name": self.room_name,
            "excerpt": self.excerpt,
            "created_at": rfc3339(self.created_at),
            "read": self.read,
        }


@dataclass(frozen=True, slots=True)
class UserSettings:
    """A user's e-mail address and mail preference (``EMAIL_MODES``)."""

    email: str | None = None
    email_mode: str = "off"
    digest_minutes: int = 60

    def to_json(self) -> JSON:
        return {
            "email": self.email,
            "email_mode": self.email_mode,
            "digest_minutes": self.digest_minutes,
        }


@dataclass(frozen=True, slots=True)
class NewItem:
    """An inbox row to insert: whose, of which message, and what it shows."""

    user_id: int
    room_id: int
    seq: int
    reason: str
    sender: User
    room_name: str | None
    excerpt: str
    created_at: int


def _insert(table: Any, is_sqlite: bool) -> Any:
    return (sqlite.insert if is_sqlite else postgresql.insert)(table)


def _item_query() -> Any:
    n = notifications.c
    return (
        select(
            notifications,
            users.c.username,
            users.c.display_name,
            rooms.c.name.label("room_name"),
            rooms.c.kind.label("room_kind"),
        )
        .join(users, users.c.id == n.sender_id)
        .join(rooms, rooms.c.id == n.room_id)
    )


def _item(row: Any) -> InboxItem:
    return InboxItem(
        id=row.id,
        room_id=row.room_id,
        seq=row.seq,
        reason=row.reason,
        sender=User(id=row.sender_id, username=row.username, display_name=row.display_name),
        room_name=row.room_name if row.room_kind == "group" else None,
        excerpt=row.excerpt,
        created_at=row.created_at,
        read=row.read_at is not None,
    )


def _firsts(wanted: Sequence[NewItem]) -> dict[tuple[int, int, int], NewItem]:
    """The first item of each (user, room, seq): a second is never a second row."""
    first: dict[tuple[int, int, int], NewItem] = {}
    for item in wanted:
        first.setdefault((item.user_id, item.room_id, item.seq), item)
    return first


def _added(
    first: dict[tuple[int, int, int], NewItem], new: dict[tuple[int, int, int], int]
) -> list[tuple[int, InboxItem]]:
    """(user, item) of the rows inserted (``new``: their ids by key), in ``first``'s order."""
    return [
        (
            r.user_id,
            InboxItem(
                new[key],
                r.room_id,
                r.seq,
                r.reason,
                r.sender,
                r.room_name,
                r.excerpt,
                r.created_at,
                False,
            ),
        )
        for key, r in first.items()
        if key in new
    ]


async def add_many(
    conn: AsyncConnection, is_sqlite: bool, wanted: Sequence[NewItem]
) -> list[tuple[int, InboxItem]]:
    """Insert the inbox rows of ``wanted`` (multi-row inserts) and
    return (user, item) of the rows that are new, in the order of ``wanted``: a row the
    user already has, or a second of the same (user, room, seq), is left out. The items
    are what was inserted, with the sender's and room's names as the notifications have
    them (those of the message), not read back."""
    first = _firsts(wanted)
    n = notifications.c
    stmt = (
        _insert(notifications, is_sqlite)
        .on_conflict_do_nothing()
        .returning(n.id, n.user_id, n.room_id, n.seq)
    )
    params = [
        {
            "user_id": r.user_id,
            "room_id": r.room_id,
            "seq": r.seq,
            "reason": r.reason,
            "sender_id": r.sender.id,
            "excerpt": r.excerpt,
            "created_at": r.created_at,
        }
        for r in first.values()
    ]
    # Parameter lists, not .values([...]): SQLAlchemy sends them as multi-row INSERTs
    # ("insertmanyvalues", sized to the driver's limits) from one cached compilation;
    # a VALUES list of N rows is compiled afresh for every N.
    new = {(row.user_id, row.room_id, row.seq): row.id for row in await conn.execute(stmt, params)}
    return _added(first, new)


def add_many_sqlite(
    conn: sqlite3.Connection, wanted: Sequence[NewItem]
) -> list[tuple[int, InboxItem]]:
    """``add_many`` as plain ``sqlite3`` statements, in the caller's transaction on the
    ``SqliteAppender``'s thread: the in-process notifier's insert without SQLAlchemy's
    compilation and aiosqlite's round trips, which were most of its cost per batch. One
    constant statement per row: SQLite prepares it once (the connection's statement
    cache), and a row per call needs no chunking under the parameter limit."""
    first = _firsts(wanted)
    new: dict[tuple[int, int, int], int] = {}
    for key, r in first.items():
        row = conn.execute(
            "INSERT INTO notifications"
            " (user_id, room_id, seq, reason, sender_id, excerpt, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            (r.user_id, r.room_id, r.seq, r.reason, r.sender.id, r.excerpt, r.created_at),
        ).fetchone()
        if row is not None:
            new[key] = row[0]
    return _added(first, new)


async def page(
    conn: AsyncConnection, user_id: int, before: int | None, limit: int
) -> tuple[list[InboxItem], bool, int]:
    """Newest first, ids below ``before``; whether more remain; the unread count.

    The count is a column of the page's own statement, so both come from one snapshot:
    read apart, a notification inserted between the two reads was counted but not listed,
    and the web client, which adds the live notifications the page lacks, counted it twice.
    """
    n = notifications.c
    unread = select(func.count()).where(n.user_id == user_id, n.read_at.is_(None))
    query = _item_query().add_columns(unread.scalar_subquery().label("unread"))
    query = query.where(n.user_id == user_id)
    if before is not None:
        query = query.where(n.id < before)
    rows = (await conn.execute(query.order_by(n.id.desc()).limit(limit + 1))).all()
    if rows:
        count = int(rows[0].unread)
    elif before is None:
        count = 0  # no notification at all in this snapshot
    else:  # past the last page: the unread ones are newer than the cursor
        count = int((await conn.execute(unread)).scalar_one())
    return [_item(r) for r in rows[:limit]], len(rows) > limit, count


async def mark_read(conn: AsyncConnection, user_id: int, notification_id: int | None) -> int:
    """Mark one (or, with None, every) unread notification of the user read; how many."""
    n = notifications.c
    where = and_(n.user_id == user_id, n.read_at.is_(None))
    if notification_id is not None:
        where = and_(where, n.id == notification_id)
    result = await conn.execute(update(notifications).where(where).values(read_at=now_micros()))
    return int(result.rowcount)


async def exists(conn: AsyncConnection, user_id: int, notification_id: int) -> bool:
    n = notifications.c
    row = await conn.execute(select(n.id).where(n.user_id == user_id, n.id == notification_id))
    return row.first() is not None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A pending delivery claimed by an outbox: its key, what to send, and its order."""

    key: str
    payload: str
    created_at: int


async def ledger_add(
    conn: AsyncConnection, is_sqlite: bool, rows: Sequence[tuple[str, str, int]]
) -> None:
    """Record (key, payload, created_at) rows as pending in one insert; a key there
    already (a replay) keeps its row and state."""
    if rows:
        stmt = _insert(notification_ledger, is_sqlite).on_conflict_do_nothing()
        await conn.execute(
            stmt,
            [{"key": k, "state": "pending", "payload": p, "created_at": at} for k, p, at in rows],
        )


async def ledger_claim(
    conn: AsyncConnection,
    is_sqlite: bool,
    owner: str,
    now: int,
    until: int,
    limit: int,
    *,
    reclaim: bool,
) -> list[Outgoing]:
    """Claim up to ``limit`` of the oldest pending rows nobody holds (no lease, or one
    past ``now``) for ``owner`` until ``until``, in one statement; with ``reclaim`` also
    those ``owner`` holds (left by an earlier process of the same name). PostgreSQL skips
    rows another outbox is claiming at that moment; SQLite writes one at a time."""
    ledger = notification_ledger.c
    free = or_(ledger.lease_until.is_(None), ledger.lease_until < now)
    if reclaim:
        free = or_(free, ledger.owner == owner)
    pick = (
        select(ledger.key)
        .where(ledger.state == "pending", ledger.payload.is_not(None), free)
        .order_by(ledger.created_at)
        .limit(limit)
    )
    if not is_sqlite:
        pick = pick.with_for_update(skip_locked=True)
    rows = await conn.execute(
        update(notification_ledger)
        .where(ledger.key.in_(pick.scalar_subquery()))
        .values(owner=owner, lease_until=until)
        .returning(ledger.key, ledger.payload, ledger.created_at)
    )
    return sorted(
        (Outgoing(r.key, r.payload, r.created_at) for r in rows),
        key=lambda o: (o.created_at, o.key),
    )


async def ledger_release(conn: AsyncConnection, owner: str, keys: Sequence[str]) -> None:
    """Give back the claim on ``keys`` still pending, for the next round to take."""
    if keys:
        ledger = notification_ledger.c
        await conn.execute(
            update(notification_ledger)
            .where(ledger.key.in_(list(keys)), ledger.owner == owner, ledger.state == "pending")
            .values(owner=None, lease_until=None)
        )


_SETTLE = (
    update(notification_ledger)
    .where(notification_ledger.c.key == bindparam("settled"))
    .values(state=bindparam("state"), lease_until=None)
)
"""Built once: the outbox settles every mail with it, one at a time."""


async def ledger_settle(conn: AsyncConnection, key: str, state: str) -> None:
    """Mark ``key`` "done" (sent) or "refused" (never deliverable)."""
    await conn.execute(_SETTLE, {"settled": key, "state": state})


async def ledger_states(conn: AsyncConnection, keys: Sequence[str]) -> dict[str, str]:
    """The state of each of ``keys`` recorded."""
    ledger = notification_ledger.c
    rows = await conn.execute(select(ledger.key, ledger.state).where(ledger.key.in_(list(keys))))
    return {r.key: r.state for r in rows}


async def user_settings(conn: AsyncConnection, user_ids: Sequence[int]) -> dict[int, UserSettings]:
    """Settings of each user that has any (the others have the defaults)."""
    s = notification_settings.c
    rows = await conn.execute(select(notification_settings).where(s.user_id.in_(list(user_ids))))
    return {
        r.user_id: UserSettings(
            email=r.email, email_mode=r.email_mode, digest_minutes=r.digest_minutes
        )
        for r in rows
    }


async def put_user_settings(
    conn: AsyncConnection, is_sqlite: bool, user_id: int, settings: UserSettings
) -> None:
    values = {
        "email": settings.email,
        "email_mode": settings.email_mode,
        "digest_minutes": settings.digest_minutes,
    }
    stmt = _insert(notification_settings, is_sqlite).values(user_id=user_id, **values)
    await conn.execute(stmt.on_conflict_do_update(index_elements=["user_id"], set_=values))


@dataclass(frozen=True, slots=True)
class RoomMembers:
    """What deciding who hears of a message needs of its room, and no more."""

    kind: str
    name: str | None
    members: frozenset[int]


async def room_members(conn: AsyncConnection, room_ids: Sequence[int]) -> dict[int, RoomMembers]:
    """Kind, name and member ids of each of ``room_ids`` that exists, in one query."""
    r, m = rooms.c, members.c
    rows = await conn.execute(
        select(r.id, r.kind, r.name, m.user_id)
        .join(members, m.room_id == r.id)
        .where(r.id.in_(list(room_ids)))
    )
    heads: dict[int, tuple[str, str | None]] = {}
    roster: dict[int, set[int]] = {}
    for row in rows:
        heads[row.id] = (row.kind, row.name)
        roster.setdefault(row.id, set()).add(row.user_id)
    return {i: RoomMembers(k, n, frozenset(roster[i])) for i, (k, n) in heads.items()}


async def room_levels(
    conn: AsyncConnection, room_ids: Sequence[int], user_ids: Sequence[int]
) -> dict[tuple[int, int], str]:
    """The levels set by any of ``user_ids`` in any of ``room_ids``, by (room, user)."""
    r = room_notification_settings.c
    rows = await conn.execute(
        select(r.room_id, r.user_id, r.level).where(
            r.room_id.in_(list(room_ids)), r.user_id.in_(list(user_ids))
        )
    )
    return {(row.room_id, row.user_id): row.level for row in rows}


def room_members_sqlite(
    conn: sqlite3.Connection, room_ids: Sequence[int]
) -> dict[int, RoomMembers]:
    """``room_members`` as one plain ``sqlite3`` statement (the ``SqliteAppender``'s
    thread). The ids go in as one JSON array, so the statement's text is the same for
    every batch (prepared once) and has no parameter limit."""
    heads: dict[int, tuple[str, str | None]] = {}
    roster: dict[int, set[int]] = {}
    for room_id, kind, name, user_id in conn.execute(
        "SELECT rooms.id, rooms.kind, rooms.name, members.user_id FROM rooms"
        " JOIN members ON members.room_id = rooms.id"
        " WHERE rooms.id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(room_ids)),),
    ):
        heads[room_id] = (kind, name)
        roster.setdefault(room_id, set()).add(user_id)
    return {i: RoomMembers(k, n, frozenset(roster[i])) for i, (k, n) in heads.items()}


def room_levels_sqlite(
    conn: sqlite3.Connection, room_ids: Sequence[int], user_ids: Sequence[int]
) -> dict[tuple[int, int], str]:
    """``room_levels`` as one plain ``sqlite3`` statement, as ``room_members_sqlite``."""
    return {
        (room_id, user_id): level
        for room_id, user_id, level in conn.execute(
            "SELECT room_id, user_id, level FROM room_notification_settings"
            " WHERE room_id IN (SELECT value FROM json_each(?))"
            " AND user_id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(room_ids)), json.dumps(list(user_ids))),
        )
    }


async def user_room_levels(conn: AsyncConnection, user_id: int) -> dict[int, str]:
    r = room_notification_settings.c
    rows = await conn.execute(select(r.room_id, r.level).where(r.user_id == user_id))
    return {row.room_id: row.level for row in rows}


async def put_room_level(
    conn: AsyncConnection, is_sqlite: bool, room_id: int, user_id: int, level: str
) -> None:
    stmt = _insert(room_notification_settings, is_sqlite).values(
        room_id=room_id, user_id=user_id, level=level
    )
    await conn.execute(
        stmt.on_conflict_do_update(index_elements=["room_id", "user_id"], set_={"level": level})
    )


async def digests_due(conn: AsyncConnection, now: int) -> list[tuple[int, str]]:
    """(user, address) of digest subscribers with unread, unmailed notifications whose
    last digest is at least their interval old."""
    s, n = notification_settings.c, notifications.c
    rows = await conn.execute(
        select(s.user_id, s.email, s.digest_minutes, s.last_digest_at)
        .where(s.email_mode == "digest", s.email.is_not(None))
        .where(
            select(n.id)
            .where(n.user_id == s.user_id, n.read_at.is_(None), n.emailed_at.is_(None))
            .exists()
        )
    )
    return [
        (r.user_id, r.email)
        for r in rows
        if r.last_digest_at is None or now - r.last_digest_at >= r.digest_minutes * 60_000_000
    ]


async def digest_items(conn: AsyncConnection, user_id: int) -> list[InboxItem]:
    n = notifications.c
    rows = await conn.execute(
        _item_query()
        .where(n.user_id == user_id, n.read_at.is_(None), n.emailed_at.is_(None))
        .order_by(n.id)
    )
    return [_item(r) for r in rows]


async def digest_sent(conn: AsyncConnection, user_id: int, ids: Sequence[int], now: int) -> None:
    await conn.execute(
        update(notifications).where(notifications.c.id.in_(list(ids))).values(emailed_at=now)
    )
    await conn.execute(
        update(notification_settings)
        .where(notification_settings.c.user_id == user_id)
        .values(last_digest_at=now)
    )


async def stored_messages(
    conn: AsyncConnection, keys: Sequence[tuple[int, int, str]]
) -> dict[tuple[int, int, str], Message]:
    """The stored messages of (room, sender, client_id) keys, as the Kafka records name them,
    with their mentions: what deciding needs, and no more. Two queries, not
    ``read_messages``' five (its reactions, reply previews and files are never shown in a
    notification, and were a third of the worker's look-up per batch)."""
    if not keys:
        return {}
    m = messages.c
    found = [
        message_from_row(row)
        for row in await conn.execute(
            message_query().where(
                tuple_(m.room_id, m.sender_id, m.client_id).in_([tuple(k) for k in keys])
            )
        )
    ]
    live = [x.id for x in found if not x.deleted]
    mentioned = await mentions_of(conn, live) if live else {}
    return {
        (x.room_id, x.sender.id, x.client_id or ""): dataclasses.replace(
            x, mentions=tuple(mentioned.get(x.id, ()))
        )
        for x in found
    }
