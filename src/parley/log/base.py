"""The interface between accepting a message and it being durable."""

from __future__ import annotations

import asyncio
from typing import Protocol

from parley.models import Draft, Entry


class Unavailable(Exception):
    """The message was not stored; the sender may retry with the same client_id."""


REFUSED_MESSAGE = "the message cannot be stored; sending it again will not help"


class Refused(Exception):
    """The message can never be stored as sent (the database refused its data).

    Definitive, unlike ``Unavailable``: a retry of the same message is refused
    again, so the sender hears ``invalid_input``.
    """


class MessageLog(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...

    async def submit(
        self, draft: Draft, *, seen_member: bool = False
    ) -> asyncio.Future[Entry | None]:
        """Put the draft in line; the future resolves to the stored entry once durable.

        ``seen_member``: the caller knows the sender is in the room (a live
        connection of theirs follows it), so a log that checks membership
        before storing may skip that; the store still checks when it writes.

        Returning fixes the draft's place: drafts one caller submits one after
        another are stored in that order. That lets a connection keep many
        sends in flight (throughput is then not one send per round trip to
        the database or Kafka) without its messages changing order.

        The future holds the original entry for a retried client_id, None for
        a react or unreact that changed nothing, or raises ``NotMember`` when
        the sender is not in the room, ``NoTarget`` / ``NotAllowed`` for a room
        event the store refused, ``Unavailable`` when durability could not be
        reached and ``Refused`` when the entry can never be stored. ``submit`` itself
        may raise either when it can tell at once.
        """

    async def ping(self) -> None:
        """Raise when messages cannot be accepted (for /readyz)."""
