"""Storing a batch around the drafts the database refuses (``log/kafka/bisect.py``).

The store here is SQLite's real ``SqlStore`` behind a gate that refuses any
batch holding a draft whose body starts with "bad", the way PostgreSQL refuses
a whole transaction for one NUL: what is stored, in which order, and how many
transactions it took are all read back from the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from parley.log.kafka.bisect import append_isolating
from parley.models import Draft, Message
from parley.store import Outcome, SqlStore, StoreFailed, StoreRefused
from parley.store.migrate import upgrade_async


class Gate:
    """Refuses a batch with a "bad" draft in it; counts the transactions tried."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.calls: list[int] = []
        self.outage_at: int | None = None
        """The number of the call that fails as an outage would."""

    async def __call__(self, drafts: Sequence[Draft]) -> list[Outcome]:
        self.calls.append(len(drafts))
        if len(self.calls) == self.outage_at:
            raise StoreFailed("connection refused")
        if any(d.body.startswith("bad") for d in drafts):
            raise StoreRefused("invalid byte sequence for encoding UTF8: 0x00")
        return await self.store.append_many(drafts)


@pytest.fixture
async def gate(tmp_path: Path) -> Gate:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bisect.db'}"
    await upgrade_async(url)
    store = SqlStore(url)
    ana = await store.create_user("ana", "Ana", None)
    await store.create_group("room", [ana.id])
    return Gate(store)


async def drafts_of(gate: Gate, bodies: list[str]) -> list[Draft]:
    ana = await gate.store.user(1)
    assert ana is not None
    return [Draft(1, ana, body, f"c{i}", i) for i, body in enumerate(bodies)]


async def test_a_batch_without_refusals_is_one_transaction(gate: Gate) -> None:
    drafts = await drafts_of(gate, [f"m{i}" for i in range(10)])
    outcomes = await append_isolating(gate, drafts)
    assert gate.calls == [10]
    assert [m.seq for m in outcomes if isinstance(m, Message)] == list(range(1, 11))


@pytest.mark.parametrize("bad", [[0], [9], [4], [0, 9], [2, 3, 7], list(range(10))])
async def test_refused_drafts_are_isolated_and_the_rest_stored_in_order(
    gate: Gate, bad: list[int]
) -> None:
    bodies = [("bad " if i in bad else "good ") + str(i) for i in range(10)]
    outcomes = await append_isolating(gate, await drafts_of(gate, bodies))
    assert [isinstance(o, StoreRefused) for o in outcomes] == [i in bad for i in range(10)]
    stored = [o for o in outcomes if isinstance(o, Message)]
    assert [m.body for m in stored] == [b for b in bodies if b.startswith("good")]
    assert [m.seq for m in stored] == list(range(1, len(stored) + 1))
    page, _ = await gate.store.page(1, before=None, after=0, limit=100)
    assert page == stored
    # Each refused draft costs about two transactions per halving, not one per draft.
    assert len(gate.calls) <= 1 + 2 * len(bad) * 4


async def test_an_outage_goes_to_the_caller_and_a_retry_stores_nothing_twice(gate: Gate) -> None:
    drafts = await drafts_of(gate, ["good 0", "bad 1", "good 2", "good 3"])
    gate.outage_at = 4  # all refused, [0, 1] refused, [0] stored, then the outage at [1]
    with pytest.raises(StoreFailed):
        await append_isolating(gate, drafts)
    outcomes = await append_isolating(gate, drafts)  # the caller's retry, store back
    assert [type(o).__name__ for o in outcomes] == ["Message", "StoreRefused", "Message", "Message"]
    assert [o.seq for o in outcomes if isinstance(o, Message)] == [1, 2, 3]
