"""The Kafka path's wire formats: drafts on the topic, outcomes on ``gateway.<id>``.

A topic record is a draft plus the id of the gateway waiting for it; the
persister answers that gateway with an ``ACK`` envelope naming the stored entry
(the original one for a retried client_id), saying why the draft was refused
(not a member, no such target, not allowed, nothing changed), or saying the
draft can never be stored (an ``error``: the database refused its data, the
record went to the dead-letter topic).
These are internal shapes, not the client protocol: timestamps stay integer
microseconds so the entry a gateway acks is exactly the stored one.

A plain message is written as version 1, as before room events existed, so a
persister of the previous release still stores messages during a rolling
upgrade; a reply or a room event is version 2, which such a persister skips
rather than store as a message. A message carrying attachments is version 2 as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast, get_args

import orjson

from parley.models import (
    Attachment,
    Draft,
    DraftKind,
    Entry,
    EventKind,
    Message,
    Reaction,
    ReplyPreview,
    RoomEvent,
    User,
)
from parley.protocol import envelope
from parley.protocol.errors import ErrorCode
from parley.store.base import Outcome, Refusal

RECORD_VERSION = 1
STREAM_RECORD_VERSION = 2
"""Records with a kind, target or emoji: replies and room events."""
_KINDS = frozenset(get_args(DraftKind))
_REFUSALS = {r.value: r for r in Refusal}


@dataclass(frozen=True, slots=True)
class Unstorable:
    """A draft that can never be stored; its sender hears ``invalid_input`` with ``message``."""

    message: str
    code: ErrorCode = "invalid_input"


@dataclass(frozen=True, slots=True)
class Record:
    draft: Draft
    gateway: str
    """The gateway that produced the record and waits for its ``ACK``."""


def _user(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "display_name": user.display_name}


def _user_from(data: Any) -> User:
    return User(
        id=int(data["id"]),
        username=str(data["username"]),
        display_name=str(data["display_name"]),
    )


def encode_record(draft: Draft, client_id: str, gateway: str) -> bytes:
    """``client_id`` is always set: the persister's idempotency needs one per record."""
    record: dict[str, Any] = {
        "v": RECORD_VERSION,
        "room": draft.room_id,
        "sender": _user(draft.sender),
        "body": draft.body,
        "client_id": client_id,
        "created_at": draft.created_at,
        "gateway": gateway,
    }
    if draft.kind != "message" or draft.target is not None or draft.attachments:
        record.update(
            v=STREAM_RECORD_VERSION, kind=draft.kind, target=draft.target, emoji=draft.emoji
        )
        if draft.moderated:
            record["moderator"] = True
        if draft.attachments:
            record["attachments"] = list(draft.attachments)
    return orjson.dumps(record)


