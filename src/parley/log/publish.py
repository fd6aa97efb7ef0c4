"""Announcing a stored stream entry on the bus, shared by the direct log and the persister.

Messages and room events travel in the same envelope kind (``MESSAGE``): the
gateway orders both by seq, holds both back during a replay, and fills gaps
in both from the store.
"""

from __future__ import annotations

from parley.bus import Bus
from parley.models import Entry
from parley.protocol import envelope, events


def entry_envelope(entry: Entry) -> bytes:
    return envelope.message(entry.seq, entry.sender.id, events.entry(entry))


async def publish_stored(bus: Bus, entry: Entry) -> None:
    await bus.publish(envelope.room_channel(entry.room_id), entry_envelope(entry))
