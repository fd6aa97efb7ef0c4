"""The interface between accepting a message and it being durable."""

from __future__ import annotations

from typing import Protocol

from parley.models import Draft, Message


class Unavailable(Exception):
    """The message was not stored; the sender may retry with the same client_id."""


class MessageLog(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...

    async def append(self, draft: Draft) -> Message:
        """Return the stored message once durable (the original one for a retried client_id).

        Raises ``NotMember`` when the sender is not in the room, ``Unavailable``
        when durability could not be reached.
        """

    async def ping(self) -> None:
        """Raise when messages cannot be accepted (for /readyz)."""
