"""RESP2, the Redis wire protocol, with no I/O: commands to bytes, bytes to replies.

Commands are encoded here; replies are parsed by ``hiredis.Reader`` (C), behind
the small ``Parser`` interface the bus reads through. A gateway parses every
message of every room it follows, and the persister a reply per publish, so
the parser is per-message cost: hiredis parsed a Pub/Sub push in 1.4 µs where
our own Python parser took 3.3, and cut the gateway's CPU per message in
``bench ingest`` (docs/performance.md).
"""

from __future__ import annotations

from typing import Any

import hiredis


class RespError(Exception):
    """Redis answered with an error reply."""


def encode_command(*parts: str | bytes) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        raw = part.encode() if isinstance(part, str) else part
        out.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"".join(out)


class Parser:
    """Bytes in as they arrive (``feed``), every complete reply out (``replies``).

    Bulk and simple strings come out as bytes, integers as int, arrays as
    lists, nulls as None; an error reply comes out as a ``RespError`` (not
    raised: in a pipeline it answers one command, not the whole read). Bytes
    that are not RESP2 raise ValueError.
    """

    __slots__ = ("_reader",)

    def __init__(self) -> None:
        self._reader = hiredis.Reader(replyError=RespError, protocolError=ValueError)

    def feed(self, data: bytes) -> None:
        self._reader.feed(data)

    def replies(self) -> list[Any]:
        """The complete replies fed so far, oldest first; a partial one waits for more bytes."""
        out: list[Any] = []
        gets = self._reader.gets
        while (item := gets()) is not False:
            out.append(item)
        return out
