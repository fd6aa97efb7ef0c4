"""``protocol.events``: server events encode the shapes docs/protocol.md shows."""

from __future__ import annotations

import orjson

from parley.models import Message, Reaction, ReplyPreview, Room, RoomEvent, User, rfc3339
from parley.protocol import events

ANA = User(1, "ana", "Ana")


def test_events_encode_the_documented_shapes() -> None:
    msg = Message(5, 2, 9, ANA, "hi", 1_700_000_000_123_456, "c1")
    assert orjson.loads(events.ack(msg, "c1")) == {
        "type": "ack",
        "client_id": "c1",
        "message": msg.to_json(),
    }
    assert msg.to_json()["created_at"] == "2023-11-14T22:13:20.123Z" == rfc3339(msg.created_at)
    assert orjson.loads(events.error("not_found", "no", None)) == {
        "type": "error",
        "code": "not_found",
        "message": "no",
    }
    assert orjson.loads(events.error("rate_limited", "slow", "c1"))["client_id"] == "c1"
    limited = orjson.loads(events.error("rate_limited", "slow", None, retry_after=1.23456))
    assert (limited["retry_after"], "client_id" in limited) == (1.235, False)
    assert orjson.loads(events.reauthed(900)) == {"type": "reauthed", "expires_in": 900}
    assert orjson.loads(events.presence(ANA, False))["status"] == "offline"
    gone = orjson.loads(events.presence(ANA, False, 1_700_000_000_123_000))
    assert gone["last_seen"] == "2023-11-14T22:13:20.123Z"
    assert "last_seen" not in orjson.loads(events.presence(ANA, True, 1_700_000_000_123_000))
    assert orjson.loads(events.user_updated(ANA)) == {"type": "user_updated", "user": ANA.to_json()}
    assert orjson.loads(events.read(2, ANA, 4)) == {
        "type": "read",
        "room": "2",
        "user": ANA.to_json(),
        "seq": 4,
    }
    assert orjson.loads(events.typing(2, ANA))["user"]["id"] == "1"
    assert orjson.loads(events.resumed([3]))["incomplete"] == ["3"]
    assert orjson.loads(events.left(3)) == {"type": "left", "room": "3"}
    assert orjson.loads(events.ready(ANA, [2]))["online"] == ["2"]
    room = Room(2, "group", "Team", (ANA,), 9, 0, msg)
    assert orjson.loads(events.room(room))["room"]["last_message"]["seq"] == 9
    assert orjson.loads(events.room(room, [1]))["online"] == ["1"]
    assert orjson.loads(events.message(msg))["message"]["body"] == "hi"
    assert orjson.loads(events.PONG) == {"type": "pong"}
    changed = Room(2, "group", "Core", (ANA,), 9, 3, msg, roles=((1, "owner"),), topic="t")
    assert orjson.loads(events.room_updated(changed, ANA)) == {
        "type": "room_updated",
        "room": "2",
        "name": "Core",
        "topic": "t",
        "public": False,
        "roles": {"1": "owner"},
        "by": ANA.to_json(),
    }


def test_room_events_travel_as_event_frames_and_their_acks() -> None:
    edit = RoomEvent(3, 2, 10, "edit", ANA, 9, 1_700_000_000_123_456, "c2", "new", (1,))
    react = RoomEvent(4, 2, 11, "react", ANA, 9, 1_700_000_000_123_456, None, emoji="👍")
    delete = RoomEvent(5, 2, 12, "delete", ANA, 9, 1_700_000_000_123_456, "c3")
    assert orjson.loads(events.entry(edit)) == {"type": "event", "event": edit.to_json()}
    assert edit.to_json()["body"] == "new" and edit.to_json()["mentions"] == ["1"]
    assert "body" not in react.to_json() and react.to_json()["emoji"] == "👍"
    assert set(delete.to_json()) == {
        "id", "room", "seq", "kind", "sender", "target", "created_at", "client_id"
    }  # fmt: skip
    assert orjson.loads(events.ack(edit, "c2")) == {
        "type": "ack",
        "client_id": "c2",
        "event": edit.to_json(),
    }
    assert orjson.loads(events.ack(None, "c4"))["event"] is None
    msg = Message(5, 2, 9, ANA, "hi", 1, "c1")
    assert orjson.loads(events.entry(msg)) == orjson.loads(events.message(msg))


def test_a_message_shows_its_folded_state() -> None:
    bob = User(2, "bob", "Bob")
    msg = Message(
        5,
        2,
        9,
        ANA,
        "hi",
        1,
        None,
        reply_to=ReplyPreview(3, bob, "x" * 300, deleted=False),
        mentions=(2,),
        edited_at=1_700_000_000_123_456,
        reactions=(Reaction("👍", 150, tuple(range(1, 101))),),
    )
    shown = msg.to_json()
    assert len(shown["reply_to"]["body"]) == 200
    assert shown["edited_at"] == "2023-11-14T22:13:20.123Z"
    assert shown["reactions"][0]["count"] == 150 and len(shown["reactions"][0]["users"]) == 100
    assert shown["mentions"] == ["2"] and shown["deleted"] is False
