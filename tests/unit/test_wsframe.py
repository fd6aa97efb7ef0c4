"""``protocol.wsframe``: frames built here are read back here, byte for byte."""

from __future__ import annotations

import struct

import pytest

from parley.protocol import wsframe
from parley.protocol.wsframe import Opcode


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
def test_text_frames_have_the_right_length_encoding(size: int) -> None:
    frame = wsframe.text(b"x" * size)
    assert frame[0] == 0x81
    if size < 126:
        assert frame[1] == size and len(frame) == 2 + size
    elif size < 65536:
        assert frame[1] == 126 and struct.unpack("!H", frame[2:4])[0] == size
    else:
        assert frame[1] == 127 and struct.unpack("!Q", frame[2:10])[0] == size
    assert wsframe.parse(frame) == [(Opcode.TEXT, b"x" * size)]


def test_control_frames() -> None:
    assert wsframe.PING == b"\x89\x00" == wsframe.ping()
    assert wsframe.pong(b"abc") == b"\x8a\x03abc"
    with pytest.raises(ValueError):
        wsframe.pong(b"x" * 126)


def test_a_stream_of_frames_parses_in_order() -> None:
    stream = wsframe.text(b"a") + wsframe.PING + wsframe.text(b"b" * 300) + wsframe.pong(b"p")
    assert wsframe.parse(stream) == [
        (Opcode.TEXT, b"a"),
        (Opcode.PING, b""),
        (Opcode.TEXT, b"b" * 300),
        (Opcode.PONG, b"p"),
    ]
    assert wsframe.parse(b"") == []


@pytest.mark.parametrize(
    "bad",
    [
        b"\x81",  # half a header
        b"\x81\x05abc",  # payload cut short
        b"\x81\x7e\x01",  # 16-bit length cut short
        b"\x01\x01a",  # not the final fragment
        b"\x81\x81mask",  # masked: a client's frame
    ],
)
def test_what_a_server_never_sends_is_refused(bad: bytes) -> None:
    with pytest.raises(ValueError):
        wsframe.parse(bad)
