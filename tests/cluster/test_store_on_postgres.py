"""The store's unit tests again, on PostgreSQL.

PostgreSQL stores messages through its own statements (``store/append.py``)
and searches with its own queries (``store/search.py``), so every
``tests/unit/test_store.py`` and ``tests/unit/test_search.py`` test that takes
the ``store`` fixture is collected here a second time with ``store`` on a fresh
PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import AsyncIterator
from typing import Any

import pytest

from parley.config import normalise_database_url
from parley.models import Draft, Message, User, now_micros
from parley.store import SqlStore, StoreFailed, StoreRefused
from tests.support.services import Databases
from tests.unit import test_search, test_store
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
        for module in (test_store, test_search)
        for name, test in vars(module).items()
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


@pytest.mark.parametrize(
    "poison",
    [
        {"body": "nul\x00body"},
        {"client_id": "nul\x00id"},
        {"room_id": 2**63},
    ],
    ids=["nul-body", "nul-client-id", "room-past-bigint"],
)
async def test_data_the_database_refuses_is_a_refusal_not_an_outage(
    store: SqlStore, poison: dict[str, Any]
) -> None:
    """PostgreSQL refuses a NUL in text and asyncpg a number past bigint: ``StoreRefused``,
    which the persister dead-letters, and nothing of the batch is stored."""
    ana = await make_user(store, "ana")
    room = await store.create_group("r", [ana.id])
    good = Draft(room, ana, "fine", "c1", now_micros())
    bad = dataclasses.replace(good, **{"client_id": "c2", **poison})
    with pytest.raises(StoreRefused):
        await store.append_many([good, bad])
    assert await store.page(room, before=None, after=0, limit=10) == ([], False)
    assert [m.seq for m in await store.append_many([good]) if isinstance(m, Message)] == [1]


async def test_an_unreachable_database_is_an_outage(store: SqlStore) -> None:
    ana = await make_user(store, "ana")
    room = await store.create_group("r", [ana.id])
    closed = SqlStore("postgresql+asyncpg://parley:parley@127.0.0.1:1/parley")
    try:
        with pytest.raises(StoreFailed):
            await closed.append_many([Draft(room, ana, "hi", "c1", now_micros())])
    finally:
        await closed.close()


async def test_the_same_send_stored_twice_at_once_is_one_message_not_a_refusal(
    store: SqlStore,
) -> None:
    """Two stores (two gateways) insert one retried client_id at the same moment: the
    loser's unique violation is retried and finds the winner's row, never StoreRefused."""
    other = SqlStore(store.engine.url.render_as_string(hide_password=False))
    try:
        ana = await make_user(store, "ana")
        room = await store.create_group("r", [ana.id])
        for i in range(20):
            draft = Draft(room, ana, f"m{i}", f"c{i}", now_micros())
            first, second = await asyncio.gather(
                store.append_many([draft]), other.append_many([draft])
            )
            assert first == second and first[0] is not None
        page, _ = await store.page(room, before=None, after=0, limit=100)
        assert [m.seq for m in page] == list(range(1, 21))
    finally:
        await other.close()
