"""Storing a batch of drafts: one algorithm, with its statements for SQLite and PostgreSQL.

Per batch: which senders are members, which client_ids are already stored
(a retry returns the original), then a range of seqs per room, the rows, and
the senders' read markers. The algorithm is written once (``append_many``);
``Statements`` runs its five queries.

* ``CoreStatements`` uses SQLAlchemy Core: SQLite runs in-process and holds
  the database write lock, so a statement per room costs little.
* ``PostgresStatements`` sends each step as one statement over asyncpg, rows
  passed as arrays (``unnest``). A persister batch is then five round trips
  whatever its size; through SQLAlchemy, with a statement per room, the
  statements cost more than the rows (about 2 ms of CPU per batch).

Seq ranges come from ``UPDATE rooms SET last_seq = last_seq + n ... RETURNING``
with the room rows locked in id order, so concurrent batches sharing rooms
queue up instead of deadlocking, and get contiguous, non-overlapping ranges.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from parley.models import Draft, Message
from parley.store.rows import message_from_row, message_query
from parley.store.schema import members, messages, rooms

Key = tuple[int, int, str]
"""(room, sender, client_id): what makes a retried send the same message."""


@dataclass(frozen=True, slots=True)
class Row:
    """A message to insert, with its seq already taken."""

    room_id: int
    seq: int
    sender_id: int
    body: str
    client_id: str | None
    created_at: int


class Statements(Protocol):
    async def members(self, pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
        """Which of the (room, user) pairs are memberships."""

    async def originals(self, keys: set[Key]) -> list[Message]:
        """The stored messages with these keys."""

    async def reserve(self, wanted: dict[int, tuple[int, int]]) -> dict[int, int]:
        """Take n seqs in each room of {room: (n, latest created_at)}; return each new last_seq."""

    async def insert(self, rows: list[Row]) -> list[int]:
        """Insert the rows; return their ids, in the same order."""

    async def mark_read(self, marks: dict[tuple[int, int], int]) -> None:
        """Move each (room, user) read marker forward to seq, never back."""


async def append_many(db: Statements, drafts: Sequence[Draft]) -> list[Message | None]:
    """Store drafts in order; a retried client_id returns the original message.

    Returns None in place of a draft whose sender is not a member of its room.
    """
    membership = await db.members({(d.room_id, d.sender.id) for d in drafts})
    keys = {(d.room_id, d.sender.id, d.client_id) for d in drafts if d.client_id is not None}
    originals = {_key(m): m for m in await db.originals(keys)} if keys else {}

    fresh: list[int] = []
    seen: set[Key] = set()
    for i, d in enumerate(drafts):
        if (d.room_id, d.sender.id) not in membership:
            continue
        if d.client_id is not None:
            key = (d.room_id, d.sender.id, d.client_id)
            if key in originals or key in seen:
                continue
            seen.add(key)
        fresh.append(i)

    per_room: dict[int, list[int]] = defaultdict(list)
    for i in fresh:
        per_room[drafts[i].room_id].append(i)
    wanted = {
        room_id: (len(indices), max(drafts[i].created_at for i in indices))
        for room_id, indices in per_room.items()
    }
    last_seqs = await db.reserve(wanted) if wanted else {}
    seqs: dict[int, int] = {}
    for room_id, indices in per_room.items():
        first = last_seqs[room_id] - len(indices) + 1
        for offset, i in enumerate(indices):
            seqs[i] = first + offset

    stored: dict[int, Message] = {}
    if fresh:
        rows = [
            Row(d.room_id, seqs[i], d.sender.id, d.body, d.client_id, d.created_at)
            for i, d in ((i, drafts[i]) for i in fresh)
        ]
        for i, message_id in zip(fresh, await db.insert(rows), strict=True):
            d = drafts[i]
            stored[i] = Message(
                id=message_id,
                room_id=d.room_id,
                seq=seqs[i],
                sender=d.sender,
                body=d.body,
                created_at=d.created_at,
                client_id=d.client_id,
            )
        # Sending marks the room read up to your own message.
        read_up_to: dict[tuple[int, int], int] = {}
        for msg in stored.values():
            pair = (msg.room_id, msg.sender.id)
            read_up_to[pair] = max(read_up_to.get(pair, 0), msg.seq)
        await db.mark_read(read_up_to)

    first_of: dict[Key, Message] = dict(originals)
    for msg in stored.values():
        if msg.client_id is not None:
            first_of[_key(msg)] = msg
    out: list[Message | None] = []
    for i, d in enumerate(drafts):
        if i in stored:
            out.append(stored[i])
        elif d.client_id is not None:
            out.append(first_of.get((d.room_id, d.sender.id, d.client_id)))
        else:
            out.append(None)
    return out


def _key(message: Message) -> Key:
    return (message.room_id, message.sender.id, message.client_id or "")


class CoreStatements:
    """SQLAlchemy Core, in a transaction the caller began (SQLite, the embedded default)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def members(self, pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
        result = await self._conn.execute(
            select(members.c.room_id, members.c.user_id).where(
                tuple_(members.c.room_id, members.c.user_id).in_(pairs)
            )
        )
        return {(row.room_id, row.user_id) for row in result}

    async def originals(self, keys: set[Key]) -> list[Message]:
        result = await self._conn.execute(
            message_query().where(
                tuple_(messages.c.room_id, messages.c.sender_id, messages.c.client_id).in_(keys)
            )
        )
        return [message_from_row(row) for row in result]

    async def reserve(self, wanted: dict[int, tuple[int, int]]) -> dict[int, int]:
        out: dict[int, int] = {}
        for room_id in sorted(wanted):
            count, latest = wanted[room_id]
            out[room_id] = (
                await self._conn.execute(
                    rooms.update()
                    .where(rooms.c.id == room_id)
                    .values(
                        last_seq=rooms.c.last_seq + count,
                        last_activity_at=func.max(rooms.c.last_activity_at, latest),
                    )
                    .returning(rooms.c.last_seq)
                )
            ).scalar_one()
        return out

    async def insert(self, rows: list[Row]) -> list[int]:
        result = await self._conn.execute(
            messages.insert().returning(messages.c.id, sort_by_parameter_order=True),
            [
                {
                    "room_id": r.room_id,
                    "seq": r.seq,
                    "sender_id": r.sender_id,
                    "body": r.body,
                    "client_id": r.client_id,
                    "created_at": r.created_at,
                }
                for r in rows
            ],
        )
        return [row.id for row in result]

    async def mark_read(self, marks: dict[tuple[int, int], int]) -> None:
        for (room_id, user_id), seq in marks.items():
            await self._conn.execute(
                members.update()
                .where(
                    members.c.room_id == room_id,
                    members.c.user_id == user_id,
                    members.c.last_read_seq < seq,
                )
                .values(last_read_seq=seq)
            )


class PostgresStatements:
    """One statement per step over asyncpg, in a transaction the caller began."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def members(self, pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
        room_ids, user_ids = _columns(pairs, 2)
        found = await self._conn.fetch(
            "SELECT m.room_id, m.user_id FROM members m"
            " JOIN unnest($1::bigint[], $2::bigint[]) AS k(room_id, user_id)"
            " ON m.room_id = k.room_id AND m.user_id = k.user_id",
            room_ids,
            user_ids,
        )
        return {(r[0], r[1]) for r in found}

    async def originals(self, keys: set[Key]) -> list[Message]:
        room_ids, sender_ids, client_ids = _columns(keys, 3)
        found = await self._conn.fetch(
            # The columns of rows.MESSAGE_COLUMNS, in its order.
            "SELECT m.id, m.room_id, m.seq, m.body, m.client_id, m.created_at,"
            " u.id, u.username, u.display_name"
            " FROM unnest($1::bigint[], $2::bigint[], $3::text[])"
            " AS k(room_id, sender_id, client_id)"
            " JOIN messages m ON m.room_id = k.room_id AND m.sender_id = k.sender_id"
            " AND m.client_id = k.client_id"
            " JOIN users u ON u.id = m.sender_id",
            room_ids,
            sender_ids,
            client_ids,
        )
        return [message_from_row(r) for r in found]

    async def reserve(self, wanted: dict[int, tuple[int, int]]) -> dict[int, int]:
        ids = sorted(wanted)
        await self._conn.execute(
            "SELECT id FROM rooms WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE", ids
        )
        found = await self._conn.fetch(
            "UPDATE rooms SET last_seq = rooms.last_seq + k.n,"
            " last_activity_at = greatest(rooms.last_activity_at, k.latest)"
            " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS k(id, n, latest)"
            " WHERE rooms.id = k.id RETURNING rooms.id, rooms.last_seq",
            ids,
            [wanted[i][0] for i in ids],
            [wanted[i][1] for i in ids],
        )
        return {r[0]: r[1] for r in found}

    async def insert(self, rows: list[Row]) -> list[int]:
        # (room_id, seq) is unique, so ids are matched back by it, not by row order.
        found = await self._conn.fetch(
            "INSERT INTO messages (room_id, seq, sender_id, body, client_id, created_at)"
            " SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[],"
            " $5::text[], $6::bigint[])"
            " RETURNING room_id, seq, id",
            [r.room_id for r in rows],
            [r.seq for r in rows],
            [r.sender_id for r in rows],
            [r.body for r in rows],
            [r.client_id for r in rows],
            [r.created_at for r in rows],
        )
        ids = {(r[0], r[1]): r[2] for r in found}
        return [ids[(r.room_id, r.seq)] for r in rows]

    async def mark_read(self, marks: dict[tuple[int, int], int]) -> None:
        # The room rows are locked (``reserve``), which orders concurrent batches,
        # so the member rows need no lock order of their own.
        pairs = list(marks)
        await self._conn.execute(
            "UPDATE members SET last_read_seq = k.seq"
            " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS k(room_id, user_id, seq)"
            " WHERE members.room_id = k.room_id AND members.user_id = k.user_id"
            " AND members.last_read_seq < k.seq",
            [p[0] for p in pairs],
            [p[1] for p in pairs],
            [marks[p] for p in pairs],
        )


def _columns(items: set[Any], width: int) -> list[list[Any]]:
    """Rows of a set as one list per column, the shape ``unnest`` takes."""
    columns: list[list[Any]] = [[] for _ in range(width)]
    for item in items:
        for column, value in zip(columns, item, strict=True):
            column.append(value)
    return columns
