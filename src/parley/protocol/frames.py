"""Client frames: bytes from the socket in, one typed command out (or a ProtocolError)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from parley.protocol import validation
from parley.protocol.errors import invalid

MAX_FRAME_BYTES = 64 * 1024
MAX_RESUME_ROOMS = 1000
MAX_PRESENCE_SUBSCRIPTIONS = 500
"""Users one ``presence_subscribe`` may name: about what a member list shows at once."""


@dataclass(frozen=True, slots=True)
class Auth:
    token: str
    resume: dict[int, int] | None


@dataclass(frozen=True, slots=True)
class Send:
    room: int
    body: str
    client_id: str
    reply_to: int | None = None
    attachments: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Edit:
    room: int
    seq: int
    body: str
    client_id: str


@dataclass(frozen=True, slots=True)
class Delete:
    room: int
    seq: int
    client_id: str


@dataclass(frozen=True, slots=True)
class React:
    room: int
    seq: int
    emoji: str
    client_id: str


@dataclass(frozen=True, slots=True)
class Unreact:
    room: int
    seq: int
    emoji: str
    client_id: str


@dataclass(frozen=True, slots=True)
class Resume:
    rooms: dict[int, int]


@dataclass(frozen=True, slots=True)
class Typing:
    room: int


@dataclass(frozen=True, slots=True)
class Read:
    room: int
    seq: int


@dataclass(frozen=True, slots=True)
class Ping:
    pass


@dataclass(frozen=True, slots=True)
class PresenceSubscribe:
    """The users whose presence the connection follows from now on, replacing the last set."""

    users: frozenset[int]


@dataclass(frozen=True, slots=True)
class Focus:
    """The room this connection shows (None: none, or the tab is hidden): its user is not
    notified of what they are reading there."""

    room: int | None


Change = Edit | Delete | React | Unreact
"""A frame that adds a room event to the stream."""
Command = Auth | Send | Change | Resume | Typing | Read | Ping | PresenceSubscribe | Focus


def _resume_map(value: Any) -> dict[int, int]:
    if not isinstance(value, dict):
        raise invalid("rooms must be an object of room id to last seen seq")
    if len(value) > MAX_RESUME_ROOMS:
        raise invalid(f"resume at most {MAX_RESUME_ROOMS} rooms at once")
    return {
        validation.object_id(room, "room"): validation.seq(last, "last seen seq")
        for room, last in value.items()
    }


def _presence_subscribe(frame: dict[str, Any]) -> PresenceSubscribe:
    value = frame.get("users")
    if not isinstance(value, list):
        raise invalid("users must be a list of user ids")
    if len(value) > MAX_PRESENCE_SUBSCRIPTIONS:
        raise invalid(f"subscribe to at most {MAX_PRESENCE_SUBSCRIPTIONS} users at once")
    return PresenceSubscribe(frozenset(validation.object_id(u, "user") for u in value))


def _client_id(frame: dict[str, Any]) -> str:
    # The client_id is checked first so every later error can echo it.
    cid = validation.client_id(frame.get("client_id"), required=True)
    assert cid is not None
    return cid


def _send(frame: dict[str, Any]) -> Send:
    cid = _client_id(frame)
    room = validation.object_id(frame.get("room"), "room", cid)
    reply_to = frame.get("reply_to")
    files = validation.attachments(frame.get("attachments"), cid)
    return Send(
        room=room,
        body=validation.body(frame.get("body"), cid, empty=bool(files)),
        client_id=cid,
        reply_to=None if reply_to is None else validation.target(reply_to, "reply_to", cid),
        attachments=files,
    )


def _change(kind: str, frame: dict[str, Any]) -> Change:
    cid = _client_id(frame)
    room = validation.object_id(frame.get("room"), "room", cid)
    seq = validation.target(frame.get("seq"), "seq", cid)
    if kind == "edit":
        return Edit(room, seq, validation.body(frame.get("body"), cid), cid)
    if kind == "delete":
        return Delete(room, seq, cid)
    emoji = validation.emoji(frame.get("emoji"), cid)
    return React(room, seq, emoji, cid) if kind == "react" else Unreact(room, seq, emoji, cid)


def _auth(frame: dict[str, Any]) -> Auth:
    token = validation.token(frame.get("token"), "token")
    resume = frame.get("resume")
    return Auth(token=token, resume=None if resume is None else _resume_map(resume))


_CHANGES = frozenset({"edit", "delete", "react", "unreact"})


def parse(raw: bytes | str) -> Command:
    """Decode one text frame; raise ProtocolError with code ``invalid_input`` on any flaw."""
    try:
        frame = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise invalid("frame is not valid JSON") from None
    if not isinstance(frame, dict):
        raise invalid("frame must be a JSON object")
    kind = frame.get("type")
    if kind == "send":
        return _send(frame)
    if kind in _CHANGES:
        return _change(kind, frame)
    if kind == "typing":
        return Typing(room=validation.object_id(frame.get("room"), "room"))
    if kind == "read":
        return Read(
            room=validation.object_id(frame.get("room"), "room"),
            seq=validation.seq(frame.get("seq")),
        )
    if kind == "ping":
        return Ping()
    if kind == "presence_subscribe":
        return _presence_subscribe(frame)
    if kind == "focus":
        room = frame.get("room")
        return Focus(room=None if room is None else validation.object_id(room, "room"))
    if kind == "resume":
        return Resume(rooms=_resume_map(frame.get("rooms")))
    if kind == "auth":
        return _auth(frame)
    if not isinstance(kind, str):
        raise invalid("frame needs a string field 'type'")
    raise invalid(f"unknown frame type {kind[:32]!r}")
