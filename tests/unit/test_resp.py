"""``redis.resp``: the RESP2 codec with data only, split at every possible byte."""

from __future__ import annotations

import pytest

from parley.redis.resp import Parser, RespError, encode_command

WIRE = (
    b"*3\r\n$9\r\nsubscribe\r\n$6\r\nroom.1\r\n:1\r\n"
    b"*3\r\n$7\r\nmessage\r\n$6\r\nroom.1\r\n$5\r\nM1 2 \r\n"
    b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    b"+OK\r\n-ERR wrong\r\n$-1\r\n*-1\r\n"
)
EXPECTED = [
    [b"subscribe", b"room.1", 1],
    [b"message", b"room.1", b"M1 2 "],
    [b"pong", b""],
    b"OK",
    "ERR wrong",
    None,
    None,
]


def _plain(replies: list[object]) -> list[object]:
    return [str(r) if isinstance(r, RespError) else r for r in replies]


def test_replies_parse_across_any_chunk_boundary() -> None:
    for cut in range(len(WIRE) + 1):
        parser = Parser()
        parser.feed(WIRE[:cut])
        got = parser.replies()
        parser.feed(WIRE[cut:])
        got += parser.replies()
        assert _plain(got) == EXPECTED, cut
        assert parser.replies() == []


def test_bytes_fed_one_at_a_time() -> None:
    parser = Parser()
    got: list[object] = []
    for i in range(len(WIRE)):
        parser.feed(WIRE[i : i + 1])
        got += parser.replies()
    assert _plain(got) == EXPECTED


def test_a_command_is_a_bulk_string_array() -> None:
    wire = encode_command("PUBLISH", "room.1", b"x")
    assert wire == b"*3\r\n$7\r\nPUBLISH\r\n$6\r\nroom.1\r\n$1\r\nx\r\n"
    parser = Parser()
    parser.feed(wire)
    assert parser.replies() == [[b"PUBLISH", b"room.1", b"x"]]


def test_bytes_that_are_not_resp_are_refused() -> None:
    parser = Parser()
    parser.feed(b"?what\r\n")
    with pytest.raises(ValueError):
        parser.replies()
