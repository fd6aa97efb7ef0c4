"""The gateway's routing core: which local connections follow which room.

A room with at least one local member has a ``Feed``: the gateway subscribes
to the room's bus channel, orders arriving stream entries (messages and room
events: edits, deletes, reactions) with a ``Sequencer`` and writes each one,
framed once, to every local connection in the room. A
connection replaying history (resume) is parked in ``holding`` so live
messages wait behind the replay instead of overtaking it.

Events are scoped as the big products scope them (issue 15): typing only in
rooms up to ``Scope.typing_max_members``, presence pushed only to those sharing
a room of up to ``Scope.presence_push_max_members`` with the user, and to the
connections that subscribed to it (``presence_subscribe``); read markers travel
on users' channels, not rooms'.

The hub delivers; it does not decide what to say. Events are produced by the
``Announcer`` (and messages by the message log), and arrive here on the bus;
``on_bus`` holds the delivery rule of each envelope kind.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Coroutine, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any

from parley.announcer import Announcer
from parley.bus import Bus
from parley.gateway.connection import Connection
from parley.hops import Hops
from parley.models import Entry
from parley.presence import Presence
from parley.protocol import envelope, events, resume, wsframe
from parley.protocol.sequencer import Sequencer
from parley.protocol.status import REVOKED_REASON, CloseCode
from parley.store import Store
from parley.tracing import SpanKind, Tracing

logger = logging.getLogger(__name__)

GAP_RETRIES = 20
GAP_RETRY_DELAY_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class Scope:
    """How far ephemeral events reach, by room size (members)."""

    typing_max_members: int = 100
    """Rooms with more members get no typing notices (Zulip's default)."""
    presence_push_max_members: int = 100
    """Rooms with more members get no pushed presence: clients subscribe to whom they show."""


class Feed:
    __slots__ = (
        "direct",
        "filling",
        "holding",
        "live",
        "members",
        "ready",
        "refs",
        "room_id",
        "sequencer",
    )

    def __init__(self, room_id: int) -> None:
        self.room_id = room_id
        self.direct = False
        """A direct room: a read marker also goes to the other member."""
        self.members: set[int] = set()
        self.live: set[Connection] = set()
        self.holding: dict[Connection, list[tuple[int, bytes]]] = {}
        self.sequencer: Sequencer[bytes] = Sequencer()
        self.ready = asyncio.Event()
        self.refs = 0
        self.filling = False

    def push(self, seq: int, frame: bytes) -> None:
        """Hand one arrival to the sequencer and deliver whatever it releases."""
        for released, ready in self.sequencer.push(seq, frame):
            self.deliver(released, ready)

    def push_stored(self, entries: Iterable[Entry]) -> None:
        """Entries read from the store (gap fill, resync) take the same path as live ones."""
        for entry in entries:
            self.push(entry.seq, wsframe.text(events.entry(entry)))

    def deliver(self, seq: int, frame: bytes) -> None:
        for conn in self.live:
            conn.send(frame)
        for held in self.holding.values():
            held.append((seq, frame))

    def broadcast(self, frame: bytes, skip_user: int = 0) -> None:
        for conn in (*self.live, *self.holding):
            if conn.user.id != skip_user:
                conn.send(frame)

    def broadcast_droppable(self, frame: bytes, skip_user: int = 0) -> None:
        """``broadcast`` for a frame a socket that is behind goes without (typing)."""
        for conn in (*self.live, *self.holding):
            if conn.user.id != skip_user:
                conn.send_droppable(frame)


class Hub:
    def __init__(
        self,
        store: Store,
        bus: Bus,
        presence: Presence,
        announcer: Announcer,
        resume_cap: int,
        scope: Scope | None = None,
        *,
        hops: Hops | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.hops = hops or Hops()
        self._tracing = tracing
        self.store = store
        self.bus = bus
        self.presence = presence
        self.announcer = announcer
        self.resume_cap = resume_cap
        self.scope = scope or Scope()
        self.feeds: dict[int, Feed] = {}
        self.users: dict[int, set[Connection]] = defaultdict(set)
        self._greeting: set[Connection] = set()
        """Attached but not yet sent ``ready``: user-channel events wait for it, as a client reads
        nothing before ``ready`` and fetches what they carry (inbox, read markers) after it."""
        self.watchers: dict[int, set[Connection]] = defaultdict(set)
        """User id -> local connections subscribed to that user's presence."""
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self.bus.start(self.on_bus)
        await self.bus.subscribe(envelope.PRESENCE)
        self.bus.on_reconnect(self.resync)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def connections(self) -> int:
        return sum(len(conns) for conns in self.users.values())

    def each_connection(self) -> Iterator[Connection]:
        return chain.from_iterable(self.users.values())

    # connections coming and going

    async def attach(self, conn: Connection, resume_from: dict[int, int] | None) -> list[int]:
        """Start live delivery for every room of the user; replay ``resume_from`` first.

        Returns the rooms whose replay hit the cap (``resumed.incomplete``).
        """
        user_id = conn.user.id
        first = not self.users[user_id]
        self._greeting.add(conn)
        self.users[user_id].add(conn)
        if first:
            await self.bus.subscribe(envelope.user_channel(user_id))
        room_ids = await self.store.room_ids(user_id)
        feeds = await self._open_feeds(room_ids)
        wanted = resume_from or {}
        for feed in feeds:
            self._join(conn, feed, hold=feed.room_id in wanted)
        if await self.presence.connected(user_id):
            await self.announcer.presence(conn.user, online=True)
        push_max = self.scope.presence_push_max_members
        peers = set().union(*(f.members for f in feeds if len(f.members) <= push_max))
        peers.discard(user_id)
        conn.send(wsframe.text(events.ready(conn.user, sorted(await self.presence.online(peers)))))
        self._greeting.discard(conn)
        if resume_from is None:
            return []
        return await self.replay(conn, resume_from)

    async def detach(self, conn: Connection) -> None:
        user_id = conn.user.id
        self._greeting.discard(conn)
        self._unwatch(conn)
        for room_id in list(conn.live_from):
            feed = self.feeds.get(room_id)
            if feed is not None:
                self._leave(conn, feed)
        conns = self.users.get(user_id)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self.users[user_id]
                try:
                    await self.bus.unsubscribe(envelope.user_channel(user_id))
                except Exception as exc:  # the bus forgets subscriptions when it restarts
                    logger.warning("could not unsubscribe user %s: %s", user_id, exc)
        try:
            went_offline = await self.presence.disconnected(user_id)
        except Exception as exc:  # a dead gateway's count expires by itself
            logger.warning("presence not updated for user %s: %s", user_id, exc)
            return
        if went_offline:
            await self.announcer.presence(conn.user, online=False)

    def _join(self, conn: Connection, feed: Feed, *, hold: bool) -> None:
        """Add ``conn`` to ``feed``, taking over the reference ``_open_feeds`` gave out."""
        if feed.room_id in conn.live_from or conn.closed:
            self._release(feed)
            return
        assert feed.sequencer.last is not None
        conn.live_from[feed.room_id] = feed.sequencer.last
        if hold:
            feed.holding[conn] = []
        else:
            feed.live.add(conn)

    def _leave(self, conn: Connection, feed: Feed) -> None:
        del conn.live_from[feed.room_id]
        feed.live.discard(conn)
        feed.holding.pop(conn, None)
        self._release(feed)

    def _release(self, feed: Feed) -> None:
        feed.refs -= 1
        if feed.refs == 0 and self.feeds.get(feed.room_id) is feed:
            del self.feeds[feed.room_id]
            self._spawn(self._unsubscribe_unused(feed.room_id))

    async def _unsubscribe_unused(self, room_id: int) -> None:
        """Runs later than the release, so the room may be followed again by then."""
        if room_id not in self.feeds:
            await self.bus.unsubscribe(envelope.room_channel(room_id))

    async def _open_feeds(self, room_ids: Iterable[int]) -> list[Feed]:
        """Follow rooms, subscribing to those not followed yet; one reference each to the caller.

        Subscribing before reading the position means nothing published in
        between is missed: it is either counted in the position or arrives on
        the bus. The caller hands each reference to ``_join`` or ``_release``.
        """
        feeds: list[Feed] = []
        new: list[Feed] = []
        for room_id in room_ids:
            feed = self.feeds.get(room_id)
            if feed is None:
                feed = self.feeds[room_id] = Feed(room_id)
                new.append(feed)
            feed.refs += 1
            feeds.append(feed)
        try:
            if new:
                await self._start_feeds(new)
            for feed in feeds:
                await feed.ready.wait()
        except BaseException:
            for feed in feeds:
                self._release(feed)
            raise
        opened = [f for f in feeds if f.sequencer.started]
        for feed in feeds:
            if not feed.sequencer.started:
                self._release(feed)
        return opened

    async def _start_feeds(self, new: list[Feed]) -> None:
        try:
            for feed in new:
                await self.bus.subscribe(envelope.room_channel(feed.room_id))
            ids = [f.room_id for f in new]
            seqs = await self.store.last_seqs(ids)
            rosters = await self.store.members_of(ids)
            direct = await self.store.direct_rooms(ids)
        except BaseException:
            for feed in new:
                if self.feeds.get(feed.room_id) is feed:
                    del self.feeds[feed.room_id]
                feed.ready.set()
            raise
        for feed in new:
            feed.members = set(rosters.get(feed.room_id, ()))
            feed.direct = feed.room_id in direct
            for seq, frame in feed.sequencer.start(seqs.get(feed.room_id, 0)):
                feed.deliver(seq, frame)
            feed.ready.set()

    # resume

    async def replay(self, conn: Connection, rooms: dict[int, int]) -> list[int]:
        """Send what the client missed in ``rooms``; rooms it is not in are ignored."""
        incomplete: list[int] = []
        for room_id, last_seen in rooms.items():
            feed = self.feeds.get(room_id)
            if feed is None or room_id not in conn.live_from:
                continue
            if conn in feed.live:
                feed.live.discard(conn)
                feed.holding[conn] = []
            plan = resume.plan(last_seen, conn.live_from[room_id], self.resume_cap)
            try:
                if not plan.empty:
                    for entry in await self.store.between(room_id, plan.after, plan.until):
                        conn.send(wsframe.text(events.entry(entry)))
                if plan.incomplete:
                    incomplete.append(room_id)
            finally:
                held = feed.holding.pop(conn, None)
                if held is not None and room_id in conn.live_from:
                    for frame in resume.release_held(held, plan.until):
                        conn.send(frame)
                    feed.live.add(conn)
            if not plan.incomplete and room_id in conn.live_from:
                conn.live_from[room_id] = min(conn.live_from[room_id], last_seen)
        return incomplete

    # the bus

    def on_bus(self, channel: str, payload: bytes) -> None:
        """Deliver one envelope by the rule of its kind: one case, one method, per kind."""
        try:
            env, stamp = envelope.read_stamped(payload)
        except ValueError:
            logger.warning("dropping malformed bus message on %s", channel)
            return
        match env:
            case envelope.Message():
                if stamp is None:
                    self._on_message(channel, env)
                else:
                    self._on_stamped_message(channel, env, stamp)
            case envelope.RoomEvent():
                self._on_room_event(_channel_id(channel), env)
            case envelope.Presence():
                self._to_peers(env.user, env.event, with_self=False)
            case envelope.UserUpdated():
                self._to_peers(env.user, env.event, with_self=True)
            case envelope.MemberAdded():
                self._on_member_added(_channel_id(channel), env)
            case envelope.MemberLeft():
                self._on_member_left(_channel_id(channel), env)
            case envelope.Joined():
                self._spawn(self._on_joined(_channel_id(channel), env))
            case envelope.Revoked():
                self._on_revoked(env)
            case envelope.UserEvent():
                self._on_user_event(env)
            case envelope.Notify():
                self._on_notify(env)
            case envelope.Ack():
                pass  # acks have a listener of their own (the Kafka log)

    def _on_message(self, channel: str, env: envelope.Message) -> None:
        feed = self.feeds.get(_channel_id(channel))
        if feed is None:
            return
        feed.push(env.seq, wsframe.text(env.event))
        if feed.sequencer.gap() is not None and not feed.filling:
            feed.filling = True
            self._spawn(self._fill(feed))

    def _on_stamped_message(
        self, channel: str, env: envelope.Message, stamp: envelope.Stamp
    ) -> None:
        """A stored entry with its publish time: time the bus and fan-out hops, trace it."""
        received = time.perf_counter()
        self.hops.bus(max(0.0, time.time() - stamp.published / 1e6))
        tracing = self._tracing
        if tracing is None or stamp.traceparent is None:
            self._on_message(channel, env)
        else:
            span = tracing.start("deliver", parent=stamp.traceparent, kind=SpanKind.CONSUMER)
            try:
                self._on_message(channel, env)
            finally:
                span.end()
        self.hops.fanout(time.perf_counter() - received)

    def _on_room_event(self, room_id: int, env: envelope.RoomEvent) -> None:
        """Every local follower of the room but ``skip_user``'s connections."""
        feed = self.feeds.get(room_id)
        if feed is None:
            return
        if env.droppable:
            feed.broadcast_droppable(wsframe.text(env.event), skip_user=env.skip_user)
        else:
            feed.broadcast(wsframe.text(env.event), skip_user=env.skip_user)

    def _on_user_event(self, env: envelope.UserEvent) -> None:
        """Every local connection of the user, whichever rooms it follows."""
        conns = self.users.get(env.user)
        if conns:
            frame = wsframe.text(env.event)
            for conn in conns:
                if conn not in self._greeting:
                    conn.send(frame)

    # scoping: who hears typing, read markers and presence

    def typing_allowed(self, room_id: int) -> bool:
        """Typing notices only in rooms followed here of at most ``typing_max_members``."""
        feed = self.feeds.get(room_id)
        return feed is not None and len(feed.members) <= self.scope.typing_max_members

    def read_partner(self, room_id: int, user_id: int) -> int | None:
        """The other member of a direct room, who hears ``user_id``'s read markers."""
        feed = self.feeds.get(room_id)
        if feed is None or not feed.direct:
            return None
        others = feed.members - {user_id}
        return next(iter(others)) if len(others) == 1 else None

    async def watch(self, conn: Connection, users: frozenset[int]) -> tuple[list[int], set[int]]:
        """Follow the presence of ``users`` on ``conn`` instead of whom it followed before.

        Only people sharing a room with the connection's user count; the others
        are left out without saying why. Returns the users followed now and
        which of them are online: presence events carry the changes from here
        on, on every gateway since each hears every presence change.
        """
        self._unwatch(conn)
        shared: set[int] = set()
        for room_id in conn.live_from:
            feed = self.feeds.get(room_id)
            if feed is not None:
                shared |= users & feed.members
        shared.discard(conn.user.id)
        conn.watching = frozenset(shared)
        for user_id in shared:
            self.watchers[user_id].add(conn)
        online = await self.presence.online(shared) if shared else set()
        return sorted(shared), online

    def _unwatch(self, conn: Connection) -> None:
        for user_id in conn.watching:
            watching = self.watchers.get(user_id)
            if watching is not None:
                watching.discard(conn)
                if not watching:
                    del self.watchers[user_id]
        conn.watching = frozenset()

    async def _fill(self, feed: Feed) -> None:
        """Read a missing range from the store; a publish can trail its commit."""
        try:
            for _ in range(GAP_RETRIES):
                gap = feed.sequencer.gap()
                if gap is None:
                    return
                feed.push_stored(await self.store.between(feed.room_id, gap[0] - 1, gap[1]))
                if feed.sequencer.gap() is not None:
                    await asyncio.sleep(GAP_RETRY_DELAY_SECONDS)
            logger.error("room %s: seq gap %s never filled", feed.room_id, feed.sequencer.gap())
        finally:
            feed.filling = False

    async def resync(self) -> None:
        """After a bus outage, fetch whatever every followed room missed."""
        seqs = await self.store.last_seqs(list(self.feeds))
        for room_id, last in seqs.items():
            feed = self.feeds.get(room_id)
            if feed is None or feed.sequencer.last is None or last <= feed.sequencer.last:
                continue
            feed.push_stored(await self.store.between(room_id, feed.sequencer.last, last))

    def _to_peers(self, user_id: int, event: bytes, *, with_self: bool) -> None:
        """Once to each local connection that shares a small enough room with the user (and
        theirs, ``with_self``), and to the connections that subscribed to the user."""
        frame = wsframe.text(event)
        seen: set[Connection] = set()
        for conn in self.watchers.get(user_id, ()):
            seen.add(conn)
            conn.send(frame)
        push_max = self.scope.presence_push_max_members
        for feed in self.feeds.values():
            if user_id in feed.members and len(feed.members) <= push_max:
                for conn in (*feed.live, *feed.holding):
                    if (with_self or conn.user.id != user_id) and conn not in seen:
                        seen.add(conn)
                        conn.send(frame)

    def _on_member_added(self, room_id: int, env: envelope.MemberAdded) -> None:
        feed = self.feeds.get(room_id)
        if feed is None:
            return
        feed.members.add(env.user)
        feed.broadcast(wsframe.text(env.event))

    def _on_member_left(self, room_id: int, env: envelope.MemberLeft) -> None:
        """The leaver's connections hear ``left`` and stop following; the others, the room."""
        feed = self.feeds.get(room_id)
        if feed is None:
            return
        feed.members.discard(env.user)
        gone = wsframe.text(events.left(room_id))
        for conn in [c for c in (*feed.live, *feed.holding) if c.user.id == env.user]:
            conn.send(gone)
            self._leave(conn, feed)
        feed.broadcast(wsframe.text(env.event), skip_user=env.user)

    async def _on_joined(self, user_id: int, env: envelope.Joined) -> None:
        room_id = env.room
        conns = [c for c in self.users.get(user_id, ()) if room_id not in c.live_from]
        if not conns:
            return
        frame = wsframe.text(env.event)
        for feed in await self._open_feeds([room_id] * len(conns)):
            conn = conns.pop()
            self._join(conn, feed, hold=False)
            if conn.live_from.get(room_id) is not None:
                conn.send(frame)

    def _on_revoked(self, env: envelope.Revoked) -> None:
        """The user's local sockets of the ended sessions close with 4401."""
        for conn in [c for c in self.users.get(env.user, ()) if env.covers(c.family)]:
            conn.close(CloseCode.UNAUTHORIZED, REVOKED_REASON)

    def _on_notify(self, env: envelope.Notify) -> None:
        """Every local socket of the user: each tab's bell counts it."""
        frame = wsframe.text(env.event)
        for conn in self.users.get(env.user, ()):
            if conn not in self._greeting:
                conn.send(frame)

    # housekeeping

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Future[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            logger.error("background gateway task failed", exc_info=exc)


def _channel_id(channel: str) -> int:
    return int(channel.rsplit(".", 1)[1])
