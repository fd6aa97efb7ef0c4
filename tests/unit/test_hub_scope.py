"""Scoped events (issue 15): who hears read markers, typing and presence, and what a slow
socket goes without; the hub with a real store, the memory bus and fake sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from parley.announcer import Announcer
from parley.bus import MemoryBus
from parley.gateway.connection import DROPPABLE_BUFFER_BYTES, DROPPABLE_QUEUED_FRAMES, Flusher
from parley.gateway.hub import Hub, Scope
from parley.presence import LocalPresence
from parley.protocol import events, wsframe
from parley.store import SqlStore
from tests.unit.conftest import make_user
from tests.unit.test_hub import Client, send


@pytest.fixture
async def hub(store: SqlStore) -> AsyncIterator[Hub]:
    bus, presence = MemoryBus(), LocalPresence()
    hub = Hub(
        store,
        bus,
        presence,
        Announcer(store, bus, presence, presence_push_max=3),
        500,
        Scope(typing_max_members=2, presence_push_max_members=3),
    )
    await hub.start()
    yield hub
    await hub.close()


async def test_a_read_reaches_the_readers_connections_and_a_direct_partner_only(
    hub: Hub, store: SqlStore
) -> None:
    ana, bob, cy = [await make_user(store, n) for n in ("ana", "bob", "cy")]
    group = await store.create_group("g", [ana.id, bob.id, cy.id])
    direct, _ = await store.direct_room(ana.id, bob.id)
    flusher = Flusher()
    a1, a2 = Client(hub, flusher, ana), Client(hub, flusher, ana)
    b, c = Client(hub, flusher, bob), Client(hub, flusher, cy)
    for client in (a1, a2, b, c):
        await hub.attach(client.conn, None)

    assert hub.read_partner(group, ana.id) is None
    await hub.announcer.read(ana, group, 3, hub.read_partner(group, ana.id))
    assert [e["seq"] for e in a1.events("read")] == [3]
    assert [e["seq"] for e in a2.events("read")] == [3]
    assert b.events("read") == [] and c.events("read") == []

    assert hub.read_partner(direct, ana.id) == bob.id
    await hub.announcer.read(ana, direct, 5, hub.read_partner(direct, ana.id))
    assert [(e["room"], e["seq"]) for e in b.events("read")] == [(str(direct), 5)]
    assert [e["seq"] for e in a1.events("read")] == [3, 5]
    assert c.events("read") == []


async def test_typing_only_in_rooms_up_to_the_configured_size(hub: Hub, store: SqlStore) -> None:
    ana, bob, cy = [await make_user(store, n) for n in ("ana", "bob", "cy")]
    small = await store.create_group("small", [ana.id, bob.id])
    big = await store.create_group("big", [ana.id, bob.id, cy.id])
    await hub.attach(Client(hub, Flusher(), ana).conn, None)
    assert hub.typing_allowed(small)
    assert not hub.typing_allowed(big)
    assert not hub.typing_allowed(999)  # not followed here: not the caller's room


async def test_a_slow_consumer_loses_typing_notices_never_messages(
    hub: Hub, store: SqlStore
) -> None:
    ana, bob = await make_user(store, "ana"), await make_user(store, "bob")
    room = await store.create_group("r", [ana.id, bob.id])
    flusher = Flusher()
    slow, quick = Client(hub, flusher, bob), Client(hub, flusher, bob)
    for client in (slow, quick):
        await hub.attach(client.conn, None)
    slow.events()
    quick.events()
    slow.transport.buffered = DROPPABLE_BUFFER_BYTES + 1  # behind, but not yet past the limit
    for i in range(5):
        await hub.announcer.typing(ana, room)
        await send(hub, room, ana, f"m{i}")
    assert slow.seqs(room) == [1, 2, 3, 4, 5]
    assert slow.events("typing") == [] and not slow.conn.closed
    assert len(quick.events("typing")) == 5 and quick.seqs(room) == [1, 2, 3, 4, 5]
    assert flusher.dropped == 5


async def test_a_long_outbox_drops_droppable_frames_too(hub: Hub, store: SqlStore) -> None:
    """Frames waiting for the same flush count as much as bytes in the kernel's buffer."""
    ana = await make_user(store, "ana")
    flusher = Flusher()
    client = Client(hub, flusher, ana)
    frame = wsframe.text(events.PONG)
    for _ in range(DROPPABLE_QUEUED_FRAMES):
        client.conn.send(frame)
    client.conn.send_droppable(frame)  # the outbox is at the threshold: still queued
    client.conn.send_droppable(frame)  # past it: dropped
    assert len(client.events("pong")) == DROPPABLE_QUEUED_FRAMES + 1
    assert flusher.dropped == 1


async def test_presence_is_pushed_in_small_rooms_and_by_subscription_in_big_ones(
    hub: Hub, store: SqlStore
) -> None:
    ana, bob, cy, dan, eve = [await make_user(store, n) for n in ("ana", "bob", "cy", "dan", "eve")]
    await store.create_group("small", [ana.id, bob.id])
    await store.create_group("big", [ana.id, bob.id, cy.id, dan.id])
    flusher = Flusher()
    others = {u.id: Client(hub, flusher, u) for u in (bob, cy, eve)}
    for client in others.values():
        await hub.attach(client.conn, None)
    a = Client(hub, flusher, ana)
    await hub.attach(a.conn, None)
    assert a.events("ready")[0]["online"] == [str(bob.id)]  # cy only shares the big room

    await hub.attach(Client(hub, flusher, dan).conn, None)
    assert a.events("presence") == []
    users, online = await hub.watch(a.conn, frozenset({cy.id, dan.id, eve.id, ana.id}))
    assert users == sorted([cy.id, dan.id])  # eve shares no room; oneself is no subscription
    assert online == {cy.id, dan.id}

    await hub.detach(others[cy.id].conn)
    cy_gone = [(str(cy.id), "offline")]
    assert [(e["user"]["id"], e["status"]) for e in a.events("presence")] == cy_gone
    await hub.watch(a.conn, frozenset({dan.id}))  # replaces the subscription
    await hub.attach(others[cy.id].conn, None)
    assert [(e["user"]["id"], e["status"]) for e in a.events("presence")] == cy_gone
    await hub.detach(a.conn)
    assert hub.watchers == {}
