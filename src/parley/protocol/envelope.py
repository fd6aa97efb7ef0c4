"""What travels on the bus: a kind, a two-number header, then the payload.

The payload of every kind but ``ACK`` is an encoded client event, so a gateway
turns it into a socket frame without decoding it; the header carries the little
the gateway needs to route it (a seq, a user to skip, a room to join). On the
wire an envelope is ``<kind letter><first> <second> <payload>``; each kind names
what its two numbers mean, with one builder (bytes out) and one class (what
``read`` returns) per kind.

An envelope may be stamped (``stamped``): ``^<published µs> <traceparent or -> `` in
front of it says when it was published and, when tracing is on, the W3C trace
context of the publish, so a gateway can time the bus hop and continue the
message's trace (``read_stamped``). Stored entries are stamped; ``read`` skips a
stamp, so readers that need neither ignore it.

Channels: ``room.<id>`` (stream entries, room events), ``user.<id>`` (rooms a user
joins, sessions revoked, the user's read markers, notifications), ``presence`` (users
coming and going, profiles changed), ``gateway.<id>`` (acks routed to the gateway that
holds the sender).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum


class Kind(bytes, Enum):
    """The letter that starts an envelope."""

    MESSAGE = b"M"
    """A stored stream entry (a message, or an edit, delete, react, unreact), on its room's
    channel: ordered by seq, replayed on resume, held back during a replay."""
    ROOM_EVENT = b"E"
    """An ephemeral room event (typing) for the room's followers; a droppable one is the
    first thing a connection with a full buffer goes without."""
    MEMBER_ADDED = b"A"
    """Someone joined the room: followers add them to the roster."""
    MEMBER_LEFT = b"L"
    """Someone left the room: their connections stop following it."""
    JOINED = b"J"
    """On a user's channel: that user's connections start following a room."""
    PRESENCE = b"P"
    """A user came online or went offline everywhere."""
    USER_UPDATED = b"D"
    """On the presence channel: a user's profile changed. Like presence it reaches whoever
    shares a room with them, and also their own other connections."""
    ACK = b"K"
    """The persister's outcome of one send, for the gateway that produced it."""
    REVOKED = b"R"
    """On a user's channel: sessions ended (logout, theft, sign out everywhere): close them."""
    USER_EVENT = b"U"
    """On a user's channel: an event for every connection of that user (a read marker)."""
    NOTIFY = b"N"
    """On a user's channel: a new inbox notification for every open session of that user."""


@dataclass(frozen=True, slots=True)
class Message:
    seq: int
    sender: int
    event: bytes
    """The ``message`` or ``event`` client event."""


@dataclass(frozen=True, slots=True)
class RoomEvent:
    skip_user: int
    """A user whose connections do not get the event (the typist), or 0."""
    event: bytes
    droppable: bool = False
    """Worth less than anything else on a busy socket (typing): dropped, not queued, there."""


@dataclass(frozen=True, slots=True)
class UserEvent:
    user: int
    event: bytes


@dataclass(frozen=True, slots=True)
class MemberAdded:
    user: int
    event: bytes
    """The ``room`` client event, as the room is now."""


@dataclass(frozen=True, slots=True)
class MemberLeft:
    user: int
    event: bytes


@dataclass(frozen=True, slots=True)
class Joined:
    room: int
    event: bytes


@dataclass(frozen=True, slots=True)
class Presence:
    user: int
    online: bool
    event: bytes


@dataclass(frozen=True, slots=True)
class UserUpdated:
    user: int
    event: bytes


@dataclass(frozen=True, slots=True)
class Ack:
    """Not a client event: the persister tells the gateway waiting for a send how it ended.

    ``payload`` is JSON ``{"client_id": ..., "message": {...} | null, "event":
    {...}, "refused": "not_member" | "no_target" | "not_allowed" | "unchanged"}``
    with the stored message, the stored room event, or why nothing was stored
    (no ``refused`` with a null message: not a member). A retried client_id gets
    the original entry. See ``parley.log.kafka.records``.
    """

    room: int
    sender: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class Revoked:
    """Sessions (refresh families) of ``user`` that ended: their sockets close with 4401.

    ``every``: every session of the user except ``families`` (sign out
    everywhere, or everywhere else after a password change); otherwise exactly
    ``families`` (a logout, a family revoked for reuse). On the wire the
    families are the payload, separated by spaces.
    """

    user: int
    every: bool
    families: frozenset[str]

    def covers(self, family: str | None) -> bool:
        """Whether a socket of this user, authenticated in ``family``, must close.

        A token without a session (``None``) belongs to no family, so only
        ``every`` reaches it.
        """
        if family is None:
            return self.every
        return (family in self.families) is not self.every


@dataclass(frozen=True, slots=True)
class Notify:
    user: int
    event: bytes
    """The ``notification`` client event."""


Envelope = (
    Message
    | RoomEvent
    | MemberAdded
    | MemberLeft
    | Joined
    | Presence
    | UserUpdated
    | Ack
    | Revoked
    | UserEvent
    | Notify
)


