"""Storing a batch of drafts: one algorithm, with its statements for SQLite and PostgreSQL.

Per batch: which senders are members (and their roles), which client_ids are
already stored (a retry returns the original entry), then for room events and
replies the messages they point at, a range of seqs per room, the rows, and
the senders' read markers. The algorithm is written once (``append_many``);
``Statements`` runs its queries.

* ``CoreStatements`` uses SQLAlchemy Core: SQLite runs in-process and holds
  the database write lock, so a statement per room costs little. It runs every
  step, plain messages and the room stream's (``StreamStatements``), on both
  databases.
* ``SqliteStatements`` runs the same steps of a batch of plain messages on a
  ``sqlite3`` connection, synchronously: the whole batch, commit included, is
  one call into the thread that owns the connection, where through aiosqlite
  every statement (and the ``BEGIN`` and ``COMMIT``) is a round trip of its own
  between the event loop and SQLite's thread. With one message per batch (a
  room at a chat's pace) those wake-ups were most of the store's cost. Like
  ``append_plain``, it raises ``Fallback`` for a retried client_id.
* ``append_plain`` stores a PostgreSQL batch of plain messages (no reply, no
  ``@``, no attachment, not a room event) with one call of the server-side
  function ``parley_append`` (migration 0014), in autocommit: one round trip per
  batch, commit included, where the same steps as statements were eight (BEGIN,
  six statements, COMMIT), most of a message's way from send to delivery under
  load. For a retried client_id it raises ``Fallback`` with nothing written: the
  caller reruns the batch with ``CoreStatements``, which returns the original.

Seq ranges come from ``UPDATE rooms SET last_seq = last_seq + n ... RETURNING``
with the room rows locked in id order, so concurrent batches sharing rooms
queue up instead of deadlocking, and get contiguous, non-overlapping ranges.
Messages and room events share that counter. A room event is checked against
its target (and the batch's earlier events) before any seq is taken, so a
refused event leaves no gap.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections import defaultdict
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

import asyncpg
from sqlalchemy import and_, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from parley.models import (
    Attachment,
    Draft,
    Entry,
    EventKind,
    Message,
    ReplyPreview,
    RoomEvent,
)
from parley.protocol.mentions import mentioned
from parley.store import files as stored_files
from parley.store.base import Outcome, Refusal
from parley.store.rows import (
    decorate,
    event_from_row,
    event_query,
    ids_to_text,
    message_from_row,
    message_query,
    preview,
)
from parley.store.schema import (
    ADMIN,
    OWNER,
    members,
    mentions,
    messages,
    reactions,
    room_events,
    rooms,
    users,
)

T = TypeVar("T")

Key = tuple[int, int, str]
"""(room, sender, client_id): what makes a retried send the same entry."""


class Fallback(Exception):
    """The batch needs a step the fast paths leave to ``CoreStatements``."""


@dataclass(frozen=True, slots=True)
class Row:
    """A message to insert, with its seq already taken."""

    room_id: int
    seq: int
    sender_id: int
    body: str
    client_id: str | None
    created_at: int
    reply_to_seq: int | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """A message a room event changes or a reply quotes, as it is before the batch."""

    message_id: int
    sender_id: int
    preview: ReplyPreview


class Statements(Protocol):
    async def members(self, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], str]:
        """Which of the (room, user) pairs are memberships, with the member's role."""

    async def originals(self, keys: set[Key]) -> list[Entry]:
        """The stored entries (messages in their current state, events) with these keys."""

    async def reserve(self, wanted: dict[int, tuple[int, int]]) -> dict[int, int]:
        """Take n seqs in each room of {room: (n, latest created_at)}; return each new last_seq."""

    async def insert(self, rows: list[Row]) -> list[int]:
        """Insert the rows; return their ids, in the same order."""

    async def mark_read(self, marks: dict[tuple[int, int], int]) -> None:
        """Move each (room, user) read marker forward to seq, never back."""


