"""The Kafka path's wire formats: drafts on the topic, outcomes on ``gateway.<id>``.

A topic record is a draft plus the id of the gateway waiting for it; the
persister answers that gateway with an ``ACK`` envelope naming the stored message
(the original one for a retried client_id), saying the sender is not a member
(``message`` null), or saying the draft can never be stored (``message`` null
and an ``error``: the database refused its data, the record went to the
dead-letter topic).
These are internal shapes, not the client protocol: timestamps stay integer
microseconds so the message a gateway acks is exactly the stored one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from parley.models import Draft, Message, User
from parley.protocol import envelope
from parley.protocol.errors import ErrorCode

RECORD_VERSION = 1


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a draft can never be stored; its sender hears ``invalid_input`` with ``message``."""

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
    return orjson.dumps(
        {
            "v": RECORD_VERSION,
            "room": draft.room_id,
            "sender": _user(draft.sender),
            "body": draft.body,
            "client_id": client_id,
            "created_at": draft.created_at,
            "gateway": gateway,
        }
    )


def decode_record(raw: bytes) -> Record:
    """Raise ValueError for anything that is not a record this version can store."""
    try:
        data = orjson.loads(raw)
        if data.get("v") != RECORD_VERSION:
            raise ValueError(f"unknown record version {data.get('v')!r}")
        draft = Draft(
            room_id=int(data["room"]),
            sender=_user_from(data["sender"]),
            body=str(data["body"]),
            client_id=str(data["client_id"]),
            created_at=int(data["created_at"]),
        )
        return Record(draft, str(data["gateway"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"malformed record: {exc}") from None


def encode_ack(draft: Draft, outcome: Message | Refusal | None) -> bytes:
    """The ``ACK`` envelope for a draft: its stored message, null (not a member), or an error."""
    stored = None
    data: dict[str, Any] = {"client_id": draft.client_id}
    if isinstance(outcome, Refusal):
        data["error"] = {"code": outcome.code, "message": outcome.message}
    elif outcome is not None:
        message = outcome
        stored = {
            "id": message.id,
            "room": message.room_id,
            "seq": message.seq,
            "sender": _user(message.sender),
            "body": message.body,
            "created_at": message.created_at,
            "client_id": message.client_id,
        }
    data["message"] = stored
    return envelope.ack(draft.room_id, draft.sender.id, orjson.dumps(data))


def decode_ack(payload: bytes) -> tuple[str, Message | Refusal | None]:
    """The client_id an ``ACK`` answers and its outcome (None: not a member of the room)."""
    try:
        data = orjson.loads(payload)
        stored = data["message"]
        error = data.get("error")
        if error is not None:
            if error["code"] != "invalid_input":
                raise ValueError(f"unknown error code {error['code']!r}")
            return str(data["client_id"]), Refusal(str(error["message"]))
        if stored is None:
            return str(data["client_id"]), None
        message = Message(
            id=int(stored["id"]),
            room_id=int(stored["room"]),
            seq=int(stored["seq"]),
            sender=_user_from(stored["sender"]),
            body=str(stored["body"]),
            created_at=int(stored["created_at"]),
            client_id=stored["client_id"],
        )
        return str(data["client_id"]), message
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"malformed ack: {exc}") from None
