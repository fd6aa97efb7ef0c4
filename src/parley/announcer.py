"""Producing events: what happened, told once on the bus; delivering them is the hub's job.

Messages are announced by the message log once they are durable
(``log/publish.py``, the persister). Everything else a client hears about
(typing, read markers, rooms created and changed, members added and gone, presence,
profile changes) is produced here, by whoever caused it: the HTTP API, a socket's frames,
the hub as connections come and go, cluster presence. Each method encodes its client
event once and wraps it in the envelope whose kind says how gateways deliver it
(``protocol/envelope.py``; the rule for each kind is in ``Hub.on_bus``).

Announcing is best effort: what is announced is already stored, or is
ephemeral. A bus outage must not fail the request or the socket that caused
it; gateways resync rooms when the bus returns, and clients refetch rooms when
they reconnect.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from parley.bus import Bus
from parley.models import JSON, Room, User, now_micros
from parley.presence import Presence
from parley.protocol import envelope, events
from parley.store import Store

logger = logging.getLogger(__name__)


class Announcer:
    def __init__(
        self, store: Store, bus: Bus, presence: Presence, presence_push_max: int = 100
    ) -> None:
        self._store = store
        self._bus = bus
        self._presence = presence
        self._presence_push_max = presence_push_max
        """Rooms with more members carry no ``online`` list: clients subscribe instead."""

    async def typing(self, user: User, room_id: int) -> None:
        """To the room's followers except the typist's own connections; droppable.

        The caller checks the room's size (``Hub.typing_allowed``): big rooms get none.
        """
        event = events.typing(room_id, user)
        await self._publish(
            envelope.room_channel(room_id),
            envelope.room_event(event, skip_user=user.id, droppable=True),
        )

    async def read(self, user: User, room_id: int, seq: int, partner: int | None = None) -> None:
        """A read marker moved: to the reader's own connections on every gateway (their
        other tabs clear the room's badge), and to the other member of a direct room
        (``partner``). In a group others fetch markers on demand (``GET .../reads``)."""
        event = events.read(room_id, user, seq)
        await self._publish(envelope.user_channel(user.id), envelope.user_event(user.id, event))
        if partner is not None and partner != user.id:
            await self._publish(envelope.user_channel(partner), envelope.user_event(partner, event))

    async def room_created(self, room: Room) -> None:
        """Each member's connections start following the new room."""
        event = await self._room_event(room)
        for member in room.members:
            await self._publish(envelope.user_channel(member.id), envelope.joined(room.id, event))

    async def member_added(self, room: Room, user_id: int) -> None:
        """Tell the room's followers, then the new member's own connections."""
        event = await self._room_event(room)
        await self._publish(envelope.room_channel(room.id), envelope.member_added(user_id, event))
        await self._publish(envelope.user_channel(user_id), envelope.joined(room.id, event))

    async def member_left(self, room: Room, user_id: int) -> None:
        """``room`` as it is without them; their own connections stop following it."""
        event = await self._room_event(room)
        await self._publish(envelope.room_channel(room.id), envelope.member_left(user_id, event))

    async def room_updated(self, room: Room, by: User) -> None:
        """A rename, topic, visibility or role change: to every follower of the room."""
        event = events.room_updated(room, by)
        await self._publish(envelope.room_channel(room.id), envelope.room_event(event))

    async def presence(self, user: User, *, online: bool) -> None:
        """Going offline everywhere is also when "last seen" is stored: once per visit."""
        last_seen = None
        if not online:
            last_seen = now_micros()
            try:
                await self._store.record_last_seen(user.id, last_seen)
            except Exception as exc:  # the event still goes out; the time is a hint
                logger.warning("could not store last seen of user %s: %s", user.id, exc)
        event = events.presence(user, online, last_seen)
        await self._publish(envelope.PRESENCE, envelope.presence(user.id, online, event))

    async def user_updated(self, user: User) -> None:
        """A new display name, to everyone who shares a room with the user and their tabs."""
        event = events.user_updated(user)
        await self._publish(envelope.PRESENCE, envelope.user_updated(user.id, event))

    async def presence_changed(self, user_ids: Iterable[int], online: bool) -> None:
        """Users cluster presence found online or offline without a connect here (by id)."""
        for user_id in user_ids:
            try:
                user = await self._store.user(user_id)
            except Exception as exc:  # the next heartbeat restates presence anyway
                logger.warning("presence: could not announce user %s: %s", user_id, exc)
                continue
            if user is not None:
                await self.presence(user, online=online)

    async def sessions_revoked(
        self, user_id: int, families: Iterable[str], *, every: bool = False
    ) -> None:
        """Close the sockets of ended sessions on every gateway (``envelope.Revoked``).

        Best effort like the rest: a socket that misses this (bus down) still
        closes when its access token expires, since the revoked session can no
        longer refresh it.
        """
        await self._publish(
            envelope.user_channel(user_id), envelope.revoked(user_id, families, every=every)
        )

    async def notifications(self, items: Sequence[tuple[int, JSON]]) -> None:
        """New inbox entries, (user, item), each to every open session of its user on any
        gateway: one bus operation (a Redis pipeline) for them all."""
        try:
            await self._bus.publish_many(
                [
                    (
                        envelope.user_channel(user_id),
                        envelope.notify(user_id, events.notification(item)),
                    )
                    for user_id, item in items
                ]
            )
        except Exception as exc:  # the bus reports outages many ways
            logger.warning("could not announce %d notifications: %s", len(items), exc)

    async def _room_event(self, room: Room) -> bytes:
        """The room with who is online in it; none for a room past the presence push size,
        whose members' presence a client subscribes to (``presence_subscribe``)."""
        if len(room.members) > self._presence_push_max:
            return events.room(room, [])
        try:
            online = sorted(await self._presence.online(m.id for m in room.members))
        except Exception as exc:  # presence is a hint; the room is not
            logger.warning("presence unavailable for room %s: %s", room.id, exc)
            online = []
        return events.room(room, online)

    async def _publish(self, channel: str, payload: bytes) -> None:
        try:
            await self._bus.publish(channel, payload)
        except Exception as exc:  # the bus reports outages many ways
            logger.warning("could not announce on %s: %s", channel, exc)