class StreamStatements(Statements, Protocol):
    """The steps of replies, mentions and room events."""

    async def lock(self, room_ids: list[int]) -> None:
        """Lock the rooms (in id order) so targets read next stay as read until commit."""

    async def usernames(self, room_ids: set[int]) -> dict[int, dict[str, int]]:
        """Per room, its members' usernames and ids (for mentions)."""

    async def targets(self, keys: set[tuple[int, int]]) -> dict[tuple[int, int], Target]:
        """The messages at these (room, seq) that are not deleted."""

    async def reacted(self, keys: set[tuple[int, str, int]]) -> set[tuple[int, str, int]]:
        """Which (message id, emoji, user) reactions exist."""

    async def insert_mentions(self, pairs: list[tuple[int, int]]) -> None:
        """Store (message id, user id) mentions."""

    async def insert_events(self, events: list[RoomEvent]) -> list[int]:
        """Insert room events (their ``id`` is ignored); return their ids, in order."""

    async def apply(self, event: RoomEvent, message_id: int) -> None:
        """Change the target message's current state by one stored event."""

    async def claimable(
        self, ids: set[int], pairs: set[tuple[int, int]]
    ) -> set[tuple[int, int, int]]:
        """Which (file, room, uploader) of these files are unattached uploads of the pairs."""

    async def attach(self, carried: dict[int, int]) -> dict[int, tuple[Attachment, ...]]:
        """Mark each file of {file id: message id} carried by that message; return each
        message's attachments."""


async def append_many(
    db: Statements, drafts: Sequence[Draft], stream: StreamStatements | None = None
) -> list[Outcome]:
    """Store drafts in order; a retried client_id returns the original entry.

    ``stream``: the statements for replies, mentions and room events (the same
    object as ``db`` when it has them); without it such a batch raises ``Fallback``.
    """
    rich = not all(d.plain for d in drafts)
    if rich and stream is None:
        raise Fallback
    roles = await db.members({(d.room_id, d.sender.id) for d in drafts})
    keys = {(d.room_id, d.sender.id, d.client_id) for d in drafts if d.client_id is not None}
    originals = {_key(e): e for e in await db.originals(keys)} if keys else {}

    outcome: dict[int, Outcome] = {}
    fresh: list[int] = []
    first: dict[Key, int] = {}
    for i, d in enumerate(drafts):
        if (d.room_id, d.sender.id) not in roles and not d.moderated:
            outcome[i] = Refusal.NOT_MEMBER
            continue
        if d.client_id is not None:
            key = (d.room_id, d.sender.id, d.client_id)
            if key in originals:
                outcome[i] = originals[key]
                continue
            if key in first:
                continue
            first[key] = i
        fresh.append(i)

    targets: dict[tuple[int, int], Target] = {}
    mentions_of: dict[int, tuple[int, ...]] = {}
    if rich and fresh:
        assert stream is not None
        fresh, targets = await _check(stream, drafts, fresh, roles, outcome)
        fresh = await _claim(stream, drafts, fresh, outcome)
        with_at = {drafts[i].room_id for i in fresh if "@" in drafts[i].body}
        if with_at:
            names = await stream.usernames(with_at)
            for i in fresh:
                d = drafts[i]
                if d.kind in ("message", "edit") and d.room_id in with_at:
                    mentions_of[i] = mentioned(d.body, names.get(d.room_id, {}))

    per_room: dict[int, list[int]] = defaultdict(list)
    for i in fresh:
        per_room[drafts[i].room_id].append(i)
    wanted = {
        room_id: (
            len(indices),
            max((drafts[i].created_at for i in indices if drafts[i].kind == "message"), default=0),
        )
        for room_id, indices in per_room.items()
    }
    last_seqs = await db.reserve(wanted) if wanted else {}
    seqs: dict[int, int] = {}
    for room_id, indices in per_room.items():
        start = last_seqs[room_id] - len(indices) + 1
        for offset, i in enumerate(indices):
            seqs[i] = start + offset

    new_messages = [i for i in fresh if drafts[i].kind == "message"]
    if new_messages:
        await _store_messages(db, stream, drafts, new_messages, seqs, targets, mentions_of, outcome)
    changes = [i for i in fresh if drafts[i].kind != "message"]
    if changes:
        assert stream is not None
        await _store_events(stream, drafts, changes, seqs, targets, mentions_of, outcome)

    out: list[Outcome] = []
    for i, d in enumerate(drafts):
        found = outcome.get(i)
        if found is None:
            # A duplicate client_id within the batch: the first one's outcome.
            assert d.client_id is not None
            found = outcome[first[(d.room_id, d.sender.id, d.client_id)]]
        out.append(found)
    return out


