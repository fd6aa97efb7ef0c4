"""``store/reads.py``: read markers asked for on demand, and which rooms are direct."""

from __future__ import annotations

import pytest

from parley.models import Draft, now_micros
from parley.store import NotMember, SqlStore
from tests.unit.conftest import make_user


async def test_read_markers_at_or_beyond_a_seq_for_members_only(store: SqlStore) -> None:
    ana, bob, cy, eve = [await make_user(store, n) for n in ("ana", "bob", "cy", "eve")]
    room = await store.create_group("r", [ana.id, bob.id, cy.id])
    await store.append_many([Draft(room, ana, f"m{i}", None, now_micros()) for i in range(3)])
    await store.mark_read(room, ana.id, 3)
    await store.mark_read(room, bob.id, 2)
    seen = await store.read_markers(room, cy.id, 2)
    assert [(m.user.username, m.seq) for m in seen] == [("ana", 3), ("bob", 2)]
    assert [m.seq for m in await store.read_markers(room, cy.id, 0)] == [3, 2, 0]
    assert seen[0].to_json() == {"user": ana.to_json(), "seq": 3}
    with pytest.raises(NotMember):
        await store.read_markers(room, eve.id, 0)
    with pytest.raises(NotMember):
        await store.read_markers(999, ana.id, 0)


async def test_direct_rooms_are_told_apart_from_groups(store: SqlStore) -> None:
    ana, bob = await make_user(store, "ana"), await make_user(store, "bob")
    group = await store.create_group("g", [ana.id, bob.id])
    direct, _ = await store.direct_room(ana.id, bob.id)
    assert await store.direct_rooms([group, direct, 999]) == {direct}
    assert await store.direct_rooms([]) == set()
