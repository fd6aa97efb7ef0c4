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
from parley.log.kafka.bisect import append_isolating
from parley.models import Draft, Message, User, now_micros
from parley.store import Refusal, SqlStore, StoreFailed, StoreRefused, sql
from parley.store.append import Fallback, append_plain
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


async def test_one_call_stores_a_batch_mixing_rooms_in_order(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``parley_append``: each room's seqs run on in batch order, a non-member's draft takes
    none, a batch's repeat of a client_id gets the first one's message, and each sender's
    read marker moves to their last message. The general path is out of reach, so all of
    it is the one call's."""
    ana, bob, eve = [await make_user(store, n) for n in ("ana", "bob", "eve")]
    one = await store.create_group("one", [ana.id, bob.id])
    two = await store.create_group("two", [ana.id])
    monkeypatch.setattr(sql, "CoreStatements", None)
    await store.append_many([Draft(one, bob, "before", "b0", now_micros())])
    outcomes = await store.append_many(
        [
            Draft(two, ana, "two-1", "a1", now_micros()),
            Draft(one, ana, "one-2", "a2", now_micros()),
            Draft(two, eve, "not hers", "e1", now_micros()),
            Draft(one, bob, "one-3", None, now_micros()),
            Draft(one, ana, "one-2 again", "a2", now_micros()),
            Draft(two, ana, "two-2", None, now_micros()),
        ]
    )
    assert [(m.room_id, m.seq, m.body) if isinstance(m, Message) else m for m in outcomes] == [
        (two, 1, "two-1"),
        (one, 2, "one-2"),
        Refusal.NOT_MEMBER,
        (one, 3, "one-3"),
        (one, 2, "one-2"),
        (two, 2, "two-2"),
    ]
    assert outcomes[4] == outcomes[1]
    assert await store.last_seqs([one, two]) == {one: 3, two: 2}
    page, _ = await store.page(two, before=None, after=0, limit=10)
    assert page == [outcomes[0], outcomes[5]]
    page, _ = await store.page(one, before=None, after=0, limit=10)
    assert [(m.seq, m.body) for m in page] == [(1, "before"), (2, "one-2"), (3, "one-3")]
    seen = await store.room(one, ana.id)
    assert seen is not None and seen.unread == 1  # bob's one-3, after her own one-2
    seen = await store.room(one, bob.id)
    assert seen is not None and seen.unread == 0


async def test_a_retried_client_id_in_a_later_batch_takes_no_seq(store: SqlStore) -> None:
    """Retries across batches, mixed with new drafts: the originals come back as stored,
    the new drafts take the next seqs, and the one-call path wrote nothing first."""
    ana = await make_user(store, "ana")
    room = await store.create_group("r", [ana.id])
    first = await store.append_many(
        [Draft(room, ana, "one", "c1", now_micros()), Draft(room, ana, "two", "c2", now_micros())]
    )
    again = await store.append_many(
        [
            Draft(room, ana, "three", "c3", now_micros()),
            Draft(room, ana, "two, retried", "c2", now_micros()),
            Draft(room, ana, "one, retried", "c1", now_micros()),
            Draft(room, ana, "three, repeated", "c3", now_micros()),
        ]
    )
    assert again[1:3] == [first[1], first[0]]
    assert [m.seq for m in again if isinstance(m, Message)] == [3, 2, 1, 3]
    assert again[3] == again[0]
    page, _ = await store.page(room, before=None, after=0, limit=10)
    assert [(m.seq, m.body) for m in page] == [(1, "one"), (2, "two"), (3, "three")]


async def test_the_one_call_writes_nothing_for_a_retried_client_id(store: SqlStore) -> None:
    """``append_plain`` leaves a batch with a retry to the general path (``Fallback``) and
    rolls back nothing because it wrote nothing: not the new draft, not a seq."""
    ana = await make_user(store, "ana")
    room = await store.create_group("r", [ana.id])
    await store.append_many([Draft(room, ana, "one", "c1", now_micros())])
    async with store.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        with pytest.raises(Fallback):
            await append_plain(
                raw,
                [
                    Draft(room, ana, "new", "c2", now_micros()),
                    Draft(room, ana, "one, retried", "c1", now_micros()),
                ],
            )
        assert raw is not None and not raw.is_in_transaction()
    assert await store.last_seqs([room]) == {room: 1}
    assert [m.body for m in (await store.page(room, before=None, after=0, limit=10))[0]] == ["one"]


async def test_a_record_the_table_refuses_stores_nothing_and_leaves_no_gap(
    store: SqlStore,
) -> None:
    """A client_id past the column's 64 characters fails inside the function, after the
    seqs were taken: the call is one transaction, so no room keeps a taken seq, and the
    persister's halving (``append_isolating``) stores the others around it."""
    ana = await make_user(store, "ana")
    one = await store.create_group("one", [ana.id])
    two = await store.create_group("two", [ana.id])
    batch = [
        Draft(one, ana, "a", "c1", now_micros()),
        Draft(two, ana, "b", "c2", now_micros()),
        Draft(two, ana, "too long", "x" * 65, now_micros()),
        Draft(one, ana, "c", "c3", now_micros()),
    ]
    with pytest.raises(StoreRefused):
        await store.append_many(batch)
    assert await store.last_seqs([one, two]) == {one: 0, two: 0}
    outcomes = await append_isolating(store.append_many, batch)
    assert isinstance(outcomes[2], StoreRefused)
    assert [(m.room_id, m.seq) for m in outcomes if isinstance(m, Message)] == [
        (one, 1),
        (two, 1),
        (one, 2),
    ]
    assert await store.last_seqs([one, two]) == {one: 2, two: 1}