async def _check(
    db: StreamStatements,
    drafts: Sequence[Draft],
    fresh: list[int],
    roles: dict[tuple[int, int], str],
    outcome: dict[int, Outcome],
) -> tuple[list[int], dict[tuple[int, int], Target]]:
    """Refuse the drafts whose target is missing or not theirs to change; keep the rest.

    Events are checked in order against the state the batch's earlier events
    leave (a delete then an edit of the same message: the edit finds nothing).
    """
    await db.lock(sorted({drafts[i].room_id for i in fresh}))
    wanted = {(drafts[i].room_id, t) for i in fresh if (t := drafts[i].target) is not None}
    targets = await db.targets(wanted) if wanted else {}
    reaction_keys: set[tuple[int, str, int]] = set()
    for i in fresh:
        d = drafts[i]
        found = targets.get((d.room_id, d.target or 0))
        if d.kind in ("react", "unreact") and found is not None:
            reaction_keys.add((found.message_id, d.emoji or "", d.sender.id))
    present = await db.reacted(reaction_keys) if reaction_keys else set()
    deleted: set[tuple[int, int]] = set()
    kept: list[int] = []
    for i in fresh:
        d = drafts[i]
        if d.target is None:
            kept.append(i)
            continue
        where = (d.room_id, d.target)
        found = targets.get(where)
        if found is None or (d.kind != "message" and where in deleted):
            outcome[i] = Refusal.NO_TARGET
            continue
        mine = found.sender_id == d.sender.id
        # A site admin's moderation delete may be of anyone's message, in any room.
        may_delete = mine or d.moderated or roles.get((d.room_id, d.sender.id)) in (OWNER, ADMIN)
        if (d.kind == "edit" and not mine) or (d.kind == "delete" and not may_delete):
            outcome[i] = Refusal.NOT_ALLOWED
            continue
        reaction = (found.message_id, d.emoji or "", d.sender.id)
        if d.kind == "react":
            if reaction in present:
                outcome[i] = Refusal.UNCHANGED
                continue
            present.add(reaction)
        elif d.kind == "unreact":
            if reaction not in present:
                outcome[i] = Refusal.UNCHANGED
                continue
            present.discard(reaction)
        elif d.kind == "delete":
            deleted.add(where)
        kept.append(i)
    return kept, targets


async def _claim(
    db: StreamStatements, drafts: Sequence[Draft], fresh: list[int], outcome: dict[int, Outcome]
) -> list[int]:
    """Refuse the messages whose attachments are not all the sender's unattached uploads in
    the room, or are taken by an earlier message of the batch; keep the rest."""
    carrying = [i for i in fresh if drafts[i].attachments]
    if not carrying:
        return fresh
    free = {
        file_id: (room_id, uploader_id)
        for file_id, room_id, uploader_id in await db.claimable(
            {f for i in carrying for f in drafts[i].attachments},
            {(drafts[i].room_id, drafts[i].sender.id) for i in carrying},
        )
    }
    kept: list[int] = []
    for i in fresh:
        d = drafts[i]
        wanted = set(d.attachments)
        if any(free.get(f) != (d.room_id, d.sender.id) for f in wanted):
            outcome[i] = Refusal.NO_FILE
            continue
        for f in wanted:
            del free[f]
        kept.append(i)
    return kept


