"""Client frames: bytes from the socket in, one typed command out (or a ProtocolError)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from parley.protocol import validation
from parley.protocol.errors import invalid

MAX_FRAME_BYTES = 64 * 1024
MAX_RESUME_ROOMS = 1000


@dataclass(frozen=True, slots=True)
class Auth:
    token: str
    resume: dict[int, int] | None


@dataclass(frozen=True, slots=True)
class Send:
    room: int
    body: str
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


Command = Auth | Send | Resume | Typing | Read | Ping


def _resume_map(value: Any) -> dict[int, int]:
    if not isinstance(value, dict):
        raise invalid("rooms must be an object of room id to last seen seq")
    if len(value) > MAX_RESUME_ROOMS:
        raise invalid(f"resume at most {MAX_RESUME_ROOMS} rooms at once")
    return {
        validation.object_id(room, "room"): validation.seq(last, "last seen seq")
        for room, last in value.items()
    }


def _send(frame: dict[str, Any]) -> Send:
    # The client_id is checked first so every later error can echo it.
    cid = validation.client_id(frame.get("client_id"), required=True)
    assert cid is not None
    room = validation.object_id(frame.get("room"), "room", cid)
    return Send(room=room, body=validation.body(frame.get("body"), cid), client_id=cid)


def _auth(frame: dict[str, Any]) -> Auth:
    token = validation.token(frame.get("token"), "token")
    resume = frame.get("resume")
    return Auth(token=token, resume=None if resume is None else _resume_map(resume))


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
    if kind == "typing":
        return Typing(room=validation.object_id(frame.get("room"), "room"))
    if kind == "read":
        return Read(
            room=validation.object_id(frame.get("room"), "room"),
            seq=validation.seq(frame.get("seq")),
        )
    if kind == "ping":
        return Ping()
    if kind == "resume":
        return Resume(rooms=_resume_map(frame.get("rooms")))
    if kind == "auth":
        return _auth(frame)
    if not isinstance(kind, str):
        raise invalid("frame needs a string field 'type'")
    raise invalid(f"unknown frame type {kind[:32]!r}")
