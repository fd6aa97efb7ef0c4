"""The contract between the notifications worker and its delivery channels.

The worker decides who is notified of a stored message (``Notification``) and records
each (user, message, channel) under an idempotency key before it delivers, so a restart
or a replay of the log never delivers twice; a channel only delivers. Keeping the two
apart lets a channel be added (or tested against a real SMTP server or push endpoint)
without touching the decision, as Zulip generates events apart from delivering them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from parley.models import User


class ChannelName(StrEnum):
    """A way of reaching a person; also the last part of an idempotency key."""

    INAPP = "inapp"
    EMAIL = "email"
    PUSH = "push"


class Reason(StrEnum):
    """Why someone is notified of a message."""

    DIRECT = "direct"
    """A message in a direct room, to its other member."""
    MENTION = "mention"
    """A message that mentions them."""


@dataclass(frozen=True, slots=True)
class Notification:
    """One person to be told of one stored message."""

    user_id: int
    room_id: int
    seq: int
    """With ``room_id``, names the message: seqs never repeat in a room."""
    reason: Reason
    sender: User
    room_name: str | None
    """None for a direct room (shown as the sender's name)."""
    excerpt: str
    """The start of the message's body as plain text, short enough for a push payload."""
    created_at: datetime

    def key(self, channel: ChannelName) -> str:
        """The idempotency key of delivering this notification on ``channel``."""
        return f"{self.user_id}:{self.room_id}:{self.seq}:{channel}"


class DeliveryFailed(Exception):
    """A channel could not deliver now; ``retry`` says whether trying again can help
    (an SMTP server down) or not (a push subscription the push service says is gone)."""

    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.retry = retry


class Channel(Protocol):
    """Delivers notifications one way, a batch at a time: the worker hands each channel
    all the notifications of a batch of messages, so a channel does its store reads and
    writes once per batch rather than once per notification (the worker's cost was those
    round trips). A channel that batches further (an e-mail digest) may hold a
    notification and send it later, and is then the one that keeps its own record of
    what it sent."""

    name: ChannelName

    async def deliver_many(self, notifications: Sequence[Notification]) -> None:
        """Deliver (or schedule) ``notifications``, each user's in the order given; skip
        what the channel's ledger has as delivered. A notification that can never be
        delivered (a recipient refused) is logged and skipped; raise ``DeliveryFailed``
        (retry) when some could be later, after recording what was delivered."""
        ...
