"""Full-text search over messages, one query per database.

PostgreSQL matches a stored ``to_tsvector('english', body)`` column (GIN-indexed with the
room, live messages only) against ``websearch_to_tsquery`` and cuts snippets with ``ts_headline``.
SQLite matches the FTS5 table ``messages_fts``, kept in step with ``messages`` by
triggers, so an edit is found by its new words and a delete by none. Both stem English
words. Results come only from rooms the viewer is a member of at the time of the query,
newest first; a deleted message never matches.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    case,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from parley.models import SearchFilter, SearchHit
from parley.store.rows import MESSAGE_COLUMNS, decorate
from parley.store.schema import members, messages, users

HIT_START, HIT_END = "\x02", "\x03"
"""Snippet markers: control characters, which ``validation.body`` refuses, so a stored body
never holds one and every marker in a snippet is the database's own."""

TS_CONFIG: Any = literal_column("'english'::regconfig")
"""The stored column's configuration (migration 0006), so query and index stem alike."""

HEADLINE_OPTIONS = f'StartSel="{HIT_START}", StopSel="{HIT_END}", MaxWords=30, MinWords=12'

MASKED, MASKS = "<&", "\x05\x06"
"""``ts_headline``'s parser reads ``<b>`` as a tag and ``&amp;`` as an entity and drops them
from the snippet; a body is shown as text, so they are masked (with more refused control
characters) on the way in and put back in ``snippet_parts``."""
_UNMASK = str.maketrans(MASKS, MASKED)

SEARCH_VECTOR: Any = column("search")
"""PostgreSQL's stored ``to_tsvector('english', body)`` (migration 0006): a match needing a
recheck (a phrase, a lossy page of the index) reads it instead of parsing the body again.
Not in ``schema.metadata``, which SQLite shares."""

messages_fts = table("messages_fts", column("rowid"))
"""The SQLite FTS5 table (migration 0006); not in ``schema.metadata``, which SQLite alone has."""

_TERM = re.compile(r'"([^"]*)"?|(\S+)')


def fts5_query(text: str) -> str | None:
    """Web-search syntax as in PostgreSQL's ``websearch_to_tsquery``, for FTS5.

    Words and "quoted phrases" must all match, ``-word`` must not, ``or`` separates
    alternatives. Every term is sent as an FTS5 string, so nothing a user types is read as
    FTS5 syntax. None: nothing to look for (say, only exclusions).
    """
    groups: list[list[str]] = [[]]
    for phrase, word in _TERM.findall(text):
        if word.lower() == "or":
            groups.append([])
            continue
        negated = bool(word) and word.startswith("-") and len(word) > 1
        term = phrase if not word else word[1:] if negated else word
        if not term.strip():
            continue
        quoted = '"' + term.replace('"', '""') + '"'
        groups[-1].append(f"NOT {quoted}" if negated else quoted)
    alternatives = [
        "(" + " ".join(sorted(group, key=lambda t: t.startswith("NOT "))) + ")"
        for group in groups
        if any(not t.startswith("NOT ") for t in group)
    ]
    return " OR ".join(alternatives) or None


def snippet_parts(marked: str) -> tuple[tuple[str, bool], ...]:
    """Split a snippet with ``HIT_START``/``HIT_END`` markers into (text, is a hit) parts."""
    parts: list[tuple[str, bool]] = []
    for n, piece in enumerate(re.split(f"[{HIT_START}{HIT_END}]", marked.translate(_UNMASK))):
        hit = n % 2 == 1
        if not piece:
            continue
        if parts and parts[-1][1] == hit:
            parts[-1] = (parts[-1][0] + piece, hit)
        else:
            parts.append((piece, hit))
    return tuple(parts)


MAX_ROOM_TERMS = 64
"""Above this many rooms the FTS5 query leaves the room terms out (each is one more doclist
to step through per candidate) and the membership join alone filters."""


def _narrowed(query: Any, wanted: SearchFilter, order: Any) -> Any:
    """The filters besides membership and the room: live messages, sender, dates, page."""
    query = query.where(messages.c.deleted_at.is_(None))
    if wanted.sender is not None:
        sender = select(users.c.id).where(users.c.username == wanted.sender).scalar_subquery()
        query = query.where(messages.c.sender_id == sender)
    if wanted.after is not None:
        query = query.where(messages.c.created_at >= wanted.after)
    if wanted.before is not None:
        query = query.where(messages.c.created_at < wanted.before)
    if wanted.cursor is not None:
        query = query.where(order < wanted.cursor)
    return query


def _member_rooms(wanted: SearchFilter) -> Any:
    query = select(members.c.room_id).where(members.c.user_id == wanted.viewer_id)
    if wanted.room_id is not None:
        query = query.where(members.c.room_id == wanted.room_id)
    return query


def _fts5_rooms(match: str, room_ids: Sequence[int]) -> str:
    """The body match, narrowed inside the index to the rooms searched.

    Without the room terms FTS5 walks every match newest first and the join throws away
    those of other rooms: a common word in busy rooms the viewer is not in costs a walk
    over all of them before the first hit. The ``room_id`` column (migration 0010) lets
    FTS5 skip to the viewer's rooms through its doclist index.
    """
    body = f"body : ({match})"
    if len(room_ids) > MAX_ROOM_TERMS:
        return body
    return body + " AND room_id : (" + " OR ".join(f'"{r}"' for r in room_ids) + ")"


