"""RFC 6455 server-to-client frames built once and written as raw bytes.

Server frames are never masked, so one encoded frame can be written to every
connection of a broadcast: the per-delivery cost is a single buffer write.
"""

from __future__ import annotations

import struct

_TEXT_FIN = 0x81


def text(payload: bytes) -> bytes:
    size = len(payload)
    if size < 126:
        return bytes((_TEXT_FIN, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", _TEXT_FIN, 126, size) + payload
    return struct.pack("!BBQ", _TEXT_FIN, 127, size) + payload
