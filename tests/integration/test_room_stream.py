"""The room stream over real sockets and HTTP: edits, deletes, reactions, replies, mentions.

Each test runs on the embedded server with SQLite and with PostgreSQL.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import UserFactory
from tests.support.client import ApiError, Socket

THUMBS = "👍"


async def submit(sock: Socket, frame: dict[str, Any]) -> dict[str, Any]:
    """Send a frame with a client_id; return its ack (or its error) frame.

    Encoded by the standard library, which writes integers of any size.
    """
    await sock.ws.send_str(json.dumps(frame))
    return await sock.expect_any(("ack", "error"), client_id=frame["client_id"])


async def test_each_event_kind_reaches_every_member_connection_in_seq_order(
    new_user: UserFactory,
) -> None:
    ana, bob = await new_user(), await new_user()
    room = (await ana.group("stream", bob))["id"]
    a, b1, b2 = await ana.connect(), await bob.connect(), await bob.connect()
    sent = (await submit(a, {"type": "send", "room": room, "body": "hi", "client_id": "m1"}))[
        "message"
    ]
    frames = [
        {"type": "edit", "room": room, "seq": 1, "body": "hi @" + bob.username, "client_id": "e"},
        {"type": "react", "room": room, "seq": 1, "emoji": THUMBS, "client_id": "r"},
        {"type": "unreact", "room": room, "seq": 1, "emoji": THUMBS, "client_id": "u"},
        {"type": "react", "room": room, "seq": 1, "emoji": "🎉", "client_id": "r2"},
    ]
    acked = [(await submit(a, f))["event"] for f in frames]
    assert [e["seq"] for e in acked] == [2, 3, 4, 5]
    assert [e["kind"] for e in acked] == ["edit", "react", "unreact", "react"]
    assert acked[0]["mentions"] == [bob.id] and acked[0]["target"] == 1
    for sock in (a, b1, b2):
        assert await sock.entries(room, 5) == [sent, *acked]
    history = (await bob.history(room))["messages"]
    assert len(history) == 1
    now = history[0]
    assert now["body"] == "hi @" + bob.username and now["edited_at"] is not None
    assert now["mentions"] == [bob.id]
    assert now["reactions"] == [{"emoji": "🎉", "count": 1, "users": [ana.id]}]
    deleted = await submit(a, {"type": "delete", "room": room, "seq": 1, "client_id": "d"})
    assert deleted["event"]["kind"] == "delete" and deleted["event"]["seq"] == 6
    assert (await b1.entries(room, 1))[0] == deleted["event"]
    tomb = (await bob.history(room))["messages"][0]
    assert (tomb["deleted"], tomb["body"], tomb["reactions"], tomb["mentions"]) == (
        True,
        "",
        [],
        [],
    )
    rooms = {r["id"]: r for r in (await bob.call("GET", "/api/rooms"))["rooms"]}
    assert rooms[room]["last_seq"] == 6 and rooms[room]["unread"] == 0


async def test_resume_replays_events_after_the_last_seen_seq(new_user: UserFactory) -> None:
    ana, bob = await new_user(), await new_user()
    room = (await ana.group("resume", bob))["id"]
    a = await ana.connect()
    b = await bob.connect()
    await submit(a, {"type": "send", "room": room, "body": "one", "client_id": "m1"})
    assert len(await b.entries(room, 1)) == 1
    await b.close()
    await submit(a, {"type": "edit", "room": room, "seq": 1, "body": "uno", "client_id": "e"})
    await submit(a, {"type": "send", "room": room, "body": "two", "client_id": "m2"})
    await submit(a, {"type": "react", "room": room, "seq": 3, "emoji": THUMBS, "client_id": "r"})
    back = await bob.connect(resume={room: 1})
    replayed = await back.entries(room, 3)
    assert [e["seq"] for e in replayed] == [2, 3, 4]
    assert [e.get("kind", "message") for e in replayed] == ["edit", "message", "react"]
    assert (await back.expect("resumed"))["incomplete"] == []
    # Past the replay: the stream by HTTP, messages in their current state.
    page = await bob.call("GET", f"/api/rooms/{room}/events?after=0&limit=3")
    assert page["last_seq"] == 4
    assert [next(iter(e)) for e in page["entries"]] == ["message", "event", "message"]
    assert page["entries"][0]["message"]["body"] == "uno"


async def test_a_retried_client_id_gets_the_original_entry(new_user: UserFactory) -> None:
    ana, bob = await new_user(), await new_user()
    room = (await ana.group("retry", bob))["id"]
    a = await ana.connect()
    await submit(a, {"type": "send", "room": room, "body": "one", "client_id": "m1"})
    edit = {"type": "edit", "room": room, "seq": 1, "body": "uno", "client_id": "e1"}
    first = await submit(a, edit)
    again = await submit(a, {**edit, "body": "something else"})
    assert again == first
    # One key for messages and events: an edit reusing a message's client_id is that message.
    reused = await submit(a, {**edit, "client_id": "m1"})
    assert reused["message"]["seq"] == 1 and reused["message"]["body"] == "uno"
    # Over HTTP as well.
    path = f"/api/rooms/{room}/messages/1"
    one = await ana.call("PATCH", path, {"body": "dos", "client_id": "h1"})
    assert await ana.call("PATCH", path, {"body": "tres", "client_id": "h1"}) == one
    assert (await ana.history(room))["messages"][0]["body"] == "dos"
    assert (await ana.call("GET", "/api/rooms"))["rooms"][0]["last_seq"] == 3


async def test_who_may_edit_delete_and_react(new_user: UserFactory) -> None:
    owner, bob, cy, eve = [await new_user() for _ in range(4)]
    room = (await owner.group("rules", bob, cy))["id"]
    b, c = await bob.connect(), await cy.connect()
    await submit(b, {"type": "send", "room": room, "body": "bob's", "client_id": "m"})
    refused = await submit(
        c, {"type": "edit", "room": room, "seq": 1, "body": "x", "client_id": "e"}
    )
    assert (refused["type"], refused["code"]) == ("error", "forbidden")
    refused = await submit(c, {"type": "delete", "room": room, "seq": 1, "client_id": "d"})
    assert refused["code"] == "forbidden"
    reacted = await submit(
        c, {"type": "react", "room": room, "seq": 1, "emoji": "👍", "client_id": "r"}
    )
    assert reacted["event"]["kind"] == "react"
    path = f"/api/rooms/{room}/messages/1"
    with pytest.raises(ApiError) as caught:
        await cy.call("PATCH", path, {"body": "mine now"})
    assert caught.value.status == 403 and caught.value.body["error"]["code"] == "forbidden"
    with pytest.raises(ApiError) as caught:
        await eve.call("DELETE", path)
    assert caught.value.status == 404
    with pytest.raises(ApiError) as caught:
        await eve.call("PUT", f"{path}/reactions/{quote('👍')}")
    assert caught.value.status == 404
    # The group's creator deletes anyone's message.
    deleted = await owner.call("DELETE", path)
    assert deleted["event"]["kind"] == "delete"
    assert (await c.entries(room, 3))[2] == deleted["event"]
    gone = await submit(
        c, {"type": "react", "room": room, "seq": 1, "emoji": "🎉", "client_id": "r2"}
    )
    assert gone["code"] == "not_found"


async def test_reactions_by_http_and_null_when_nothing_changes(new_user: UserFactory) -> None:
    ana, bob = await new_user(), await new_user()
    room = (await ana.group("http", bob))["id"]
    await ana.call("POST", f"/api/rooms/{room}/messages", {"body": "hello"}, expect=201)
    reaction = f"/api/rooms/{room}/messages/1/reactions/{quote('❤️')}"
    added = await bob.call("PUT", reaction)
    assert added["event"]["emoji"] == "❤️" and added["event"]["seq"] == 2
    assert await bob.call("PUT", reaction) == {"event": None}
    removed = await bob.call("DELETE", reaction)
    assert removed["event"]["kind"] == "unreact"
    assert await bob.call("DELETE", reaction) == {"event": None}
    assert (await bob.call("GET", f"/api/rooms/{room}"))["last_seq"] == 3


async def test_replies_mentions_and_around(new_user: UserFactory) -> None:
    ana, bob = await new_user(), await new_user()
    room = (await ana.group("talk", bob))["id"]
    for i in range(1, 8):
        await ana.call("POST", f"/api/rooms/{room}/messages", {"body": f"m{i}"}, expect=201)
    reply = await bob.call(
        "POST",
        f"/api/rooms/{room}/messages",
        {"body": f"@{ana.username.upper()} yes", "reply_to": 3},
        expect=201,
    )
    assert reply["reply_to"]["seq"] == 3 and reply["reply_to"]["body"] == "m3"
    assert reply["mentions"] == [ana.id]
    listed = await ana.call("GET", f"/api/rooms/{room}")
    assert (listed["unread"], listed["mentions"]) == (1, 1)
    page = await ana.history(room, around=4, limit=4)
    assert [m["seq"] for m in page["messages"]] == [2, 3, 4, 5] and page["has_more"] is True
    with pytest.raises(ApiError) as caught:
        await ana.history(room, around=4, before=5)
    assert caught.value.status == 422
    b = await bob.connect()
    missing = await submit(
        b, {"type": "send", "room": room, "body": "to nothing", "client_id": "x", "reply_to": 99}
    )
    assert missing["code"] == "not_found"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "edit", "seq": 1, "body": "a\u0000b"}, "invalid_input"),
        ({"type": "react", "seq": 1, "emoji": "\u0000"}, "invalid_input"),
        ({"type": "react", "seq": 1, "emoji": "not an emoji"}, "invalid_input"),
        ({"type": "react", "seq": 1, "emoji": "👍👍"}, "invalid_input"),
        ({"type": "delete", "seq": 2**63}, "invalid_input"),
        ({"type": "delete", "seq": 10**30}, "invalid_input"),
        ({"type": "delete", "seq": 2**63 - 1}, "not_found"),
        ({"type": "edit", "seq": 1.0, "body": "x"}, "invalid_input"),
        ({"type": "unreact", "seq": 1, "emoji": "👍"}, "ack"),
    ],
)
async def test_hostile_room_event_frames_change_nothing(
    new_user: UserFactory, frame: dict[str, Any], code: str
) -> None:
    ana, bob = await new_user(), await new_user()
    room = (await ana.group("hostile", bob))["id"]
    other = (await bob.group("other", ana))["id"]
    a = await ana.connect()
    await submit(a, {"type": "send", "room": room, "body": "one", "client_id": "m"})
    answer = await submit(a, {**frame, "room": room, "client_id": "h"})
    assert answer.get("code", answer["type"]) == code
    # A seq of another room names nothing in this one.
    await submit(a, {"type": "send", "room": other, "body": "two", "client_id": "m2"})
    await submit(a, {"type": "send", "room": other, "body": "three", "client_id": "m3"})
    cross = await submit(a, {"type": "delete", "room": room, "seq": 2, "client_id": "c"})
    assert cross["code"] == "not_found"
    assert (await ana.call("GET", f"/api/rooms/{room}"))["last_seq"] == 1
    assert (await ana.history(room))["messages"][0]["body"] == "one"


async def test_hostile_http_paths(new_user: UserFactory) -> None:
    ana = await new_user()
    room = (await ana.group("paths"))["id"]
    await ana.call("POST", f"/api/rooms/{room}/messages", {"body": "one"}, expect=201)
    base = f"/api/rooms/{room}/messages"
    for path, status in (
        (f"{base}/1/reactions/{quote('a')}", 422),
        (f"{base}/1/reactions/{quote('👍' + chr(0))}", 422),
        (f"{base}/99999999999999999999/reactions/{quote('👍')}", 404),
        (f"{base}/-1/reactions/{quote('👍')}", 404),
        (f"{base}/0/reactions/{quote('👍')}", 404),
    ):
        with pytest.raises(ApiError) as caught:
            await ana.call("PUT", path)
        assert caught.value.status == status, path
    with pytest.raises(ApiError) as caught:
        await ana.call("PATCH", f"{base}/1", {"body": "x\u0000"})
    assert caught.value.status == 422
    assert (await ana.history(room))["messages"][0]["body"] == "one"


async def test_over_http_a_client_id_names_one_kind_of_entry(new_user: UserFactory) -> None:
    ana = await new_user()
    room = (await ana.group("keys"))["id"]
    base = f"/api/rooms/{room}/messages"
    await ana.call("POST", base, {"body": "one", "client_id": "k1"}, expect=201)
    await ana.call("PATCH", f"{base}/1", {"body": "uno", "client_id": "k2"})
    with pytest.raises(ApiError) as caught:
        await ana.call("PATCH", f"{base}/1", {"body": "dos", "client_id": "k1"})
    assert caught.value.status == 422
    with pytest.raises(ApiError) as caught:
        await ana.call("POST", base, {"body": "two", "client_id": "k2"})
    assert caught.value.status == 422
    assert (await ana.call("GET", f"/api/rooms/{room}"))["last_seq"] == 2
