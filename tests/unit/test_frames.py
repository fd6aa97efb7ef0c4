from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.protocol import frames
from parley.protocol.errors import ProtocolError


def parse(frame: object) -> frames.Command:
    return frames.parse(json.dumps(frame))


def error_of(raw: bytes | str) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        frames.parse(raw)
    assert caught.value.code == "invalid_input"
    return caught.value


def test_send_is_parsed_and_trimmed() -> None:
    command = parse({"type": "send", "room": "12", "body": "  hi\n", "client_id": "c-1"})
    assert command == frames.Send(room=12, body="hi", client_id="c-1")


def test_a_send_with_attachments_may_have_no_text() -> None:
    frame = {"type": "send", "room": "12", "body": "", "client_id": "c-1"}
    command = parse({**frame, "attachments": ["5", "6"]})
    assert command == frames.Send(room=12, body="", client_id="c-1", attachments=(5, 6))
    assert error_of(json.dumps({**frame, "attachments": []})).client_id == "c-1"  # text needed
    repeated = {**frame, "body": "x", "attachments": ["5", "5"]}
    assert error_of(json.dumps(repeated)).client_id == "c-1"


def test_auth_with_and_without_resume() -> None:
    assert parse({"type": "auth", "token": "t"}) == frames.Auth(token="t", resume=None)
    assert parse({"type": "auth", "token": "t", "resume": {"3": 7}}) == frames.Auth(
        token="t", resume={3: 7}
    )


def test_other_commands() -> None:
    assert parse({"type": "ping"}) == frames.Ping()
    assert parse({"type": "typing", "room": "5"}) == frames.Typing(room=5)
    assert parse({"type": "read", "room": "5", "seq": 9}) == frames.Read(room=5, seq=9)
    assert parse({"type": "resume", "rooms": {"1": 0, "2": 4}}) == frames.Resume({1: 0, 2: 4})


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{nope", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"kind": "send"}', "string field 'type'"),
        (b'{"type": "dance"}', "unknown frame type"),
        (b'{"type": "auth"}', "token"),
        (b'{"type": "auth", "token": "t", "resume": [1]}', "rooms must be an object"),
        (b'{"type": "resume", "rooms": {"x": 1}}', "room must be an id"),
        (b'{"type": "resume", "rooms": {"1": -1}}', "last seen seq"),
        (b'{"type": "read", "room": "1", "seq": true}', "seq must be"),
        (b'{"type": "read", "room": "1", "seq": 1.5}', "seq must be"),
        (b'{"type": "typing", "room": 5}', "room must be an id"),
        (b'{"type": "typing", "room": "0"}', "room must be an id"),
        ('{"type": "typing", "room": "\u00b2"}', "room must be an id"),
        ('{"type": "typing", "room": "\u0661\u0662"}', "room must be an id"),
        ('{"type": "typing", "room": "' + "9" * 5000 + '"}', "room must be an id"),
        (b'{"type": "typing", "room": "9223372036854775808"}', "room must be an id"),
        (b'{"type": "resume", "rooms": {"\\u00b2": 1}}', "room must be an id"),
        (b'{"type": "resume", "rooms": {"1": true}}', "last seen seq"),
        (b'{"type": "resume", "rooms": {"1": 1.0}}', "last seen seq"),
        (b'{"type": "resume", "rooms": {"1": 9223372036854775808}}', "last seen seq"),
        (b'{"type": "resume", "rooms": {"1": 99999999999999999999999}}', "last seen seq"),
        (b'{"type": "read", "room": "1", "seq": 9223372036854775808}', "seq must be"),
        (b'{"type": "auth", "token": "t\\u0000"}', "token must not contain control"),
        (b'{"type": "auth", "token": "t", "resume": {"1": false}}', "last seen seq"),
    ],
)
def test_malformed_frames_are_invalid_input(raw: bytes, fragment: str) -> None:
    assert fragment in error_of(raw).message


def test_send_errors_echo_the_client_id() -> None:
    assert error_of(b'{"type":"send","room":"x","body":"a","client_id":"c9"}').client_id == "c9"
    assert error_of(b'{"type":"send","room":"1","body":"  ","client_id":"c9"}').client_id == "c9"
    missing = error_of(b'{"type":"send","room":"1","body":"a"}')
    assert missing.client_id is None
    assert "client_id" in missing.message


@pytest.mark.parametrize("client_id", ["nul\x00id", "esc\x1b", "tab\t", "\u202eevil", "a\u2028"])
def test_send_refuses_control_characters_in_the_client_id(client_id: str) -> None:
    """The id is echoed to every member and stored: PostgreSQL cannot hold a NUL."""
    frame = {"type": "send", "room": "1", "body": "hi", "client_id": client_id}
    assert "client_id must not contain control" in error_of(orjson.dumps(frame)).message