@dataclass(frozen=True, slots=True)
class Stamp:
    """When an envelope was published, and in which trace."""

    published: int
    """Wall clock, microseconds since the epoch."""
    traceparent: str | None
    """The W3C ``traceparent`` of the publish span; None when tracing is off."""


_STAMP = b"^"
_NO_TRACE = b"-"


def stamped(data: bytes, published: int, traceparent: str | None = None) -> bytes:
    """``data`` (a built envelope) with a stamp in front."""
    parent = traceparent.encode() if traceparent else _NO_TRACE
    return b"^%d %s " % (published, parent) + data


def _pack(letter: bytes, first: int, second: int, payload: bytes) -> bytes:
    return b"%s%d %d " % (letter, first, second) + payload


# The letters as plain bytes: reading an enum member's value costs about a
# microsecond, and the persister builds two envelopes per message.
_MESSAGE = Kind.MESSAGE.value
_ROOM_EVENT = Kind.ROOM_EVENT.value
_MEMBER_ADDED = Kind.MEMBER_ADDED.value
_MEMBER_LEFT = Kind.MEMBER_LEFT.value
_JOINED = Kind.JOINED.value
_PRESENCE = Kind.PRESENCE.value
_USER_UPDATED = Kind.USER_UPDATED.value
_ACK = Kind.ACK.value
_REVOKED = Kind.REVOKED.value
_USER_EVENT = Kind.USER_EVENT.value
_NOTIFY = Kind.NOTIFY.value


def message(seq: int, sender: int, event: bytes) -> bytes:
    return _pack(_MESSAGE, seq, sender, event)


def room_event(event: bytes, skip_user: int = 0, *, droppable: bool = False) -> bytes:
    return _pack(_ROOM_EVENT, int(droppable), skip_user, event)


def user_event(user: int, event: bytes) -> bytes:
    return _pack(_USER_EVENT, user, 0, event)


def member_added(user: int, event: bytes) -> bytes:
    return _pack(_MEMBER_ADDED, 0, user, event)


def member_left(user: int, event: bytes) -> bytes:
    return _pack(_MEMBER_LEFT, 0, user, event)


def joined(room: int, event: bytes) -> bytes:
    return _pack(_JOINED, room, 0, event)


def presence(user: int, online: bool, event: bytes) -> bytes:
    return _pack(_PRESENCE, user, int(online), event)


def user_updated(user: int, event: bytes) -> bytes:
    return _pack(_USER_UPDATED, user, 0, event)


def ack(room: int, sender: int, payload: bytes) -> bytes:
    return _pack(_ACK, room, sender, payload)


def revoked(user: int, families: Iterable[str], *, every: bool = False) -> bytes:
    return _pack(_REVOKED, user, int(every), " ".join(families).encode())


def notify(user: int, event: bytes) -> bytes:
    return _pack(_NOTIFY, user, 0, event)


def _revoked(user: int, every: int, payload: bytes) -> Revoked:
    return Revoked(user, every == 1, frozenset(payload.decode().split()))


_READERS: dict[int, Callable[[int, int, bytes], Envelope]] = {
    _MESSAGE[0]: Message,
    _ROOM_EVENT[0]: lambda droppable, skip, event: RoomEvent(skip, event, droppable == 1),
    _MEMBER_ADDED[0]: lambda _, user, event: MemberAdded(user, event),
    _MEMBER_LEFT[0]: lambda _, user, event: MemberLeft(user, event),
    _JOINED[0]: lambda room, _, event: Joined(room, event),
    _PRESENCE[0]: lambda user, online, event: Presence(user, online == 1, event),
    _USER_UPDATED[0]: lambda user, _, event: UserUpdated(user, event),
    _ACK[0]: Ack,
    _REVOKED[0]: _revoked,
    _USER_EVENT[0]: lambda user, _, event: UserEvent(user, event),
    _NOTIFY[0]: lambda user, _, event: Notify(user, event),
}
"""One reader per kind, keyed by the letter's byte value; each maps the header to names."""


def read(data: bytes) -> Envelope:
    """Raise ValueError on anything malformed, so a bad peer cannot crash the gateway."""
    return read_stamped(data)[0]


def read_stamped(data: bytes) -> tuple[Envelope, Stamp | None]:
    """The envelope and its stamp (None when unstamped); ValueError when malformed."""
    stamp = None
    if data[:1] == _STAMP:
        published, parent, data = data.split(b" ", 2)
        stamp = Stamp(int(published[1:]), None if parent == _NO_TRACE else parent.decode())
    return _read(data), stamp


def _read(data: bytes) -> Envelope:
    head, second, payload = data.split(b" ", 2)
    reader = _READERS.get(head[0]) if head else None
    if reader is None:
        raise ValueError(f"unknown envelope kind {head[:1]!r}")
    return reader(int(head[1:]), int(second), payload)


def room_channel(room_id: int) -> str:
    return f"room.{room_id}"


def user_channel(user_id: int) -> str:
    return f"user.{user_id}"


def gateway_channel(gateway_id: str) -> str:
    return f"gateway.{gateway_id}"


PRESENCE = "presence"
