"""The protocol's JSON Schema against the server and docs/protocol.md.

The schema (parley/protocol/schema/protocol.json) is the one description of
the wire shapes; these tests keep the parser, the encoder, the error codes and
every example in the docs from drifting away from it.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable, Iterator
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from parley.api.openapi import document as openapi_document
from parley.models import (
    JSON,
    Attachment,
    Message,
    Reaction,
    ReplyPreview,
    Room,
    RoomEvent,
    User,
)
from parley.protocol import errors, events, frames, schema, status

DOCS = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"

# What the docs' placeholders stand for, built by the server's own models.
ANA = User(1, "ana", "Ana")
SAMPLE_MESSAGE = Message(
    31,
    7,
    12,
    ANA,
    "hi bob",
    1_795_816_571_408_000,
    "c1",
    reply_to=ReplyPreview(9, ANA, "the question", deleted=False),
    mentions=(2,),
    edited_at=1_795_816_580_000_000,
    reactions=(Reaction("👍", 2, (1, 2)),),
)
SAMPLE_EVENT = RoomEvent(
    5, 7, 13, "edit", ANA, 12, 1_795_816_580_000_000, "c2", body="hi @bob", mentions=(2,)
)
PLACEHOLDERS: dict[str, JSON] = {
    "User": ANA.to_json(),
    "Message": SAMPLE_MESSAGE.to_json(),
    "RoomEvent": SAMPLE_EVENT.to_json(),
    "Room": Room(7, "group", "Team", (ANA,), 12, 0, SAMPLE_MESSAGE, 1).to_json(),
}
_PLACEHOLDER = re.compile(r"(?<=[:\[,]) ?\b(User|Message|RoomEvent|Room)\b(?=\s*[,}\]])")


def validator(name: str) -> Draft202012Validator:
    """A validator of one named shape, resolving its references inside the schema."""
    return Draft202012Validator({**schema.document(), "$ref": f"#/$defs/{name}"})


CLIENT = validator("ClientFrame")
SERVER = validator("ServerEvent")


def union_types(name: str) -> set[str]:
    """The ``type`` constants of the members of a frame union (ClientFrame, ServerEvent)."""
    defs = schema.document()["$defs"]
    return {
        defs[member["$ref"].removeprefix("#/$defs/")]["properties"]["type"]["const"]
        for member in defs[name]["oneOf"]
    }


# ---- the examples in docs/protocol.md ------------------------------------------------


def doc_examples() -> Iterator[tuple[str, str]]:
    """(direction, JSON text) of each frame example: ```json client/server blocks, →/← lines."""
    direction: str | None = None
    in_transcript = False
    for line in DOCS.read_text().splitlines():
        fence = re.fullmatch(r"```(\S*)\s*(\S*)", line.strip())
        if fence and direction is None and not in_transcript:
            lang, label = fence.groups()
            if lang == "json":
                assert label in ("client", "server"), f"say who sends it: ```json client ({line})"
                direction = label
            in_transcript = lang == "text"
        elif fence:
            direction, in_transcript = None, False
        elif direction and line.strip():
            yield direction, line.strip()
        elif in_transcript and line[:2] in ("→ ", "← "):
            yield ("client" if line[0] == "→" else "server"), line[2:]


def decode_example(text: str) -> JSON:
    filled = _PLACEHOLDER.sub(lambda m: orjson.dumps(PLACEHOLDERS[m[1]]).decode(), text)
    value = orjson.loads(filled)
    assert isinstance(value, dict)
    return value


EXAMPLES = [(direction, decode_example(text)) for direction, text in doc_examples()]
CLIENT_EXAMPLES = [example for direction, example in EXAMPLES if direction == "client"]
SERVER_EXAMPLES = [example for direction, example in EXAMPLES if direction == "server"]


def _ids(examples: list[JSON]) -> list[str]:
    return [f"{i}-{e['type']}" for i, e in enumerate(examples)]


def test_the_docs_show_every_frame_and_event() -> None:
    assert {e["type"] for e in CLIENT_EXAMPLES} == union_types("ClientFrame")
    assert {e["type"] for e in SERVER_EXAMPLES} == union_types("ServerEvent")


