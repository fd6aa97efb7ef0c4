"""The publish/subscribe interface between a gateway and its peers.

Payloads are bytes so that the memory bus and the Redis bus carry exactly the
same thing, and an event encoded once by its producer is never re-encoded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

Handler = Callable[[str, bytes], None]
"""Called with (channel, payload) on the event loop, in publish order per channel."""

ReconnectHandler = Callable[[], Awaitable[None]]


class Bus(Protocol):
    async def start(self, handler: Handler) -> None:
        """Begin delivering messages of subscribed channels to ``handler``."""

    async def close(self) -> None: ...

    async def subscribe(self, channel: str) -> None:
        """Return once messages published to ``channel`` from now on will be delivered."""

    async def unsubscribe(self, channel: str) -> None: ...

    async def publish(self, channel: str, payload: bytes) -> None: ...

    async def publish_many(self, events: Sequence[tuple[str, bytes]]) -> None:
        """Publish (channel, payload) pairs in order, as one operation that succeeds or raises.

        For producers of many events at once (the persister's batches): one
        awaitable instead of one per event.
        """

    async def ping(self) -> None:
        """Raise when the bus cannot carry messages (for /readyz)."""

    def on_reconnect(self, callback: ReconnectHandler) -> None:
        """Called after a lost connection is back, since messages may have been missed."""
