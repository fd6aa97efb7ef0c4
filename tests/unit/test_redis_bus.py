"""``RedisBus``'s stream reader, fed by hand: replies come out whole, and EOF is a lost link."""

from __future__ import annotations

import asyncio

import pytest

from parley.bus.redis import RespReader
from parley.redis.resp import RespError


async def test_the_reader_returns_every_complete_reply_and_waits_for_the_rest() -> None:
    stream = asyncio.StreamReader()
    reader = RespReader(stream)
    stream.feed_data(b"+OK\r\n:2\r\n$3\r\nab")
    assert await reader.replies() == [b"OK", 2]
    stream.feed_data(b"c\r\n")
    assert await reader.reply() == b"abc"
    stream.feed_data(b"-ERR no\r\n")
    with pytest.raises(RespError, match="ERR no"):
        await reader.reply()
    stream.feed_eof()
    with pytest.raises(ConnectionError):
        await reader.replies()