@pytest.mark.parametrize("example", CLIENT_EXAMPLES, ids=_ids(CLIENT_EXAMPLES))
def test_each_client_frame_in_the_docs_is_valid_and_accepted_by_the_parser(example: JSON) -> None:
    CLIENT.validate(example)
    command = frames.parse(orjson.dumps(example))
    assert type(command).__name__.lower() == example["type"].replace("_", "")


# Inverse of the models' to_json, so each example can be re-encoded by the server.
def user(data: JSON) -> User:
    return User(int(data["id"]), data["username"], data["display_name"])


def micros(text: str) -> int:
    created = datetime.fromisoformat(text)
    return int(created.timestamp()) * 1_000_000 + created.microsecond


def message(data: JSON) -> Message:
    reply = data["reply_to"]
    return Message(
        int(data["id"]),
        int(data["room"]),
        data["seq"],
        user(data["sender"]),
        data["body"],
        micros(data["created_at"]),
        data["client_id"],
        reply_to=None
        if reply is None
        else ReplyPreview(reply["seq"], user(reply["sender"]), reply["body"], reply["deleted"]),
        mentions=tuple(ids(data["mentions"])),
        edited_at=None if data["edited_at"] is None else micros(data["edited_at"]),
        deleted=data["deleted"],
        reactions=tuple(
            Reaction(r["emoji"], r["count"], tuple(ids(r["users"]))) for r in data["reactions"]
        ),
        attachments=tuple(
            Attachment(
                int(a["id"]), a["name"], a["content_type"], a["size"], a["width"], a["height"]
            )
            for a in data["attachments"]
        ),
    )


def room_event(data: JSON) -> RoomEvent:
    return RoomEvent(
        int(data["id"]),
        int(data["room"]),
        data["seq"],
        data["kind"],
        user(data["sender"]),
        data["target"],
        micros(data["created_at"]),
        data["client_id"],
        body=data.get("body"),
        mentions=tuple(ids(data.get("mentions", []))),
        emoji=data.get("emoji"),
    )


def ack(data: JSON) -> bytes:
    if "message" in data:
        return events.ack(message(data["message"]), data["client_id"])
    stored = data["event"]
    return events.ack(None if stored is None else room_event(stored), data["client_id"])


def room(data: JSON) -> Room:
    last = data["last_message"]
    return Room(
        int(data["id"]),
        data["kind"],
        data["name"],
        tuple(user(m) for m in data["members"]),
        data["last_seq"],
        data["unread"],
        None if last is None else message(last),
        data["mentions"],
    )


def ids(values: list[str]) -> list[int]:
    return [int(v) for v in values]


ENCODERS: dict[str, Callable[[JSON], bytes]] = {
    "ready": lambda e: events.ready(user(e["user"]), ids(e["online"])),
    "message": lambda e: events.message(message(e["message"])),
    "ack": ack,
    "event": lambda e: events.room_event(room_event(e["event"])),
    "resumed": lambda e: events.resumed(ids(e["incomplete"])),
    "reauthed": lambda e: events.reauthed(e["expires_in"]),
    "typing": lambda e: events.typing(int(e["room"]), user(e["user"])),
    "read": lambda e: events.read(int(e["room"]), user(e["user"]), e["seq"]),
    "presence": lambda e: events.presence(
        user(e["user"]),
        e["status"] == "online",
        micros(e["last_seen"]) if "last_seen" in e else None,
    ),
    "presence_subscribed": lambda e: events.presence_subscribed(ids(e["users"]), ids(e["online"])),
    "user_updated": lambda e: events.user_updated(user(e["user"])),
    "room": lambda e: events.room(room(e["room"]), ids(e["online"])),
    "room_updated": lambda e: events.room_updated(
        Room(
            int(e["room"]),
            "group",
            e["name"],
            (),
            0,
            0,
            None,
            roles=tuple((int(u), r) for u, r in e["roles"].items()),
            topic=e["topic"],
            public=e["public"],
        ),
        user(e["by"]),
    ),
    "left": lambda e: events.left(int(e["room"])),
    "error": lambda e: events.error(
        e["code"], e["message"], e.get("client_id"), e.get("retry_after")
    ),
    "pong": lambda e: events.PONG,
    "notification": lambda e: events.notification(e["notification"]),
}