def decode_record(raw: bytes) -> Record:
    """Raise ValueError for anything that is not a record this version can store."""
    try:
        data = orjson.loads(raw)
        version = data.get("v")
        if version not in (RECORD_VERSION, STREAM_RECORD_VERSION):
            raise ValueError(f"unknown record version {version!r}")
        kind = data.get("kind", "message")
        if kind not in _KINDS:
            raise ValueError(f"unknown record kind {kind!r}")
        target = data.get("target")
        emoji = data.get("emoji")
        draft = Draft(
            room_id=int(data["room"]),
            sender=_user_from(data["sender"]),
            body=str(data["body"]),
            client_id=str(data["client_id"]),
            created_at=int(data["created_at"]),
            kind=kind,
            target=None if target is None else int(target),
            emoji=None if emoji is None else str(emoji),
            moderator=data.get("moderator") is True,
            attachments=tuple(int(f) for f in data.get("attachments", ())),
        )
        return Record(draft, str(data["gateway"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"malformed record: {exc}") from None


def _message(message: Message) -> dict[str, Any]:
    reply = message.reply_to
    return {
        "id": message.id,
        "room": message.room_id,
        "seq": message.seq,
        "sender": _user(message.sender),
        "body": message.body,
        "created_at": message.created_at,
        "client_id": message.client_id,
        "reply_to": None
        if reply is None
        else {
            "seq": reply.seq,
            "sender": _user(reply.sender),
            "body": reply.body,
            "deleted": reply.deleted,
        },
        "mentions": list(message.mentions),
        "edited_at": message.edited_at,
        "deleted": message.deleted,
        "reactions": [[r.emoji, r.count, list(r.users)] for r in message.reactions],
        "attachments": [
            [a.id, a.name, a.content_type, a.size, a.width, a.height] for a in message.attachments
        ],
    }


def _message_from(data: Any) -> Message:
    reply = data.get("reply_to")
    edited = data.get("edited_at")
    return Message(
        id=int(data["id"]),
        room_id=int(data["room"]),
        seq=int(data["seq"]),
        sender=_user_from(data["sender"]),
        body=str(data["body"]),
        created_at=int(data["created_at"]),
        client_id=data["client_id"],
        reply_to=None
        if reply is None
        else ReplyPreview(
            int(reply["seq"]), _user_from(reply["sender"]), str(reply["body"]), reply["deleted"]
        ),
        mentions=tuple(int(u) for u in data.get("mentions", ())),
        edited_at=None if edited is None else int(edited),
        deleted=bool(data.get("deleted", False)),
        reactions=tuple(
            Reaction(str(e), int(n), tuple(int(u) for u in users))
            for e, n, users in data.get("reactions", ())
        ),
        attachments=tuple(
            Attachment(int(i), str(name), str(kind), int(size), width, height)
            for i, name, kind, size, width, height in data.get("attachments", ())
        ),
    )


def _event(event: RoomEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "room": event.room_id,
        "seq": event.seq,
        "kind": event.kind,
        "sender": _user(event.sender),
        "target": event.target,
        "created_at": event.created_at,
        "client_id": event.client_id,
        "body": event.body,
        "mentions": list(event.mentions),
        "emoji": event.emoji,
    }


def _event_from(data: Any) -> RoomEvent:
    kind = data["kind"]
    if kind not in ("edit", "delete", "react", "unreact"):
        raise TypeError(f"unknown event kind {kind!r}")
    return RoomEvent(
        id=int(data["id"]),
        room_id=int(data["room"]),
        seq=int(data["seq"]),
        kind=cast(EventKind, kind),
        sender=_user_from(data["sender"]),
        target=int(data["target"]),
        created_at=int(data["created_at"]),
        client_id=data["client_id"],
        body=data["body"],
        mentions=tuple(int(u) for u in data["mentions"]),
        emoji=data["emoji"],
    )


def encode_ack(draft: Draft, outcome: Outcome | Unstorable) -> bytes:
    """The ``ACK`` envelope for a draft: its stored entry, why it was refused, or an error.

    ``message`` stays null for a refused draft, as before room events, so a
    refusal a previous gateway cannot name still reads as not stored.
    """
    payload: dict[str, Any] = {"client_id": draft.client_id, "message": None}
    if isinstance(outcome, Message):
        payload["message"] = _message(outcome)
    elif isinstance(outcome, RoomEvent):
        payload["event"] = _event(outcome)
    elif isinstance(outcome, Unstorable):
        payload["error"] = {"code": outcome.code, "message": outcome.message}
    else:
        payload["refused"] = outcome.value
    return envelope.ack(draft.room_id, draft.sender.id, orjson.dumps(payload))


def decode_ack(payload: bytes) -> tuple[str, Entry | Refusal | Unstorable]:
    """The client_id an ``ACK`` answers and its outcome."""
    try:
        data = orjson.loads(payload)
        client_id = str(data["client_id"])
        error = data.get("error")
        if error is not None:
            if error["code"] != "invalid_input":
                raise ValueError(f"unknown error code {error['code']!r}")
            return client_id, Unstorable(str(error["message"]))
        if data["message"] is not None:
            return client_id, _message_from(data["message"])
        if data.get("event") is not None:
            return client_id, _event_from(data["event"])
        refused = _REFUSALS.get(data.get("refused", Refusal.NOT_MEMBER.value))
        if refused is None:
            raise TypeError(f"unknown refusal {data.get('refused')!r}")
        return client_id, refused
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ValueError(f"malformed ack: {exc}") from None