async def _store_messages(
    db: Statements,
    stream: StreamStatements | None,
    drafts: Sequence[Draft],
    indices: list[int],
    seqs: dict[int, int],
    targets: dict[tuple[int, int], Target],
    mentions_of: dict[int, tuple[int, ...]],
    outcome: dict[int, Outcome],
) -> None:
    rows = [
        Row(d.room_id, seqs[i], d.sender.id, d.body, d.client_id, d.created_at, d.target)
        for i, d in ((i, drafts[i]) for i in indices)
    ]
    mention_rows: list[tuple[int, int]] = []
    read_up_to: dict[tuple[int, int], int] = {}
    carried: dict[int, int] = {}
    for i, message_id in zip(indices, await db.insert(rows), strict=True):
        d = drafts[i]
        carried.update((f, message_id) for f in d.attachments)
        reply = targets.get((d.room_id, d.target)) if d.target is not None else None
        outcome[i] = Message(
            id=message_id,
            room_id=d.room_id,
            seq=seqs[i],
            sender=d.sender,
            body=d.body,
            created_at=d.created_at,
            client_id=d.client_id,
            reply_to=None if reply is None else reply.preview,
            mentions=mentions_of.get(i, ()),
        )
        mention_rows.extend((message_id, user) for user in mentions_of.get(i, ()))
        # Sending marks the room read up to your own message.
        pair = (d.room_id, d.sender.id)
        read_up_to[pair] = max(read_up_to.get(pair, 0), seqs[i])
    if mention_rows:
        assert stream is not None
        await stream.insert_mentions(mention_rows)
    if carried:
        assert stream is not None
        with_files = await stream.attach(carried)
        for i in indices:
            message = outcome[i]
            if isinstance(message, Message) and message.id in with_files:
                outcome[i] = dataclasses.replace(message, attachments=with_files[message.id])
    await db.mark_read(read_up_to)


async def _store_events(
    db: StreamStatements,
    drafts: Sequence[Draft],
    indices: list[int],
    seqs: dict[int, int],
    targets: dict[tuple[int, int], Target],
    mentions_of: dict[int, tuple[int, ...]],
    outcome: dict[int, Outcome],
) -> None:
    """Insert the events, then apply each to its target in seq order."""
    built = [
        RoomEvent(
            id=0,
            room_id=d.room_id,
            seq=seqs[i],
            kind=cast(EventKind, d.kind),
            sender=d.sender,
            target=d.target or 0,
            created_at=d.created_at,
            client_id=d.client_id,
            body=d.body if d.kind == "edit" else None,
            mentions=mentions_of.get(i, ()),
            emoji=d.emoji if d.kind in ("react", "unreact") else None,
        )
        for i, d in ((i, drafts[i]) for i in indices)
    ]
    for i, event, event_id in zip(indices, built, await db.insert_events(built), strict=True):
        stored = dataclasses.replace(event, id=event_id)
        await db.apply(stored, targets[(event.room_id, event.target)].message_id)
        outcome[i] = stored


