"""Web Push subscriptions: one row per browser (its push service ``endpoint``), per user.

Registering an endpoint again (the browser renewed its keys, or another user signed in on
it) replaces the row, so a device never gets two copies or someone else's messages. A user
holds at most ``MAX_PER_USER`` subscriptions: the oldest makes room. The user's row is
locked first on PostgreSQL, so two registrations at once never leave more than the cap.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, exists, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from parley.models import now_micros
from parley.store.schema import push_subscriptions, refresh_families, users

MAX_PER_USER = 20
"""Devices per user: more than anyone has, few enough that one message cannot fan out far."""

_s = push_subscriptions.c


@dataclass(frozen=True, slots=True)
class PushSubscription:
    """What a browser's ``PushSubscription.toJSON()`` gives: where to post, and the keys
    the payload is encrypted to (RFC 8291), base64url."""

    id: int
    user_id: int
    endpoint: str
    p256dh: str
    auth: str


async def add(
    conn: AsyncConnection,
    user_id: int,
    family: str | None,
    endpoint: str,
    p256dh: str,
    auth: str,
    *,
    sqlite: bool,
) -> None:
    lock = select(users.c.id).where(users.c.id == user_id)
    await conn.execute(lock if sqlite else lock.with_for_update())
    await conn.execute(delete(push_subscriptions).where(_s.endpoint == endpoint))
    await conn.execute(
        insert(push_subscriptions).values(
            user_id=user_id,
            family=family,
            endpoint=endpoint,
            p256dh=p256dh,
            auth=auth,
            created_at=now_micros(),
        )
    )
    newest = (
        select(_s.id)
        .where(_s.user_id == user_id)
        .order_by(_s.id.desc())
        .limit(MAX_PER_USER)
        .scalar_subquery()
    )
    await conn.execute(
        delete(push_subscriptions).where(_s.user_id == user_id, _s.id.not_in(newest))
    )


async def remove(conn: AsyncConnection, user_id: int, endpoint: str) -> bool:
    """The user's own subscription only: an endpoint is no proof of whose it is."""
    done = await conn.execute(
        delete(push_subscriptions).where(_s.user_id == user_id, _s.endpoint == endpoint)
    )
    return done.rowcount > 0


async def drop(conn: AsyncConnection, subscription_ids: Sequence[int]) -> None:
    """The push service said the subscription is gone (404/410), or its session ended."""
    await conn.execute(delete(push_subscriptions).where(_s.id.in_(list(subscription_ids))))


async def of_users(
    conn: AsyncConnection, user_ids: Sequence[int]
) -> tuple[dict[int, list[PushSubscription]], list[int]]:
    """The users' subscriptions by user (those with any), and apart the ids of those whose
    session was signed out (for the caller to drop): one read, the common case being
    users with none."""
    f = refresh_families.c
    signed_out = exists().where(and_(f.id == _s.family, f.revoked_at.is_not(None)))
    rows = await conn.execute(
        select(_s.id, _s.user_id, _s.endpoint, _s.p256dh, _s.auth, signed_out.label("gone"))
        .where(_s.user_id.in_(sorted(set(user_ids))))
        .order_by(_s.id)
    )
    return _live_and_gone(rows.tuples())


def of_users_sqlite(
    conn: sqlite3.Connection, user_ids: Sequence[int]
) -> tuple[dict[int, list[PushSubscription]], list[int]]:
    """``of_users`` as one plain ``sqlite3`` statement (the ``SqliteAppender``'s thread):
    the in-process notifier asks it for every batch that notifies anyone. The ids go in
    as one JSON array, so the text is the same each time (prepared once)."""
    return _live_and_gone(
        conn.execute(
            "SELECT s.id, s.user_id, s.endpoint, s.p256dh, s.auth, EXISTS (SELECT 1 FROM"
            " refresh_families f WHERE f.id = s.family AND f.revoked_at IS NOT NULL)"
            " FROM push_subscriptions s WHERE s.user_id IN (SELECT value FROM json_each(?))"
            " ORDER BY s.id",
            (json.dumps(sorted(set(user_ids))),),
        )
    )


def _live_and_gone(
    rows: Iterable[tuple[Any, ...]],
) -> tuple[dict[int, list[PushSubscription]], list[int]]:
    live: dict[int, list[PushSubscription]] = {}
    gone: list[int] = []
    for sub_id, user_id, endpoint, p256dh, auth, signed_out in rows:
        if signed_out:
            gone.append(sub_id)
        else:
            live.setdefault(user_id, []).append(
                PushSubscription(sub_id, user_id, endpoint, p256dh, auth)
            )
    return live, gone
