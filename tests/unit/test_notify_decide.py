"""Who is notified of a stored message: each rule of ``notify.decide`` on its own."""

from __future__ import annotations

from parley.models import Message, User
from parley.notify.base import ChannelName, Notification, Reason
from parley.notify.decide import EXCERPT_CHARS, Level, RoomFacts, decide, excerpt

ANA = User(1, "ana", "Ana")
GROUP = RoomFacts("group", "plans", frozenset({1, 2, 3, 4}))
DIRECT = RoomFacts("direct", None, frozenset({1, 2}))


def msg(body: str = "hi", mentions: tuple[int, ...] = (), deleted: bool = False) -> Message:
    return Message(
        id=9,
        room_id=7,
        seq=5,
        sender=ANA,
        body=body,
        created_at=1_700_000_000_000_000,
        client_id="c",
        mentions=mentions,
        deleted=deleted,
    )


def who(found: list[Notification]) -> list[tuple[int, Reason]]:
    return [(n.user_id, n.reason) for n in found]


def test_direct_room_notifies_the_other_member() -> None:
    [n] = decide(msg(), DIRECT, {}, set())
    assert (n.user_id, n.reason, n.room_name, n.seq, n.room_id) == (2, Reason.DIRECT, None, 5, 7)
    assert n.key(ChannelName.EMAIL) == "2:7:5:email"
    assert n.created_at.timestamp() == 1_700_000_000


def test_group_notifies_only_mentioned_members_never_the_sender() -> None:
    assert decide(msg(), GROUP, {}, set()) == []
    found = decide(msg(mentions=(1, 3, 99)), GROUP, {}, set())
    assert who(found) == [(3, Reason.MENTION)]
    assert found[0].room_name == "plans"


def test_mention_in_a_direct_room_is_a_mention() -> None:
    assert who(decide(msg(mentions=(2,)), DIRECT, {}, set())) == [(2, Reason.MENTION)]


def test_levels_mute_and_mentions_only() -> None:
    assert decide(msg(), DIRECT, {2: Level.NOTHING}, set()) == []
    assert decide(msg(), DIRECT, {2: Level.MENTIONS}, set()) == []
    assert who(decide(msg(mentions=(2,)), DIRECT, {2: Level.MENTIONS}, set())) == [
        (2, Reason.MENTION)
    ]
    found = decide(msg(mentions=(2, 3)), GROUP, {2: Level.NOTHING, 3: Level.ALL}, set())
    assert who(found) == [(3, Reason.MENTION)]


def test_someone_watching_the_room_is_not_notified() -> None:
    assert decide(msg(), DIRECT, {}, {2}) == []
    assert who(decide(msg(mentions=(2, 3)), GROUP, {}, {3})) == [(2, Reason.MENTION)]


def test_a_deleted_message_notifies_nobody() -> None:
    assert decide(msg(deleted=True), DIRECT, {}, set()) == []


def test_excerpt_is_one_short_line() -> None:
    assert excerpt("a\n\n b\tc ") == "a b c"
    long = excerpt("x" * 500)
    assert len(long) == EXCERPT_CHARS and long.endswith("…")
