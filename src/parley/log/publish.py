"""Announcing a stored stream entry on the bus, shared by the direct log and the persister.

Messages and room events travel in the same envelope kind (``MESSAGE``): the
gateway orders both by seq, holds both back during a replay, and fills gaps
in both from the store. The envelope is stamped with the time of publishing
(the gateways' bus hop) and, when the entry's send is traced, the publish
span's ``traceparent``.
"""

from __future__ import annotations

from parley.bus import Bus
from parley.models import Entry, now_micros
from parley.protocol import envelope, events


def entry_envelope(entry: Entry, traceparent: str | None = None) -> bytes:
    return envelope.stamped(
        envelope.message(entry.seq, entry.sender.id, events.entry(entry)),
        now_micros(),
        traceparent,
    )


async def publish_stored(bus: Bus, entry: Entry, traceparent: str | None = None) -> None:
    await bus.publish(envelope.room_channel(entry.room_id), entry_envelope(entry, traceparent))
