from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from parley.models import User
from parley.store import SqlStore
from parley.store.migrate import upgrade_async


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    """A migrated SQLite database of the test's own."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'unit.db'}"
    await upgrade_async(url)
    db = SqlStore(url)
    yield db
    await db.close()


async def make_user(store: SqlStore, name: str) -> User:
    return await store.create_user(name, name.title(), "not-a-real-hash")
