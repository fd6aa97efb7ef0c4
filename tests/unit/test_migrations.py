"""Migrations carry existing data over (SQLite here; every PostgreSQL test database is migrated)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from parley.models import now_micros
from parley.store import SqlStore
from parley.store.migrate import upgrade


async def test_refresh_families_are_carried_over_with_their_revocation(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await asyncio.to_thread(upgrade, url, "0001")
    now = now_micros()
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO users (id, username, display_name, password_hash, created_at)"
                " VALUES (1, 'ana', 'Ana', 'x', :now)"
            ),
            {"now": now},
        )
        for token, family, used, revoked in (
            ("live", "fam-live", None, None),
            ("used", "fam-revoked", now, now),
            ("next", "fam-revoked", None, now),
        ):
            await conn.execute(
                sa.text(
                    "INSERT INTO refresh_tokens"
                    " (token_hash, family, user_id, created_at, expires_at, used_at, revoked_at)"
                    " VALUES (:t, :f, 1, :now, :exp, :used, :revoked)"
                ),
                {
                    "t": token,
                    "f": family,
                    "now": now,
                    "exp": now + 10**12,
                    "used": used,
                    "revoked": revoked,
                },
            )
    await engine.dispose()

    await asyncio.to_thread(upgrade, url)
    store = SqlStore(url)
    try:

        async def outcome(token: str) -> str:
            use = await store.rotate_refresh_token(
                token, token + "'", now=now + 1, expires_at=now + 10**12, grace=0
            )
            return use.outcome

        assert await outcome("live") == "rotated"
        assert await outcome("next") == "invalid"  # its family stayed revoked
    finally:
        await store.close()


async def test_the_earliest_member_of_an_existing_group_becomes_its_owner(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await asyncio.to_thread(upgrade, url, "0004")
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        for uid, name in ((1, "ana"), (2, "bob"), (3, "cyd")):
            await conn.execute(
                sa.text(
                    "INSERT INTO users (id, username, display_name, password_hash, created_at)"
                    " VALUES (:id, :name, :name, 'x', 0)"
                ),
                {"id": uid, "name": name},
            )
        await conn.execute(
            sa.text(
                "INSERT INTO rooms (id, kind, name, direct_key, last_seq, last_activity_at,"
                " created_at) VALUES (1, 'group', 'g', NULL, 0, 0, 0),"
                " (2, 'direct', NULL, '1:2', 0, 0, 0)"
            )
        )
        await conn.execute(
            sa.text(
                "INSERT INTO members (room_id, user_id, last_read_seq, joined_at) VALUES"
                " (1, 3, 0, 5), (1, 2, 0, 1), (1, 1, 0, 9), (2, 1, 0, 0), (2, 2, 0, 0)"
            )
        )
    await engine.dispose()

    await asyncio.to_thread(upgrade, url)
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        roles = {
            (row.room_id, row.user_id): row.role
            for row in await conn.execute(sa.text("SELECT room_id, user_id, role FROM members"))
        }
    await engine.dispose()
    assert roles == {
        (1, 2): "owner",
        (1, 1): "member",
        (1, 3): "member",
        (2, 1): "member",
        (2, 2): "member",
    }
