"""The announcer with a real store: what it produces, and that a bus outage harms nothing."""

from __future__ import annotations

import orjson

from parley.announcer import Announcer
from parley.bus import MemoryBus
from parley.models import rfc3339
from parley.presence import LocalPresence
from parley.protocol import envelope
from parley.store import SqlStore
from tests.unit.conftest import make_user


class RecordingBus(MemoryBus):
    def __init__(self) -> None:
        super().__init__()
        self.published: list[tuple[str, envelope.Envelope]] = []

    async def publish(self, channel: str, payload: bytes) -> None:
        self.published.append((channel, envelope.read(payload)))


class BrokenBus(MemoryBus):
    async def publish(self, channel: str, payload: bytes) -> None:
        raise ConnectionError("bus down")


async def test_each_event_goes_out_once_in_the_envelope_that_says_how_to_deliver_it(
    store: SqlStore,
) -> None:
    ana, bob = await make_user(store, "ana"), await make_user(store, "bob")
    room_id = await store.create_group("r", [ana.id, bob.id])
    room = await store.room(room_id, ana.id)
    assert room is not None
    bus, presence = RecordingBus(), LocalPresence()
    await presence.connected(bob.id)
    announcer = Announcer(store, bus, presence)

    await announcer.typing(ana, room_id)
    await announcer.read(ana, room_id, 3)
    await announcer.read(ana, room_id, 4, partner=bob.id)
    await announcer.room_created(room)
    await announcer.member_added(room, bob.id)
    await announcer.member_left(room, bob.id)
    await announcer.room_updated(room, ana)
    await announcer.presence_changed([bob.id, 999], online=False)

    kinds = [(channel, type(env).__name__) for channel, env in bus.published]
    assert kinds == [
        (f"room.{room_id}", "RoomEvent"),
        (f"user.{ana.id}", "UserEvent"),  # a group's read: the reader's own connections
        (f"user.{ana.id}", "UserEvent"),  # a direct room's: the reader's, then the partner's
        (f"user.{bob.id}", "UserEvent"),
        (f"user.{ana.id}", "Joined"),
        (f"user.{bob.id}", "Joined"),
        (f"room.{room_id}", "MemberAdded"),
        (f"user.{bob.id}", "Joined"),
        (f"room.{room_id}", "MemberLeft"),
        (f"room.{room_id}", "RoomEvent"),
        ("presence", "Presence"),  # user 999 does not exist: nothing to say
    ]
    typing = bus.published[0][1]
    assert isinstance(typing, envelope.RoomEvent) and typing.skip_user == ana.id
    assert typing.droppable
    to_partner = bus.published[3][1]
    assert isinstance(to_partner, envelope.UserEvent) and to_partner.user == bob.id
    joined = bus.published[4][1]
    assert isinstance(joined, envelope.Joined) and b'"online":["%d"]' % bob.id in joined.event
    updated = bus.published[-2][1]
    assert isinstance(updated, envelope.RoomEvent) and updated.skip_user == 0
    assert b'"type":"room_updated"' in updated.event
    gone = bus.published[-1][1]
    assert isinstance(gone, envelope.Presence) and (gone.user, gone.online) == (bob.id, False)


async def test_a_room_past_the_presence_push_size_carries_no_online_list(
    store: SqlStore,
) -> None:
    ana, bob, cy = [await make_user(store, name) for name in ("ana", "bob", "cy")]
    room_id = await store.create_group("r", [ana.id, bob.id, cy.id])
    room = await store.room(room_id, ana.id)
    assert room is not None
    bus, presence = RecordingBus(), LocalPresence()
    await presence.connected(bob.id)
    await Announcer(store, bus, presence, presence_push_max=2).room_created(room)
    joined = bus.published[0][1]
    assert isinstance(joined, envelope.Joined) and b'"online":[]' in joined.event


async def test_announcements_survive_a_bus_outage(store: SqlStore) -> None:
    ana = await make_user(store, "ana")
    room_id = await store.create_group("r", [ana.id])
    room = await store.room(room_id, ana.id)
    assert room is not None
    announcer = Announcer(store, BrokenBus(), LocalPresence())
    await announcer.typing(ana, room_id)
    await announcer.read(ana, room_id, 1)
    await announcer.room_created(room)
    await announcer.member_added(room, ana.id)
    await announcer.member_left(room, ana.id)
    await announcer.room_updated(room, ana)
    await announcer.presence(ana, online=True)
    await announcer.presence_changed([ana.id], online=False)


async def test_going_offline_stores_last_seen_once_and_tells_it_renamed_users_go_out_too(
    store: SqlStore,
) -> None:
    ana = await make_user(store, "ana")
    bus = RecordingBus()
    announcer = Announcer(store, bus, LocalPresence())
    await announcer.presence(ana, online=True)
    assert (await store.visible_user(ana.id, ana.id)) == (ana, None)
    await announcer.presence(ana, online=False)
    found = await store.visible_user(ana.id, ana.id)
    assert found is not None and found[1] is not None
    gone = bus.published[-1][1]
    assert isinstance(gone, envelope.Presence) and not gone.online
    assert orjson.loads(gone.event)["last_seen"] == rfc3339(found[1])

    renamed = await store.set_display_name(ana.id, "Ana B.")
    assert renamed is not None
    await announcer.user_updated(renamed)
    channel, updated = bus.published[-1]
    assert channel == "presence" and isinstance(updated, envelope.UserUpdated)
    assert orjson.loads(updated.event)["user"]["display_name"] == "Ana B."