def run_to_end(coroutine: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that never suspends (``append_many`` over
    ``SqliteStatements``), run here and now, outside any event loop: how the
    one algorithm runs whole in SQLite's thread."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    coroutine.close()
    raise RuntimeError("a statement suspended outside the event loop")


def _key(entry: Entry) -> Key:
    return (entry.room_id, entry.sender.id, entry.client_id or "")


class CoreStatements:
    """SQLAlchemy Core, in a transaction the caller began: every step, on either database."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._greatest = func.max if conn.dialect.name == "sqlite" else func.greatest

    async def members(self, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], str]:
        result = await self._conn.execute(
            select(members.c.room_id, members.c.user_id, members.c.role).where(
                tuple_(members.c.room_id, members.c.user_id).in_(pairs)
            )
        )
        return {(row.room_id, row.user_id): row.role for row in result}

    async def originals(self, keys: set[Key]) -> list[Entry]:
        found: list[Entry] = []
        rows = await self._conn.execute(
            message_query().where(
                tuple_(messages.c.room_id, messages.c.sender_id, messages.c.client_id).in_(keys)
            )
        )
        found.extend(await decorate(self._conn, rows.all()))
        events = await self._conn.execute(
            event_query().where(
                tuple_(room_events.c.room_id, room_events.c.sender_id, room_events.c.client_id).in_(
                    keys
                )
            )
        )
        found.extend(event_from_row(row) for row in events)
        return found

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
                        last_activity_at=self._greatest(rooms.c.last_activity_at, latest),
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
                    "reply_to_seq": r.reply_to_seq,
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

    async def lock(self, room_ids: list[int]) -> None:
        # FOR UPDATE is left out on SQLite, whose write lock the transaction holds already.
        await self._conn.execute(
            select(rooms.c.id)
            .where(rooms.c.id.in_(room_ids))
            .order_by(rooms.c.id)
            .with_for_update()
        )

    async def usernames(self, room_ids: set[int]) -> dict[int, dict[str, int]]:
        found: dict[int, dict[str, int]] = defaultdict(dict)
        for room_id, user_id, username in await self._conn.execute(
            select(members.c.room_id, users.c.id, users.c.username)
            .join(users, users.c.id == members.c.user_id)
            .where(members.c.room_id.in_(room_ids))
        ):
            found[room_id][username] = user_id
        return found

    async def targets(self, keys: set[tuple[int, int]]) -> dict[tuple[int, int], Target]:
        rows = await self._conn.execute(
            message_query().where(
                tuple_(messages.c.room_id, messages.c.seq).in_(keys),
                messages.c.deleted_at.is_(None),
            )
        )
        found: dict[tuple[int, int], Target] = {}
        for row in rows:
            original = message_from_row(row)
            found[(original.room_id, original.seq)] = Target(
                original.id, original.sender.id, preview(original)
            )
        return found

    async def reacted(self, keys: set[tuple[int, str, int]]) -> set[tuple[int, str, int]]:
        r = reactions.c
        rows = await self._conn.execute(
            select(r.message_id, r.emoji, r.user_id).where(
                tuple_(r.message_id, r.emoji, r.user_id).in_(keys)
            )
        )
        return {(row[0], row[1], row[2]) for row in rows}

    async def insert_mentions(self, pairs: list[tuple[int, int]]) -> None:
        await self._conn.execute(
            mentions.insert(), [{"message_id": m, "user_id": u} for m, u in pairs]
        )

    async def insert_events(self, events: list[RoomEvent]) -> list[int]:
        result = await self._conn.execute(
            room_events.insert().returning(room_events.c.id, sort_by_parameter_order=True),
            [
                {
                    "room_id": e.room_id,
                    "seq": e.seq,
                    "kind": e.kind,
                    "sender_id": e.sender.id,
                    "target_seq": e.target,
                    "body": e.body,
                    "mentions": ids_to_text(e.mentions) if e.kind == "edit" else None,
                    "emoji": e.emoji,
                    "client_id": e.client_id,
                    "created_at": e.created_at,
                }
                for e in events
            ],
        )
        return [row.id for row in result]

    async def apply(self, event: RoomEvent, message_id: int) -> None:
        conn = self._conn
        target = messages.c.id == message_id
        if event.kind == "react":
            await conn.execute(
                reactions.insert().values(
                    message_id=message_id,
                    emoji=event.emoji,
                    user_id=event.sender.id,
                    created_at=event.created_at,
                )
            )
            return
        if event.kind == "unreact":
            await conn.execute(
                reactions.delete().where(
                    and_(
                        reactions.c.message_id == message_id,
                        reactions.c.emoji == event.emoji,
                        reactions.c.user_id == event.sender.id,
                    )
                )
            )
            return
        await conn.execute(mentions.delete().where(mentions.c.message_id == message_id))
        if event.kind == "edit":
            await conn.execute(
                messages.update().where(target).values(body=event.body, edited_at=event.created_at)
            )
            if event.mentions:
                await self.insert_mentions([(message_id, u) for u in event.mentions])
            return
        # A delete leaves a tombstone: no text, mentions or reactions.
        await conn.execute(reactions.delete().where(reactions.c.message_id == message_id))
        await conn.execute(
            messages.update().where(target).values(body="", deleted_at=event.created_at)
        )

    async def claimable(
        self, ids: set[int], pairs: set[tuple[int, int]]
    ) -> set[tuple[int, int, int]]:
        return await stored_files.claimable(
            self._conn, ids, pairs, lock=self._conn.dialect.name != "sqlite"
        )

    async def attach(self, carried: dict[int, int]) -> dict[int, tuple[Attachment, ...]]:
        await stored_files.attach(self._conn, carried)
        return await stored_files.of_messages(self._conn, sorted(set(carried.values())))


class SqliteStatements:
    """The steps of plain messages on a ``sqlite3`` connection, in a transaction the
    caller began; no method suspends (see ``run_to_end``). A statement per item, each
    text fixed, so ``sqlite3``'s statement cache compiles each once."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def members(self, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], str]:
        found: dict[tuple[int, int], str] = {}
        for pair in pairs:
            row = self._conn.execute(
                "SELECT role FROM members WHERE room_id = ? AND user_id = ?", pair
            ).fetchone()
            if row is not None:
                found[pair] = row[0]
        return found

    async def originals(self, keys: set[Key]) -> list[Entry]:
        """None found, or ``Fallback``: an original is returned in its current state,
        which only ``CoreStatements`` reads."""
        for key in keys:
            if self._conn.execute(
                "SELECT EXISTS (SELECT 1 FROM messages"
                " WHERE room_id = ?1 AND sender_id = ?2 AND client_id = ?3)"
                " OR EXISTS (SELECT 1 FROM room_events"
                " WHERE room_id = ?1 AND sender_id = ?2 AND client_id = ?3)",
                key,
            ).fetchone()[0]:
                raise Fallback
        return []

    async def reserve(self, wanted: dict[int, tuple[int, int]]) -> dict[int, int]:
        out: dict[int, int] = {}
        for room_id in sorted(wanted):
            count, latest = wanted[room_id]
            out[room_id] = self._conn.execute(
                "UPDATE rooms SET last_seq = last_seq + ?,"
                " last_activity_at = max(last_activity_at, ?) WHERE id = ? RETURNING last_seq",
                (count, latest, room_id),
            ).fetchone()[0]
        return out

    async def insert(self, rows: list[Row]) -> list[int]:
        ids: list[int] = []
        for r in rows:
            cursor = self._conn.execute(
                "INSERT INTO messages (room_id, seq, sender_id, body, client_id, created_at,"
                " reply_to_seq) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (r.room_id, r.seq, r.sender_id, r.body, r.client_id, r.created_at, r.reply_to_seq),
            )
            assert cursor.lastrowid is not None
            ids.append(cursor.lastrowid)
        return ids

    async def mark_read(self, marks: dict[tuple[int, int], int]) -> None:
        self._conn.executemany(
            "UPDATE members SET last_read_seq = ?1"
            " WHERE room_id = ?2 AND user_id = ?3 AND last_read_seq < ?1",
            [(seq, room_id, user_id) for (room_id, user_id), seq in marks.items()],
        )


async def append_plain(conn: asyncpg.Connection, drafts: Sequence[Draft]) -> list[Outcome]:
    """Store a batch of plain messages with one call of ``parley_append``: one round trip.

    Run in autocommit (no transaction open on ``conn``): the call is its own
    transaction, so when it returns the messages are committed. What
    ``append_many`` does in Python is the function's (migration 0014), except
    that a batch's repeats of a (room, sender, client_id) are left out here and
    given the first one's outcome. Raises ``Fallback`` for a retried client_id,
    with nothing written: the originals are returned in their current state,
    which only ``CoreStatements`` reads.
    """
    first: dict[Key, int] = {}
    sent: list[int] = []
    for i, d in enumerate(drafts):
        if d.client_id is not None:
            key = (d.room_id, d.sender.id, d.client_id)
            if key in first:
                continue
            first[key] = i
        sent.append(i)
    batch = [drafts[i] for i in sent]
    found = await conn.fetch(
        "SELECT draft, message_id, message_seq FROM parley_append($1, $2, $3, $4, $5)",
        [d.room_id for d in batch],
        [d.sender.id for d in batch],
        [d.body for d in batch],
        [d.client_id for d in batch],
        [d.created_at for d in batch],
    )
    outcome: dict[int, Outcome] = {}
    for place, message_id, seq in found:
        if message_id is None:
            raise Fallback
        i = sent[place - 1]
        d = drafts[i]
        outcome[i] = Message(
            id=message_id,
            room_id=d.room_id,
            seq=seq,
            sender=d.sender,
            body=d.body,
            created_at=d.created_at,
            client_id=d.client_id,
        )
    return [
        outcome.get(
            i if d.client_id is None else first[(d.room_id, d.sender.id, d.client_id)],
            Refusal.NOT_MEMBER,
        )
        for i, d in enumerate(drafts)
    ]
