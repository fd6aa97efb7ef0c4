"""``protocol.session``: the rules of one WebSocket session, with frames as data."""

from __future__ import annotations

import orjson
import pytest

from parley.protocol import frames
from parley.protocol.errors import ProtocolError
from parley.protocol.session import NOT_AUTH, Session, State

AUTH = orjson.dumps({"type": "auth", "token": "t", "resume": {"3": 2}})
REAUTH = orjson.dumps({"type": "auth", "token": "fresh"})
USER = 7
EXPIRES = 1000.0


def send(client_id: str) -> bytes:
    return orjson.dumps({"type": "send", "room": "1", "body": "hi", "client_id": client_id})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def opened(**kw: object) -> Session:
    session = Session(50, 200, **kw)  # type: ignore[arg-type]
    session.receive_auth(AUTH)
    session.opened(USER, EXPIRES)
    return session


def test_the_first_frame_is_the_auth_frame() -> None:
    session = Session(50, 200)
    before = session.state
    assert session.receive_auth(AUTH) == frames.Auth("t", {3: 2})
    session.opened(USER, EXPIRES)
    assert (before, session.state) == (State.AWAITING_AUTH, State.OPEN)


@pytest.mark.parametrize(
    ("first", "reason"),
    [
        (None, NOT_AUTH),  # a binary frame
        (b'{"type":"ping"}', NOT_AUTH),
        (b"not json", "frame is not valid JSON"),
        (b'{"type":"auth","token":""}', "token must be a string of 1 to 1024 characters"),
    ],
)
def test_anything_else_first_refuses_the_socket(first: bytes | None, reason: str) -> None:
    session = Session(50, 200)
    with pytest.raises(ProtocolError) as refused:
        session.receive_auth(first)
    assert (refused.value.code, refused.value.message) == ("unauthorized", reason)
    assert session.state is State.CLOSING


def test_an_open_session_turns_frames_into_commands() -> None:
    session = opened()
    assert session.receive(b'{"type":"ping"}') == frames.Ping()
    assert session.receive(send("c1")) == frames.Send(1, "hi", "c1")
    with pytest.raises(ProtocolError) as bad:
        session.receive(b"[]")
    assert bad.value.code == "invalid_input"
    assert session.state is State.OPEN  # errors are answered; the socket stays


def test_binary_frames_are_answered_with_an_error_while_open() -> None:
    session = Session(50, 200)
    session.receive_binary()  # before auth the socket is refused instead (receive_auth)
    session.receive_auth(AUTH)
    session.opened(USER, EXPIRES)
    with pytest.raises(ProtocolError, match="binary frames are not supported"):
        session.receive_binary()
    session.close()
    session.receive_binary()


def test_frames_are_rate_limited_from_a_full_bucket_at_the_first_frame() -> None:
    clock = Clock()
    session = Session(1, 2, clock=clock)
    session.receive_auth(AUTH)
    session.opened(USER, EXPIRES)
    clock.now = 100.0  # a socket idle since the connect starts with a full bucket, no more
    session.receive(b'{"type":"ping"}')
    session.receive(b'{"type":"ping"}')
    with pytest.raises(ProtocolError) as limited:
        session.receive(b'{"type":"ping"}')
    assert limited.value.code == "rate_limited"
    clock.now = 101.0
    assert session.receive(b'{"type":"ping"}') == frames.Ping()


def test_sends_in_flight_are_capped_and_the_refusal_echoes_the_client_id() -> None:
    session = opened(max_in_flight=2)
    for cid in ("a", "b"):
        session.receive(send(cid))
        session.sent()
    with pytest.raises(ProtocolError) as full:
        session.receive(send("c"))
    assert (full.value.code, full.value.client_id) == ("rate_limited", "c")
    assert session.receive(b'{"type":"ping"}') == frames.Ping()  # only sends wait
    session.settled()
    assert session.in_flight == 1
    assert session.receive(send("c")) == frames.Send(1, "hi", "c")


def test_room_events_count_as_sends_in_flight() -> None:
    session = opened(max_in_flight=1)
    session.receive(send("a"))
    session.sent()
    react = {"type": "react", "room": "1", "seq": 1, "emoji": "👍", "client_id": "r"}
    with pytest.raises(ProtocolError) as full:
        session.receive(orjson.dumps(react))
    assert (full.value.code, full.value.client_id) == ("rate_limited", "r")


def test_frames_after_the_close_are_dropped() -> None:
    session = opened()
    session.close()
    assert session.state is State.CLOSING
    assert session.receive(b'{"type":"ping"}') is None


def test_steps_out_of_order_are_bugs() -> None:
    session = Session(50, 200)
    with pytest.raises(RuntimeError, match="awaiting auth, not open"):
        session.receive(b'{"type":"ping"}')
    session.receive_auth(AUTH)
    session.opened(USER, EXPIRES)
    with pytest.raises(RuntimeError, match="open, not awaiting auth"):
        session.opened(USER, EXPIRES)
    with pytest.raises(RuntimeError):
        session.receive_auth(AUTH)
    with pytest.raises(RuntimeError, match="awaiting auth, not open"):
        Session(50, 200).renew(USER, EXPIRES)


def test_a_session_lives_as_long_as_its_token() -> None:
    session = opened()
    assert (session.user_id, session.expires_at) == (USER, EXPIRES)
    assert not session.expired(EXPIRES - 0.001)
    assert session.expired(EXPIRES)
    session.close()
    assert not session.expired(EXPIRES + 1)  # a closing socket is on its way out already


def test_a_fresh_token_of_the_same_user_extends_the_session() -> None:
    session = opened()
    assert session.receive(REAUTH) == frames.Auth("fresh", None)
    session.renew(USER, EXPIRES + 900)
    assert not session.expired(EXPIRES + 1)
    assert session.expired(EXPIRES + 900)
    assert session.state is State.OPEN


def test_another_users_token_does_not_extend_the_session() -> None:
    session = opened()
    with pytest.raises(ProtocolError) as refused:
        session.renew(USER + 1, EXPIRES + 900)
    assert refused.value.code == "unauthorized"
    assert (session.expires_at, session.state) == (EXPIRES, State.OPEN)


def test_resume_belongs_in_the_first_auth_frame_only() -> None:
    session = opened()
    with pytest.raises(ProtocolError) as refused:
        session.receive(AUTH)
    assert refused.value.code == "invalid_input"
    assert session.state is State.OPEN
