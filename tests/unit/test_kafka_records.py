"""The Kafka path's record and ack formats, with data only (no services needed)."""

from __future__ import annotations

import orjson
import pytest

from parley.log.kafka.records import (
    Refusal,
    decode_ack,
    decode_record,
    encode_ack,
    encode_record,
)
from parley.models import Draft, Message, User
from parley.protocol import envelope

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


def test_an_ack_can_say_the_draft_can_never_be_stored() -> None:
    draft = Draft(3, ANA, "hi", "c1", 1)
    env = envelope.read(encode_ack(draft, Refusal("cannot be stored")))
    assert isinstance(env, envelope.Ack)
    assert orjson.loads(env.payload) == {
        "client_id": "c1",
        "message": None,
        "error": {"code": "invalid_input", "message": "cannot be stored"},
    }
    assert decode_ack(env.payload) == ("c1", Refusal("cannot be stored"))
    for bad in (
        b'{"client_id": "c1", "message": null, "error": {"code": "unavailable", "message": "x"}}',
        b'{"client_id": "c1", "message": null, "error": {"code": "invalid_input"}}',
    ):
        with pytest.raises(ValueError):
            decode_ack(bad)