def test_send_rejects_long_client_id_and_long_body() -> None:
    error_of(orjson.dumps({"type": "send", "room": "1", "body": "a", "client_id": "x" * 65}))
    too_long = error_of(
        orjson.dumps({"type": "send", "room": "1", "body": "a" * 4001, "client_id": "c"})
    )
    assert "4000" in too_long.message


def test_presence_subscribe_is_a_bounded_set_of_ids() -> None:
    assert parse({"type": "presence_subscribe", "users": ["3", "4", "3"]}) == (
        frames.PresenceSubscribe(frozenset({3, 4}))
    )
    assert parse({"type": "presence_subscribe", "users": []}) == frames.PresenceSubscribe(
        frozenset()
    )
    many = [str(i) for i in range(1, frames.MAX_PRESENCE_SUBSCRIPTIONS + 2)]
    assert "at most" in error_of(json.dumps({"type": "presence_subscribe", "users": many})).message
    for bad in ("3", ["0"], [3.5], ["x\u0000"], None, [True]):
        error_of(json.dumps({"type": "presence_subscribe", "users": bad}))


def test_resume_map_is_bounded() -> None:
    rooms = {str(i): 0 for i in range(1, frames.MAX_RESUME_ROOMS + 2)}
    assert "at most" in error_of(orjson.dumps({"type": "resume", "rooms": rooms})).message


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash(raw: bytes) -> None:
    try:
        frames.parse(raw)
    except ProtocolError as exc:
        assert exc.code == "invalid_input"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(
    st.sampled_from(["send", "typing", "read", "ping", "resume", "auth", "x"]),
    st.dictionaries(
        st.sampled_from(["room", "body", "client_id", "seq", "rooms", "token", "resume"]),
        json_values,
        max_size=5,
    ),
)
def test_any_json_object_parses_or_is_invalid_input(kind: str, fields: dict[str, object]) -> None:
    try:
        command = parse({"type": kind, **fields})
    except ProtocolError as exc:
        assert exc.code == "invalid_input"
    else:
        assert type(command).__name__.lower() == kind


def test_room_event_frames_and_replies() -> None:
    assert parse(
        {"type": "send", "room": "1", "body": "yes", "client_id": "c", "reply_to": 4}
    ) == frames.Send(1, "yes", "c", reply_to=4)
    assert parse(
        {"type": "edit", "room": "1", "seq": 4, "body": " new ", "client_id": "c"}
    ) == frames.Edit(1, 4, "new", "c")
    assert parse({"type": "delete", "room": "1", "seq": 4, "client_id": "c"}) == frames.Delete(
        1, 4, "c"
    )
    for kind, cls in (("react", frames.React), ("unreact", frames.Unreact)):
        frame = {"type": kind, "room": "1", "seq": 4, "emoji": "👍🏽", "client_id": "c"}
        assert parse(frame) == cls(1, 4, "👍🏽", "c")


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        ({"type": "edit", "room": "1", "seq": 4, "body": "a\u0000b"}, "body"),
        ({"type": "edit", "room": "1", "seq": 0, "body": "x"}, "seq"),
        ({"type": "delete", "room": "1", "seq": 2**63}, "seq"),
        ({"type": "delete", "room": "1", "seq": "4"}, "seq"),
        ({"type": "delete", "room": "1", "seq": True}, "seq"),
        ({"type": "react", "room": "1", "seq": 4, "emoji": "👍\u0000"}, "emoji"),
        ({"type": "react", "room": "1", "seq": 4, "emoji": "ok"}, "emoji"),
        ({"type": "react", "room": "1", "seq": 4, "emoji": "👍👍"}, "emoji"),
        ({"type": "unreact", "room": "1", "seq": 4, "emoji": "x" * 33}, "emoji"),
        ({"type": "unreact", "room": "1", "seq": 4}, "emoji"),
        ({"type": "send", "room": "1", "body": "x", "reply_to": -1}, "reply_to"),
        ({"type": "send", "room": "1", "body": "x", "reply_to": 1.5}, "reply_to"),
        ({"type": "edit", "room": "x", "seq": 4, "body": "x"}, "room"),
    ],
)
def test_bad_room_event_frames_are_refused_echoing_the_client_id(
    frame: dict[str, object], field: str
) -> None:
    error = error_of(json.dumps({**frame, "client_id": "k"}))
    assert field in error.message and error.client_id == "k"