def test_every_server_event_has_an_encoder_here() -> None:
    assert set(ENCODERS) == union_types("ServerEvent")


@pytest.mark.parametrize("example", SERVER_EXAMPLES, ids=_ids(SERVER_EXAMPLES))
def test_each_server_event_in_the_docs_is_valid_and_what_the_encoder_produces(
    example: JSON,
) -> None:
    SERVER.validate(example)
    encoded = orjson.loads(ENCODERS[example["type"]](example))
    SERVER.validate(encoded)
    assert encoded == example


# ---- the schema against the server ------------------------------------------------------


def test_the_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(schema.document())


def _values(codes: Any) -> set[Any]:
    """The members of a Literal alias or an Enum of wire words."""
    if isinstance(codes, type) and issubclass(codes, Enum):
        return {member.value for member in codes}
    return set(typing.get_args(codes))


def test_error_codes_are_the_same_in_the_schema_and_the_server() -> None:
    assert set(schema.document()["$defs"]["ErrorCode"]["enum"]) == _values(errors.ErrorCode)


def test_close_codes_are_the_same_in_the_schema_and_the_server() -> None:
    assert set(schema.document()["$defs"]["CloseCode"]["enum"]) == _values(status.CloseCode)


def test_error_codes_and_close_codes_in_the_docs_are_in_the_schema() -> None:
    text = DOCS.read_text()
    text = text[text.index("## HTTP API") :]  # the error tables, not the field rules before them
    table_codes = set(re.findall(r"^\|(?: \d{3} \|)? `([a-z_]+)` \|", text, re.MULTILINE))
    assert table_codes == set(schema.document()["$defs"]["ErrorCode"]["enum"])
    close_codes = {int(c) for c in re.findall(r"^\| (\d{4}) \|", text, re.MULTILINE)}
    assert close_codes == set(schema.document()["$defs"]["CloseCode"]["enum"])


def test_a_frame_the_schema_refuses_is_refused_by_the_parser_too() -> None:
    """The schema is no looser than the parser on the rules both can state."""
    refused = [
        {"type": "send", "room": "0", "body": "hi", "client_id": "c"},
        {"type": "send", "room": "7", "body": "hi", "client_id": ""},
        {"type": "send", "room": "7", "body": "hi", "client_id": "c" * 65},
        {"type": "send", "room": 7, "body": "hi", "client_id": "c"},
        {"type": "read", "room": "7", "seq": -1},
        {"type": "read", "room": "7", "seq": True},
        {"type": "auth", "token": ""},
        {"type": "resume", "rooms": {"x": 1}},
        {"type": "nope"},
    ]
    for frame in refused:
        with pytest.raises(ValidationError):
            CLIENT.validate(frame)
        with pytest.raises(errors.ProtocolError):
            frames.parse(orjson.dumps(frame))


def test_the_encoder_output_is_valid_beyond_the_docs() -> None:
    """Shapes the docs do not show: no client_id, a direct room, an empty last message."""
    dm = Room(9, "direct", None, (ANA, User(2, "bob", "Bob")), 0, 0, None)
    http_send = Message(40, 9, 1, ANA, "from a bot", 1_795_816_571_000_000, None)
    for event in (
        events.error("invalid_input", "frame is not valid JSON"),
        events.room(dm),
        events.message(http_send),
        events.presence(ANA, False),
        events.resumed([]),
    ):
        SERVER.validate(orjson.loads(event))


# ---- the OpenAPI document reuses the shapes -------------------------------------------------


def test_openapi_embeds_the_schema_shapes_and_every_ref_resolves() -> None:
    doc = openapi_document()
    components = doc["components"]["schemas"]
    for name in ("User", "Message", "Room", "Error"):
        assert (
            components[name] == schema.definitions(name, ref_prefix="#/components/schemas/")[name]
        )

    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for item in node:
                yield from refs(item)

    for ref in refs(doc):
        assert ref.removeprefix("#/components/schemas/") in components, ref
