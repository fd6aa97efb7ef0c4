from __future__ import annotations

import struct

import orjson
import pytest

from parley.models import Message, Room, User, rfc3339
from parley.protocol import envelope, events, resume, wsframe
from parley.protocol.presence import PresenceCounter

ANA = User(1, "ana", "Ana")


def test_presence_changes_on_first_open_and_last_close() -> None:
    counter = PresenceCounter()
    assert counter.opened(1)
    assert not counter.opened(1)
    assert counter.online(1)
    assert not counter.closed(1)
    assert counter.users() == {1}
    assert counter.closed(1)
    assert not counter.online(1)


def test_resume_replays_only_what_was_not_delivered_live() -> None:
    assert resume.plan(last_seen=3, live_from=10, cap=500) == resume.Replay(3, 10, False)
    assert resume.plan(last_seen=10, live_from=10, cap=500).empty
    assert resume.plan(last_seen=12, live_from=10, cap=500) == resume.Replay(12, 12, False)


def test_resume_beyond_the_cap_is_incomplete() -> None:
    plan = resume.plan(last_seen=0, live_from=1200, cap=500)
    assert plan == resume.Replay(after=0, until=500, incomplete=True)


def test_frames_held_during_a_replay_skip_what_it_sent() -> None:
    held = [(10, b"a"), (11, b"b"), (12, b"c")]
    assert resume.release_held(held, replayed_up_to=10) == [b"b", b"c"]


def test_envelopes_round_trip_and_reject_garbage() -> None:
    packed = envelope.pack("M", 7, 3, b'{"type":"message"} with spaces')
    assert envelope.unpack(packed) == envelope.Envelope(
        "M", 7, 3, b'{"type":"message"} with spaces'
    )
    for bad in (b"", b"X1 2 {}", b"M1 {}", b"Mx 2 {}"):
        with pytest.raises(ValueError):
            envelope.unpack(bad)
    assert envelope.room_channel(4) == "room.4"
    assert envelope.user_channel(4) == "user.4"
    assert envelope.gateway_channel("g1") == "gateway.g1"


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
def test_ws_frames_have_the_right_length_encoding(size: int) -> None:
    frame = wsframe.text(b"x" * size)
    assert frame[0] == 0x81
    if size < 126:
        assert frame[1] == size and len(frame) == 2 + size
    elif size < 65536:
        assert frame[1] == 126 and struct.unpack("!H", frame[2:4])[0] == size
    else:
        assert frame[1] == 127 and struct.unpack("!Q", frame[2:10])[0] == size


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
