"""The cluster path's wire formats, with data only (no services needed)."""

from __future__ import annotations

import asyncio

import pytest

from parley.app import components
from parley.bus.redis import RespError, RespReader, encode_command, parse_reply
from parley.config import ConfigError, Settings
from parley.log.kafka import generated_client_id
from parley.log.records import decode_ack, decode_record, encode_ack, encode_record
from parley.models import Draft, Message, User
from parley.protocol import envelope

pytestmark = pytest.mark.cluster

ANA = User(7, "ana", "Ana")
DRAFT = Draft(3, ANA, "héllo\nworld", client_id=None, created_at=1_700_000_000_123_456)


def test_a_record_carries_the_draft_and_the_waiting_gateway() -> None:
    record = decode_record(encode_record(DRAFT, "c1", "gw-a"))
    assert record.gateway == "gw-a"
    assert record.draft == Draft(3, ANA, "héllo\nworld", "c1", 1_700_000_000_123_456)
    for bad in (b"{", b"[]", b'{"v": 2}', b'{"v": 1, "room": 3}'):
        with pytest.raises(ValueError):
            decode_record(bad)


def test_an_ack_names_the_send_and_carries_the_exact_stored_message() -> None:
    draft = Draft(3, ANA, "hi", "c1", 1)
    stored = Message(41, 3, 9, ANA, "hi", 1_700_000_000_123_456, "c1")
    env = envelope.read(encode_ack(draft, stored))
    assert isinstance(env, envelope.Ack) and (env.room, env.sender) == (3, 7)
    assert decode_ack(env.payload) == ("c1", stored)
    refused = envelope.read(encode_ack(draft, None))
    assert isinstance(refused, envelope.Ack)
    assert decode_ack(refused.payload) == ("c1", None)
    with pytest.raises(ValueError):
        decode_ack(b'{"client_id": "c1"}')


def test_generated_client_ids_are_unique_and_fit_the_limit() -> None:
    ids = {generated_client_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(1 <= len(i) <= 64 and i.startswith("~") for i in ids)


def test_resp_replies_parse_across_any_chunk_boundary() -> None:
    wire = (
        b"*3\r\n$9\r\nsubscribe\r\n$6\r\nroom.1\r\n:1\r\n"
        b"*3\r\n$7\r\nmessage\r\n$6\r\nroom.1\r\n$5\r\nM1 2 \r\n"
        b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
        b"+OK\r\n-ERR wrong\r\n$-1\r\n"
    )
    expected = [
        [b"subscribe", b"room.1", 1],
        [b"message", b"room.1", b"M1 2 "],
        [b"pong", b""],
        b"OK",
        "ERR wrong",
        None,
    ]

    async def read_in(chunks: list[bytes]) -> list[object]:
        stream = asyncio.StreamReader()
        for chunk in chunks:
            stream.feed_data(chunk)
        stream.feed_eof()
        reader = RespReader(stream)
        out: list[object] = []
        while len(out) < len(expected):
            out += [str(r) if isinstance(r, RespError) else r for r in await reader.replies()]
        return out

    loop = asyncio.new_event_loop()
    try:
        for cut in range(1, len(wire)):
            got = loop.run_until_complete(read_in([wire[:cut], wire[cut:]]))
            assert got == expected, cut
    finally:
        loop.close()
    assert parse_reply(encode_command("PUBLISH", "room.1", b"x"), 0)[0] == [
        b"PUBLISH",
        b"room.1",
        b"x",
    ]


def test_kafka_needs_redis(tmp_path: object) -> None:
    settings = Settings(kafka_bootstrap="127.0.0.1:1", secret_key="x" * 32)
    with pytest.raises(ConfigError, match="PARLEY_REDIS_URL"):
        components(settings)
