"""What travels on the bus: a one-letter kind, two integers, then the client event.

The client event is already encoded JSON, so a gateway turns it into a socket
frame without decoding it; the header carries the little the gateway needs to
route it (a seq, a user to skip, a room to join).

Channels: ``room.<id>`` (messages, room events), ``user.<id>`` (rooms a user
joins), ``presence`` (users coming and going), ``gateway.<id>`` (acks routed to
the gateway that holds the sender).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["M", "E", "A", "L", "J", "P", "K"]
"""M message (a=seq, b=sender), E ephemeral event (b=user to skip or 0),
A member added (b=user), L member left (b=user), J join room (a=room),
P presence (a=user, b=1 online / 0 offline), K ack (a=room, b=sender).

K is the one kind whose payload is not a client event: the persister tells the
gateway waiting for a send how it ended, as JSON ``{"client_id": ..., "message":
{id, room, seq, sender: {id, username, display_name}, body, created_at (µs),
client_id} | null}``; null means the sender is not a member (``not_found``).
A retried client_id gets the original message. See ``parley.log.records``."""

_KINDS = frozenset("MEALJPK")


@dataclass(frozen=True, slots=True)
class Envelope:
    kind: Kind
    a: int
    b: int
    payload: bytes


def pack(kind: Kind, a: int, b: int, payload: bytes) -> bytes:
    return b"%s%d %d " % (kind.encode(), a, b) + payload


def unpack(data: bytes) -> Envelope:
    """Raise ValueError on anything malformed, so a bad peer cannot crash the gateway."""
    head, b, payload = data.split(b" ", 2)
    kind = head[:1].decode()
    if kind not in _KINDS:
        raise ValueError(f"unknown envelope kind {kind!r}")
    return Envelope(kind, int(head[1:]), int(b), payload)  # type: ignore[arg-type]


def room_channel(room_id: int) -> str:
    return f"room.{room_id}"


def user_channel(user_id: int) -> str:
    return f"user.{user_id}"


def gateway_channel(gateway_id: str) -> str:
    return f"gateway.{gateway_id}"


PRESENCE = "presence"
