"""The single-node bus: a publish is a direct call into the local gateway."""

from __future__ import annotations

from collections.abc import Sequence

from parley.bus.base import Handler, ReconnectHandler


class MemoryBus:
    def __init__(self) -> None:
        self._handler: Handler | None = None
        self._channels: set[str] = set()

    async def start(self, handler: Handler) -> None:
        self._handler = handler

    async def close(self) -> None:
        self._handler = None
        self._channels.clear()

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)

    async def publish(self, channel: str, payload: bytes) -> None:
        if self._handler is not None and channel in self._channels:
            self._handler(channel, payload)

    async def publish_many(self, events: Sequence[tuple[str, bytes]]) -> None:
        for channel, payload in events:
            await self.publish(channel, payload)

    async def ping(self) -> None:
        return None

    def on_reconnect(self, callback: ReconnectHandler) -> None:
        """An in-process bus never loses its connection."""
