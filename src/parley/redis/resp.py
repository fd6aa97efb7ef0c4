"""RESP2, the Redis wire protocol, with no I/O: commands to bytes, bytes to replies.

Just enough of the protocol for Pub/Sub pushes, publish pipelines and the
connection handshake. ``Parser`` has the shape of ``hiredis.Reader`` (``feed``
bytes, take complete replies), so the one can stand in for the other; it is
written for speed, because a gateway parses every message of every room it
follows (docs/performance.md compares the two).
"""

from __future__ import annotations

from typing import Any


class RespError(Exception):
    """Redis answered with an error reply."""


class _Incomplete(Exception):
    """The buffer ends inside a reply; wait for more bytes."""


def encode_command(*parts: str | bytes) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        raw = part.encode() if isinstance(part, str) else part
        out.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"".join(out)


def parse_reply(buf: bytes, pos: int) -> tuple[Any, int]:
    """Parse one reply at ``pos``; return it and the position after it.

    An error reply is returned as a ``RespError``, not raised: in a pipeline it
    answers one command, not the whole read. Raise ``_Incomplete`` when ``buf``
    ends inside the reply and ValueError on bytes that are not RESP2.
    """
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise _Incomplete
    kind = buf[pos]
    if kind == 36:  # $ bulk string
        size = int(buf[pos + 1 : end])
        if size < 0:
            return None, end + 2
        start = end + 2
        stop = start + size
        if len(buf) < stop + 2:
            raise _Incomplete
        return buf[start:stop], stop + 2
    if kind == 42:  # * array
        count = int(buf[pos + 1 : end])
        pos = end + 2
        if count < 0:
            return None, pos
        items = []
        for _ in range(count):
            item, pos = parse_reply(buf, pos)
            items.append(item)
        return items, pos
    if kind == 58:  # : integer
        return int(buf[pos + 1 : end]), end + 2
    if kind == 43:  # + simple string
        return buf[pos + 1 : end], end + 2
    if kind == 45:  # - error
        return RespError(buf[pos + 1 : end].decode(errors="replace")), end + 2
    raise ValueError(f"unexpected RESP reply {buf[pos : pos + 40]!r}")


class Parser:
    """Bytes in as they arrive (``feed``), every complete reply out (``replies``)."""

    __slots__ = ("_buf", "_pos")

    def __init__(self) -> None:
        self._buf = b""
        self._pos = 0

    def feed(self, data: bytes) -> None:
        buf, pos = self._buf, self._pos
        self._buf = buf[pos:] + data if pos < len(buf) else data
        self._pos = 0

    def replies(self) -> list[Any]:
        """The complete replies fed so far, oldest first; a partial one waits for more bytes."""
        out: list[Any] = []
        buf, pos = self._buf, self._pos
        while True:
            try:
                item, pos = parse_reply(buf, pos)
            except _Incomplete:
                break
            out.append(item)
        self._pos = pos
        return out
