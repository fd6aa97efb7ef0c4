"""``protocol.events``: server events encode the shapes docs/protocol.md shows."""

from __future__ import annotations

import orjson

from parley.models import Message, Room, User, rfc3339
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
