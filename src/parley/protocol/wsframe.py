"""RFC 6455 server-to-client frames: every frame Parley writes is built here, and read back here.

Server frames are never masked, so one encoded frame can be written to every
connection of a broadcast: the per-delivery cost is a single buffer write.
aiohttp parses what clients send; ``parse`` reads what Parley sends, for tests
and tools that check the bytes on the wire.
"""

from __future__ import annotations

import struct
from enum import IntEnum


class Opcode(IntEnum):
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


_FIN = 0x80
_TEXT_FIN = _FIN | Opcode.TEXT
MAX_CONTROL_PAYLOAD_BYTES = 125


def text(payload: bytes) -> bytes:
    size = len(payload)
    if size < 126:
        return bytes((_TEXT_FIN, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", _TEXT_FIN, 126, size) + payload
    return struct.pack("!BBQ", _TEXT_FIN, 127, size) + payload


def _control(opcode: Opcode, payload: bytes) -> bytes:
    if len(payload) > MAX_CONTROL_PAYLOAD_BYTES:
        raise ValueError("a control frame carries at most 125 bytes")
    return bytes((_FIN | opcode, len(payload))) + payload


def ping(payload: bytes = b"") -> bytes:
    return _control(Opcode.PING, payload)


def pong(payload: bytes) -> bytes:
    """The answer to a ping, echoing its payload."""
    return _control(Opcode.PONG, payload)


PING = ping()
"""The heartbeat's ping: empty, built once."""


_EXTENDED = {126: struct.Struct("!H"), 127: struct.Struct("!Q")}
"""Length markers of the second byte, and the wider length that follows each."""


def parse(data: bytes) -> list[tuple[Opcode, bytes]]:
    """Split a stream of whole, unmasked, unfragmented frames into (opcode, payload)."""
    out: list[tuple[Opcode, bytes]] = []
    view = memoryview(data)
    pos = 0
    while pos < len(view):
        if len(view) - pos < 2:
            raise ValueError("truncated frame header")
        first, second = view[pos], view[pos + 1]
        if not first & _FIN or second & 0x80:
            raise ValueError("fragmented or masked frames are not server frames")
        size, pos = second, pos + 2
        extended = _EXTENDED.get(size)
        if extended is not None:
            if pos + extended.size > len(view):
                raise ValueError("truncated frame header")
            (size,), pos = extended.unpack_from(view, pos), pos + extended.size
        if pos + size > len(view):
            raise ValueError("truncated frame payload")
        out.append((Opcode(first & 0x0F), bytes(view[pos : pos + size])))
        pos += size
    return out
