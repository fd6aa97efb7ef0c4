"""``protocol.envelope``: each kind's builder and reader agree, and the bytes stay the same."""

from __future__ import annotations

import pytest

from parley.protocol import envelope

EVENT = b'{"type":"message"} with spaces'


@pytest.mark.parametrize(
    ("built", "wire", "read"),
    [
        (envelope.message(7, 3, EVENT), b"M7 3 ", envelope.Message(seq=7, sender=3, event=EVENT)),
        (envelope.room_event(EVENT), b"E0 0 ", envelope.RoomEvent(skip_user=0, event=EVENT)),
        (
            envelope.room_event(EVENT, skip_user=4),
            b"E0 4 ",
            envelope.RoomEvent(skip_user=4, event=EVENT),
        ),
        (
            envelope.room_event(EVENT, skip_user=4, droppable=True),
            b"E1 4 ",
            envelope.RoomEvent(skip_user=4, event=EVENT, droppable=True),
        ),
        (envelope.user_event(6, EVENT), b"U6 0 ", envelope.UserEvent(user=6, event=EVENT)),
        (envelope.member_added(5, EVENT), b"A0 5 ", envelope.MemberAdded(user=5, event=EVENT)),
        (envelope.member_left(5, EVENT), b"L0 5 ", envelope.MemberLeft(user=5, event=EVENT)),
        (envelope.joined(9, EVENT), b"J9 0 ", envelope.Joined(room=9, event=EVENT)),
        (
            envelope.presence(2, True, EVENT),
            b"P2 1 ",
            envelope.Presence(user=2, online=True, event=EVENT),
        ),
        (
            envelope.presence(2, False, EVENT),
            b"P2 0 ",
            envelope.Presence(user=2, online=False, event=EVENT),
        ),
        (envelope.user_updated(2, EVENT), b"D2 0 ", envelope.UserUpdated(user=2, event=EVENT)),
        (envelope.ack(3, 7, b"{}"), b"K3 7 ", envelope.Ack(room=3, sender=7, payload=b"{}")),
        (
            envelope.revoked(4, ["f1", "f2"]),
            b"R4 0 f1 f2",
            envelope.Revoked(user=4, every=False, families=frozenset({"f1", "f2"})),
        ),
        (
            envelope.revoked(4, [], every=True),
            b"R4 1 ",
            envelope.Revoked(user=4, every=True, families=frozenset()),
        ),
    ],
)
def test_every_kind_round_trips_with_the_same_bytes_as_before(
    built: bytes, wire: bytes, read: envelope.Envelope
) -> None:
    assert built.startswith(wire)
    assert envelope.read(built) == read


def test_every_kind_has_a_reader() -> None:
    for kind in envelope.Kind:
        assert isinstance(envelope.read(kind.value + b"1 1 {}"), envelope.Envelope)


@pytest.mark.parametrize("bad", [b"", b" 1 {}", b"X1 2 {}", b"M1 {}", b"Mx 2 {}"])
def test_garbage_is_refused_with_value_error(bad: bytes) -> None:
    with pytest.raises(ValueError):
        envelope.read(bad)


def test_channels() -> None:
    assert envelope.room_channel(4) == "room.4"
    assert envelope.user_channel(4) == "user.4"
    assert envelope.gateway_channel("g1") == "gateway.g1"


def test_revoked_covers_its_families_or_every_other_one() -> None:
    logout = envelope.Revoked(4, every=False, families=frozenset({"f1"}))
    assert (logout.covers("f1"), logout.covers("f2"), logout.covers(None)) == (True, False, False)
    elsewhere = envelope.Revoked(4, every=True, families=frozenset({"f1"}))
    assert (elsewhere.covers("f1"), elsewhere.covers("f2"), elsewhere.covers(None)) == (
        False,
        True,
        True,
    )


def test_a_stamp_carries_publish_time_and_trace_and_read_skips_it() -> None:
    built = envelope.message(7, 3, EVENT)
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    traced = envelope.stamped(built, 1_700_000_000_123_456, parent)
    assert traced == b"^1700000000123456 " + parent.encode() + b" " + built
    assert envelope.read_stamped(traced) == (
        envelope.read(built),
        envelope.Stamp(1_700_000_000_123_456, parent),
    )
    untraced = envelope.stamped(built, 5)
    assert envelope.read_stamped(untraced)[1] == envelope.Stamp(5, None)
    assert envelope.read(untraced) == envelope.read(built)
    assert envelope.read_stamped(built) == (envelope.read(built), None)


@pytest.mark.parametrize("bad", [b"^", b"^x - M1 2 {}", b"^1 - ", b"^1 \xff M1 2 {}", b"^1 M1 2"])
def test_a_garbled_stamp_is_refused_with_value_error(bad: bytes) -> None:
    with pytest.raises(ValueError):
        envelope.read_stamped(bad)


def test_every_kind_has_a_letter_of_its_own() -> None:
    """Two kinds given one letter would silently become aliases of one enum member."""
    assert len(envelope.Kind.__members__) == len(set(envelope.Kind))
