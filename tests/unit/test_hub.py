"""The hub with a real store and the memory bus, and fake sockets: routing without I/O."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from parley.announcer import Announcer
from parley.bus import MemoryBus
from parley.gateway.connection import Connection, Flusher
from parley.gateway.hub import Hub
from parley.log import DirectLog
from parley.log.publish import entry_envelope
from parley.models import Draft, Entry, Message, User, now_micros
from parley.presence import LocalPresence
from parley.protocol import envelope, wsframe
from parley.protocol.status import CloseCode
from parley.store import SqlStore
from tests.unit.conftest import make_user


class FakeTransport:
    def __init__(self) -> None:
        self.data = bytearray()
        self.buffered = 0
        self.closing = False

    def write(self, data: bytes) -> None:
        self.data += data

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return self.closing

    def abort(self) -> None:
        self.closing = True

    def frames(self) -> list[dict[str, Any]]:
        frames = wsframe.parse(bytes(self.data))
        assert {opcode for opcode, _ in frames} <= {wsframe.Opcode.TEXT}
        return [orjson.loads(payload) for _, payload in frames]


class Client:
    def __init__(self, hub: Hub, flusher: Flusher, user: User, family: str | None = None) -> None:
        self.transport = FakeTransport()
        self.closed_with: list[int] = []
        self.conn = Connection(
            user,
            self.transport,
            flusher,
            1 << 20,
            lambda code, _reason: self.closed_with.append(code),
            family,
        )
        self.flusher = flusher

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        self.flusher.flush()
        return [f for f in self.transport.frames() if kind is None or f["type"] == kind]

    def seqs(self, room: int) -> list[int]:
        return [
            f["message"]["seq"] for f in self.events("message") if f["message"]["room"] == str(room)
        ]


def make_hub(store: SqlStore, bus: MemoryBus, resume_cap: int = 500) -> Hub:
    """The hub as ``app.build`` wires it, on the embedded parts."""
    presence = LocalPresence()
    return Hub(store, bus, presence, Announcer(store, bus, presence), resume_cap)


@pytest.fixture
async def hub(store: SqlStore) -> AsyncIterator[Hub]:
    hub = make_hub(store, MemoryBus())
    await hub.start()
    yield hub
    await hub.close()


async def send(hub: Hub, room: int, user: User, body: str = "hi") -> Message:
    stored = await (
        await DirectLog(hub.store, hub.bus).submit(Draft(room, user, body, None, now_micros()))
    )
    assert isinstance(stored, Message)
    return stored


async def test_fan_out_reaches_every_member_connection_once(hub: Hub, store: SqlStore) -> None:
    ana, bob = await make_user(store, "ana"), await make_user(store, "bob")
    room = await store.create_group("r", [ana.id, bob.id])
    flusher = Flusher()
    a1, a2, b = Client(hub, flusher, ana), Client(hub, flusher, ana), Client(hub, flusher, bob)
    for c in (a1, a2, b):
        await hub.attach(c.conn, None)
    for i in range(3):
        await send(hub, room, ana, f"m{i}")
    for c in (a1, a2, b):
        assert c.seqs(room) == [1, 2, 3]
    assert flusher.frames >= 9


async def test_resume_in_auth_replays_then_goes_live_without_dups(
    hub: Hub, store: SqlStore
) -> None:
    ana, bob = await make_user(store, "ana"), await make_user(store, "bob")
    room = await store.create_group("r", [ana.id, bob.id])
    for i in range(3):
        await send(hub, room, ana, f"m{i}")

    # A message lands while the replay reads the store: it must come after the replay.
    real_between = store.between

    async def racing_between(room_id: int, after: int, until: int) -> list[Entry]:
        found = await real_between(room_id, after, until)
        await send(hub, room, ana, "during replay")
        return found

    store.between = racing_between  # type: ignore[method-assign]

    bob_client = Client(hub, Flusher(), bob)
    assert await hub.attach(bob_client.conn, {room: 1}) == []
    store.between = real_between  # type: ignore[method-assign]
    await send(hub, room, ana, "after")
    assert bob_client.events()[0]["type"] == "ready"
    assert bob_client.seqs(room) == [2, 3, 4, 5]


async def test_resume_beyond_the_cap_reports_incomplete(store: SqlStore) -> None:
    ana = await make_user(store, "ana")
    room = await store.create_group("r", [ana.id])
    await store.append_many([Draft(room, ana, f"m{i}", None, now_micros()) for i in range(7)])
    hub = make_hub(store, MemoryBus(), resume_cap=5)
    await hub.start()
    client = Client(hub, Flusher(), ana)
    assert await hub.attach(client.conn, {room: 0}) == [room]
    assert client.seqs(room) == [1, 2, 3, 4, 5]
    await hub.close()


async def test_standalone_resume_replays_only_what_was_missed(hub: Hub, store: SqlStore) -> None:
    ana = await make_user(store, "ana")
    room = await store.create_group("r", [ana.id])
    for i in range(4):
        await send(hub, room, ana, f"m{i}")
    client = Client(hub, Flusher(), ana)
    await hub.attach(client.conn, None)
    await send(hub, room, ana, "live")
    assert await hub.replay(client.conn, {room: 2, 999: 0}) == []
    assert client.seqs(room) == [5, 3, 4]
    assert await hub.replay(client.conn, {room: 2}) == []
    assert client.seqs(room) == [5, 3, 4]  # nothing twice


async def test_a_gap_is_filled_from_the_store(hub: Hub, store: SqlStore) -> None:
    ana = await make_user(store, "ana")
    room = await store.create_group("r", [ana.id])
    client = Client(hub, Flusher(), ana)
    await hub.attach(client.conn, None)
    # Two messages stored, but the bus only carries the second one.
    _lost, kept = await store.append_many(
        [Draft(room, ana, "lost", None, now_micros()), Draft(room, ana, "kept", None, now_micros())]
    )
    assert isinstance(kept, Message)
    hub.on_bus(envelope.room_channel(room), entry_envelope(kept))
    assert client.seqs(room) == []
    while hub._tasks:
        await asyncio.gather(*hub._tasks)
    assert client.seqs(room) == [1, 2]


async def test_resync_after_a_bus_outage_delivers_what_was_missed(
    hub: Hub, store: SqlStore
) -> None:
    ana = await make_user(store, "ana")
    room = await store.create_group("r", [ana.id])
    client = Client(hub, Flusher(), ana)
    await hub.attach(client.conn, None)
    await store.append_many([Draft(room, ana, f"m{i}", None, now_micros()) for i in range(2)])
    await hub.resync()
    assert client.seqs(room) == [1, 2]


async def test_typing_presence_and_membership(hub: Hub, store: SqlStore) -> None:
    ana, bob, cy = [await make_user(store, n) for n in ("ana", "bob", "cy")]
    room = await store.create_group("r", [ana.id, bob.id])
    flusher = Flusher()
    a, b, c = Client(hub, flusher, ana), Client(hub, flusher, bob), Client(hub, flusher, cy)
    await hub.attach(a.conn, None)
    await hub.attach(b.conn, None)
    await hub.attach(c.conn, None)
    assert [e["user"]["id"] for e in a.events("presence")] == [str(bob.id)]
    assert b.events("ready")[0]["online"] == [str(ana.id)]
    assert c.events("presence") == []  # shares no room with anyone

    await hub.announcer.typing(ana, room)
    assert a.events("typing") == [] and len(b.events("typing")) == 1

    await store.add_member(room, ana.id, cy.id)
    joined = await store.room(room, cy.id)
    assert joined is not None
    await hub.announcer.member_added(joined, cy.id)
    while hub._tasks:
        await asyncio.gather(*hub._tasks)
    await send(hub, room, ana, "welcome")
    assert c.seqs(room) == [1]
    assert [e["room"]["id"] for e in c.events("room")] == [str(room)]
    assert c.events("room")[0]["online"] == [str(u.id) for u in (ana, bob, cy)]

    await store.remove_member(room, bob.id)
    await hub.announcer.member_left(joined, bob.id)
    await send(hub, room, ana, "bye")
    assert b.events("left") == [{"type": "left", "room": str(room)}]
    assert b.seqs(room) == [1]
    assert c.seqs(room) == [1, 2]

    await hub.detach(b.conn)  # bob left the room: nobody shares one with him now
    await hub.detach(c.conn)
    assert [(e["user"]["username"], e["status"]) for e in a.events("presence")] == [
        ("bob", "online"),
        ("cy", "offline"),
    ]


async def test_slow_consumer_is_closed_with_1013(hub: Hub, store: SqlStore) -> None:
    ana = await make_user(store, "ana")
    room = await store.create_group("r", [ana.id])
    client = Client(hub, Flusher(), ana)
    await hub.attach(client.conn, None)
    client.transport.buffered = 2 << 20
    await send(hub, room, ana)
    client.events()
    assert client.closed_with == [CloseCode.TRY_AGAIN_LATER]
    assert client.conn.closed


async def test_a_revocation_closes_the_sockets_of_the_sessions_it_covers(
    hub: Hub, store: SqlStore
) -> None:
    ana, bob = await make_user(store, "ana"), await make_user(store, "bob")
    flusher = Flusher()
    a1, a2, legacy = (Client(hub, flusher, ana, f) for f in ("f1", "f2", None))
    b1 = Client(hub, flusher, bob, "f1")  # another user's session of the same name
    for client in (a1, a2, legacy, b1):
        await hub.attach(client.conn, None)
    announcer = Announcer(store, hub.bus, hub.presence)
    await announcer.sessions_revoked(ana.id, ["f1"])  # a logout
    assert (a1.closed_with, a2.closed_with, legacy.closed_with) == ([4401], [], [])
    await announcer.sessions_revoked(ana.id, ["f2"], every=True)  # a password change in f2
    assert (a2.closed_with, legacy.closed_with) == ([], [4401])
    await announcer.sessions_revoked(ana.id, [], every=True)  # sign out everywhere
    assert a2.closed_with == [4401]
    assert b1.closed_with == [] and not b1.conn.closed


async def test_feeds_are_dropped_with_their_last_connection(hub: Hub, store: SqlStore) -> None:
    ana = await make_user(store, "ana")
    room = await store.create_group("r", [ana.id])
    client = Client(hub, Flusher(), ana)
    await hub.attach(client.conn, None)
    assert room in hub.feeds
    await hub.detach(client.conn)
    assert room not in hub.feeds and hub.connections == 0


async def test_a_room_followed_again_before_its_unsubscribe_stays_live(
    hub: Hub, store: SqlStore
) -> None:
    ana = await make_user(store, "ana")
    room = await store.create_group("r", [ana.id])
    old, new = Client(hub, Flusher(), ana), Client(hub, Flusher(), ana)
    await hub.attach(old.conn, None)
    await hub.detach(old.conn)  # a reload: the old socket goes ...
    await hub.attach(new.conn, None)  # ... as the new one arrives
    while hub._tasks:
        await asyncio.gather(*hub._tasks)
    await send(hub, room, ana, "still live")
    assert new.seqs(room) == [1]
