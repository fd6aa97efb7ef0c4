"""The store's unit tests again, on PostgreSQL.

PostgreSQL stores messages through its own statements (``store/append.py``),
so every ``tests/unit/test_store.py`` test that takes the ``store`` fixture is
collected here a second time with ``store`` on a fresh PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator

import pytest

from parley.config import normalise_database_url
from parley.models import Draft, User, now_micros
from parley.store import SqlStore
from tests.support.services import Databases
from tests.unit import test_store
from tests.unit.conftest import make_user

pytestmark = pytest.mark.cluster


@pytest.fixture
async def store(databases: Databases) -> AsyncIterator[SqlStore]:
    db = SqlStore(normalise_database_url(await databases.new()))
    yield db
    await db.close()


globals().update(
    {
        name: test
        for name, test in vars(test_store).items()
        if name.startswith("test_")
        and inspect.iscoroutinefunction(test)
        and "store" in inspect.signature(test).parameters
    }
)


async def test_concurrent_batches_sharing_rooms_do_not_deadlock(store: SqlStore) -> None:
    """Two transactions taking seqs in the same rooms, listed in opposite orders."""
    ana, bob = await make_user(store, "ana"), await make_user(store, "bob")
    rooms = [await store.create_group(f"r{i}", [ana.id, bob.id]) for i in range(4)]

    def batch(order: list[int], sender: User, tag: str) -> list[Draft]:
        return [Draft(r, sender, f"{tag}{r}", f"{tag}{r}", now_micros()) for r in order]

    for round_ in range(10):
        await asyncio.gather(
            store.append_many(batch(rooms, ana, f"a{round_}-")),
            store.append_many(batch(rooms[::-1], bob, f"b{round_}-")),
        )
    for room in rooms:
        page, _ = await store.page(room, before=None, after=0, limit=100)
        assert [m.seq for m in page] == list(range(1, 21))
