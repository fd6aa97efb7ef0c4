"""Who is told of one stored message: a pure function, so every rule is a unit test.

The other member of a direct room and the users the message mentions, minus the
sender, minus whoever muted the room (or asked only for mentions and is not
mentioned), minus whoever is online with that very room open: they are reading it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from parley.models import Message, RoomKind
from parley.notify.base import Notification, Reason

EXCERPT_CHARS = 140
"""Short enough for a push payload and a one-line inbox row."""


class Level(StrEnum):
    """A member's notification level for one room."""

    ALL = "all"
    """Direct messages and mentions (the default)."""
    MENTIONS = "mentions"
    """Only messages that mention them."""
    NOTHING = "nothing"
    """Muted: no notifications and no unread bump in the tab title."""


@dataclass(frozen=True, slots=True)
class RoomFacts:
    """What the decision needs to know about the message's room."""

    kind: RoomKind
    name: str | None
    members: frozenset[int]


def excerpt(body: str) -> str:
    """The body on one line, cut at ``EXCERPT_CHARS`` with an ellipsis."""
    flat = " ".join(body.split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1] + "…"


def decide(
    message: Message,
    room: RoomFacts,
    levels: Mapping[int, Level],
    watching: Collection[int],
) -> list[Notification]:
    """The notifications of ``message``, in user id order.

    ``levels``: members' levels for this room (absent: ``ALL``); ``watching``: users
    online with the room open. A deleted message notifies nobody; only current
    members are ever notified (a mention of someone who left is not).
    """
    if message.deleted:
        return []
    reasons: dict[int, Reason] = {}
    if room.kind == "direct":
        for member in room.members:
            reasons[member] = Reason.DIRECT
    for user in message.mentions:
        if user in room.members:
            reasons[user] = Reason.MENTION
    out: list[Notification] = []
    for user in sorted(reasons):
        reason = reasons[user]
        level = levels.get(user, Level.ALL)
        if user == message.sender.id or user in watching or level is Level.NOTHING:
            continue
        if level is Level.MENTIONS and reason is not Reason.MENTION:
            continue
        out.append(
            Notification(
                user_id=user,
                room_id=message.room_id,
                seq=message.seq,
                reason=reason,
                sender=message.sender,
                room_name=room.name if room.kind == "group" else None,
                excerpt=excerpt(message.body),
                created_at=datetime.fromtimestamp(message.created_at / 1_000_000, UTC),
            )
        )
    return out
