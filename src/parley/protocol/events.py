"""Server events, encoded to JSON bytes once so a broadcast reuses the same bytes."""

from __future__ import annotations

import math
from collections.abc import Iterable

import orjson

from parley.models import JSON, Entry, Message, Room, RoomEvent, User, rfc3339
from parley.protocol.errors import ErrorCode


def encode(event: JSON) -> bytes:
    return orjson.dumps(event)


def ready(user: User, online: Iterable[int]) -> bytes:
    return encode({"type": "ready", "user": user.to_json(), "online": [str(u) for u in online]})


def message(msg: Message) -> bytes:
    return encode({"type": "message", "message": msg.to_json()})


def notification(item: JSON) -> bytes:
    """A new entry of the user's inbox (``InboxItem.to_json``), live to their sessions."""
    return encode({"type": "notification", "notification": item})


def room_event(value: RoomEvent) -> bytes:
    """An edit, delete, react or unreact: an entry of the room's stream, like a message."""
    return encode({"type": "event", "event": value.to_json()})


def entry(value: Entry) -> bytes:
    """The client event of one stream entry, as delivered live and replayed."""
    return message(value) if isinstance(value, Message) else room_event(value)


def ack(stored: Entry | None, client_id: str) -> bytes:
    """A message's ack carries the message; a room event's the event (null: nothing changed)."""
    if isinstance(stored, Message):
        return encode({"type": "ack", "client_id": client_id, "message": stored.to_json()})
    event = None if stored is None else stored.to_json()
    return encode({"type": "ack", "client_id": client_id, "event": event})


def reauthed(expires_in: int) -> bytes:
    """An ``auth`` frame on an open socket was accepted: it now lasts ``expires_in`` seconds."""
    return encode({"type": "reauthed", "expires_in": expires_in})


def resumed(incomplete: Iterable[int]) -> bytes:
    return encode({"type": "resumed", "incomplete": [str(r) for r in incomplete]})


def typing(room_id: int, user: User) -> bytes:
    return encode({"type": "typing", "room": str(room_id), "user": user.to_json()})


def read(room_id: int, user: User, seq: int) -> bytes:
    return encode({"type": "read", "room": str(room_id), "user": user.to_json(), "seq": seq})


def presence(user: User, online: bool, last_seen: int | None = None) -> bytes:
    """``last_seen``: when an offline user's last connection closed (microseconds)."""
    event: JSON = {"type": "presence", "user": user.to_json()}
    event["status"] = "online" if online else "offline"
    if not online and last_seen is not None:
        event["last_seen"] = rfc3339(last_seen)
    return encode(event)


def user_updated(user: User) -> bytes:
    """The user's profile (display name) changed; sent to everyone who shares a room."""
    return encode({"type": "user_updated", "user": user.to_json()})


def presence_subscribed(users: Iterable[int], online: Iterable[int]) -> bytes:
    """The answer to ``presence_subscribe``: whom it follows now, and who of them is online."""
    return encode(
        {
            "type": "presence_subscribed",
            "users": [str(u) for u in users],
            "online": [str(u) for u in online],
        }
    )


def room(value: Room, online: Iterable[int] = ()) -> bytes:
    """A room someone joined; ``online`` says which of its members are online now."""
    return encode({"type": "room", "room": value.to_json(), "online": [str(u) for u in online]})


def room_updated(value: Room, by: User) -> bytes:
    """A group's settings or roles changed: what every member sees alike, not the viewer's
    unread counts, so one encoding serves them all."""
    return encode(
        {
            "type": "room_updated",
            "room": str(value.id),
            "name": value.name,
            "topic": value.topic,
            "public": value.public,
            "roles": {str(user): role for user, role in value.roles},
            "by": by.to_json(),
        }
    )


def left(room_id: int) -> bytes:
    return encode({"type": "left", "room": str(room_id)})


def error(
    code: ErrorCode, text: str, client_id: str | None = None, retry_after: float | None = None
) -> bytes:
    """``retry_after``: seconds until a ``rate_limited`` request could pass."""
    event: JSON = {"type": "error", "code": code, "message": text}
    if client_id is not None:
        event["client_id"] = client_id
    if retry_after is not None:
        event["retry_after"] = math.ceil(retry_after * 1000) / 1000
    return encode(event)


PONG = encode({"type": "pong"})
