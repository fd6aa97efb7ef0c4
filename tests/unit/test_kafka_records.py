"""The Kafka path's record and ack formats, with data only (no services needed)."""

from __future__ import annotations

import dataclasses

import orjson
import pytest

from parley.log.kafka.records import (
    Unstorable,
    decode_ack,
    decode_record,
    encode_ack,
    encode_record,
)
from parley.models import Attachment, Draft, Message, Reaction, ReplyPreview, RoomEvent, User
from parley.protocol import envelope
from parley.store import Refusal

ANA = User(7, "ana", "Ana")
DRAFT = Draft(3, ANA, "héllo\nworld", client_id=None, created_at=1_700_000_000_123_456)


def test_a_record_carries_the_draft_and_the_waiting_gateway() -> None:
    record = decode_record(encode_record(DRAFT, "c1", "gw-a"))
    assert record.gateway == "gw-a"
    assert record.draft == Draft(3, ANA, "héllo\nworld", "c1", 1_700_000_000_123_456)
    for bad in (b"{", b"[]", b'{"v": 2}', b'{"v": 1, "room": 3}'):
        with pytest.raises(ValueError):
            decode_record(bad)


def test_a_moderators_delete_keeps_its_flag_and_nothing_else_gains_one() -> None:
    moderated = Draft(3, ANA, "", "c1", 1, "delete", 9, moderator=True)
    assert decode_record(encode_record(moderated, "c1", "gw-a")).draft == moderated
    plain = dataclasses.replace(moderated, moderator=False)
    assert b"moderator" not in encode_record(plain, "c1", "gw-a")
    forged = orjson.loads(encode_record(plain, "c1", "gw-a")) | {"moderator": "yes"}
    assert not decode_record(orjson.dumps(forged)).draft.moderator


def test_an_ack_names_the_send_and_carries_the_exact_stored_message() -> None:
    draft = Draft(3, ANA, "hi", "c1", 1)
    stored = Message(41, 3, 9, ANA, "hi", 1_700_000_000_123_456, "c1")
    env = envelope.read(encode_ack(draft, stored))
    assert isinstance(env, envelope.Ack) and (env.room, env.sender) == (3, 7)
    assert decode_ack(env.payload) == ("c1", stored)
    for why in Refusal:
        refused = envelope.read(encode_ack(draft, why))
        assert isinstance(refused, envelope.Ack)
        assert decode_ack(refused.payload) == ("c1", why)
    # A previous persister's refusal has no reason: the sender was not a member.
    assert decode_ack(b'{"client_id": "c1", "message": null}') == ("c1", Refusal.NOT_MEMBER)
    with pytest.raises(ValueError):
        decode_ack(b'{"client_id": "c1"}')


def test_an_ack_can_say_the_draft_can_never_be_stored() -> None:
    draft = Draft(3, ANA, "hi", "c1", 1)
    env = envelope.read(encode_ack(draft, Unstorable("cannot be stored")))
    assert isinstance(env, envelope.Ack)
    assert orjson.loads(env.payload) == {
        "client_id": "c1",
        "message": None,
        "error": {"code": "invalid_input", "message": "cannot be stored"},
    }
    assert decode_ack(env.payload) == ("c1", Unstorable("cannot be stored"))
    for bad in (
        b'{"client_id": "c1", "message": null, "error": {"code": "unavailable", "message": "x"}}',
        b'{"client_id": "c1", "message": null, "error": {"code": "invalid_input"}}',
    ):
        with pytest.raises(ValueError):
            decode_ack(bad)


def test_stream_records_and_acks_carry_kinds_and_folded_state() -> None:
    plain = orjson.loads(encode_record(DRAFT, "c1", "gw"))
    assert plain["v"] == 1 and "kind" not in plain  # a previous persister still reads it
    for draft in (
        Draft(3, ANA, "", None, 5, kind="react", target=9, emoji="👍"),
        Draft(3, ANA, "new", None, 5, kind="edit", target=9),
        Draft(3, ANA, "answer", None, 5, target=9),
    ):
        raw = encode_record(draft, "c2", "gw")
        assert orjson.loads(raw)["v"] == 2
        assert decode_record(raw).draft == dataclasses.replace(draft, client_id="c2")
    with pytest.raises(ValueError):
        decode_record(orjson.dumps({**orjson.loads(raw), "kind": "pin"}))
    bob = User(8, "bob", "Bob")
    message = Message(
        41,
        3,
        9,
        ANA,
        "hi @bob",
        1,
        "c1",
        reply_to=ReplyPreview(2, bob, "q", deleted=True),
        mentions=(8,),
        edited_at=3,
        reactions=(Reaction("👍", 1, (8,)),),
    )
    event = RoomEvent(5, 3, 10, "react", bob, 9, 4, "c2", emoji="👍")
    for stored in (message, event):
        env = envelope.read(encode_ack(DRAFT, stored))
        assert isinstance(env, envelope.Ack)
        assert decode_ack(env.payload) == ("None", stored)  # DRAFT has no client_id


def test_attachments_travel_in_the_record_and_back_in_the_ack() -> None:
    draft = Draft(3, ANA, "", "c1", 1, attachments=(5, 6))
    raw = encode_record(draft, "c1", "gw-a")
    assert orjson.loads(raw)["v"] == 2  # a persister that cannot attach skips it
    assert decode_record(raw).draft == draft
    files = (
        Attachment(5, "cat.png", "image/png", 4821, 1200, 800),
        Attachment(6, "notes.pdf", "application/pdf", 90121),
    )
    stored = Message(41, 3, 9, ANA, "", 1, "c1", attachments=files)
    env = envelope.read(encode_ack(draft, stored))
    assert isinstance(env, envelope.Ack)
    assert decode_ack(env.payload) == ("c1", stored)
