"""Announcing a stored message on the bus, shared by the direct log and the persister."""

from __future__ import annotations

from parley.bus import Bus
from parley.models import Message
from parley.protocol import envelope, events


def message_envelope(message: Message) -> bytes:
    return envelope.message(message.seq, message.sender.id, events.message(message))


async def publish_stored(bus: Bus, message: Message) -> None:
    await bus.publish(envelope.room_channel(message.room_id), message_envelope(message))