async def _page_sqlite(conn: AsyncConnection, wanted: SearchFilter, match: str) -> list[int]:
    room_ids = (await conn.execute(_member_rooms(wanted))).scalars().all()
    if not room_ids:
        return []
    page = (
        select(messages_fts.c.rowid)
        .select_from(messages_fts)
        .join(messages, messages.c.id == messages_fts.c.rowid)
        .where(
            literal_column("messages_fts").op("MATCH")(_fts5_rooms(match, room_ids)),
            # The authority on membership: the room terms only narrow the walk.
            messages.c.room_id.in_(_member_rooms(wanted)),
        )
    )
    # FTS5 walks its rowids (the message ids) newest first and stops at the limit.
    query = _narrowed(page, wanted, messages_fts.c.rowid)
    query = query.order_by(messages_fts.c.rowid.desc()).limit(wanted.limit + 1)
    return list((await conn.execute(query)).scalars().all())


async def _page_postgres(conn: AsyncConnection, wanted: SearchFilter, tsquery: Any) -> list[int]:
    """Newest first per room, then across the rooms; the newest room first, alone.

    One scan over the whole table for the newest matches reads those of rooms the viewer
    is not in first, so each member room is searched on its own (``_in_room``). That
    costs a room's every match when the planner takes GIN (a word in about 1 % of
    messages: hundreds per room, each read from the heap), so a room that cannot hold
    any of the newest matches is not searched: the room with the newest message is
    searched first, and if it has ``limit + 1`` matches, a room whose newest message is
    older than the last of them is left out (a one-time filter: its scan never starts).
    A room's newest message by seq is its newest by id (its messages are inserted in seq
    order under the room's row lock). One statement: no round trip more than before.
    """
    want = wanted.limit + 1
    top = (
        select(messages.c.id)
        .where(messages.c.room_id == members.c.room_id)
        .order_by(messages.c.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    tops = select(members.c.room_id, top.label("top")).where(members.c.user_id == wanted.viewer_id)
    if wanted.room_id is not None:
        tops = tops.where(members.c.room_id == wanted.room_id)
    rooms = tops.cte("tops")
    newest_room = (
        select(rooms.c.room_id)
        .where(rooms.c.top.is_not(None))
        .order_by(rooms.c.top.desc())
        .limit(1)
        .scalar_subquery()
    )
    first = _in_room(wanted, tsquery, newest_room).cte("first")
    floor = (
        select(case((func.count() == want, func.min(first.c.id))))
        .select_from(first)
        .scalar_subquery()
    )
    rest = _in_room(
        wanted,
        tsquery,
        rooms.c.room_id,
        rooms.c.room_id != newest_room,
        or_(floor.is_(None), rooms.c.top > floor),
    ).lateral("rest")
    query = union_all(select(first.c.id), select(rest.c.id).select_from(rooms).join(rest, true()))
    query = query.order_by(literal_column("id").desc()).limit(want)
    return list((await conn.execute(query)).scalars().all())


def _in_room(wanted: SearchFilter, tsquery: Any, room_id: Any, *more: Any) -> Any:
    """Up to ``limit + 1`` newest matches of one room.

    The planner picks: backwards on ``(room_id, seq)`` for a common word, the GIN index on
    ``(room_id, search)`` (migration 0010) for a rarer one, which yields that room's
    matches alone.
    """
    query = select(messages.c.id.label("id")).where(
        messages.c.room_id == room_id, SEARCH_VECTOR.op("@@")(tsquery), *more
    )
    return (
        _narrowed(query, wanted, messages.c.id)
        .order_by(messages.c.seq.desc())
        .limit(wanted.limit + 1)
    )


async def search(
    conn: AsyncConnection, wanted: SearchFilter, *, sqlite: bool
) -> tuple[list[SearchHit], bool]:
    """Up to ``wanted.limit`` hits, newest first, and whether there are more.

    Two steps: the ids of the page, then those rows with their snippets. In one query the
    snippet of every match would be cut before the sort keeps the newest few (SQLite's
    sorter carries whole rows), which costs most with the most common words.
    """
    fts: Any = literal_column("messages_fts")
    if sqlite:
        match = fts5_query(wanted.text)
        if match is None:
            return [], False
        ids = await _page_sqlite(conn, wanted, match)
        snippet = func.snippet(fts, 0, HIT_START, HIT_END, "…", 24)
        rows_query = (
            select(*MESSAGE_COLUMNS, snippet)
            .select_from(messages_fts)
            .join(messages, messages.c.id == messages_fts.c.rowid)
            .where(
                fts.op("MATCH")(f"body : ({match})"),
                messages_fts.c.rowid.in_(ids[: wanted.limit]),
            )
        )
    else:
        tsquery = func.websearch_to_tsquery(TS_CONFIG, wanted.text)
        ids = await _page_postgres(conn, wanted, tsquery)
        headline = func.ts_headline(
            TS_CONFIG,
            func.translate(messages.c.body, MASKED, MASKS),
            tsquery,
            literal(HEADLINE_OPTIONS),
        )
        rows_query = select(*MESSAGE_COLUMNS, headline).where(
            messages.c.id.in_(ids[: wanted.limit])
        )
    if not ids:
        return [], False
    rows = (
        await conn.execute(
            rows_query.join(users, users.c.id == messages.c.sender_id).order_by(
                messages.c.id.desc()
            )
        )
    ).all()
    found = await decorate(conn, [row[: len(MESSAGE_COLUMNS)] for row in rows])
    hits = [
        SearchHit(message, snippet_parts(row[-1])) for message, row in zip(found, rows, strict=True)
    ]
    return hits, len(ids) > wanted.limit
