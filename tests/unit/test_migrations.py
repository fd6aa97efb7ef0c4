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
