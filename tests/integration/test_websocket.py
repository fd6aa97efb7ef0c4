"""The WebSocket protocol over real sockets against a real server process."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import orjson
import pytest

from tests.conftest import UserFactory
from tests.support.client import Client, Socket
from tests.support.server import OPERATOR, ServerProcess


def dumps(frame: dict[str, object]) -> str:
    return orjson.dumps(frame).decode()


async def send(sock: Socket, room: str, body: str, client_id: str) -> dict[str, object]:
    await sock.send({"type": "send", "room": room, "body": body, "client_id": client_id})
    ack = await sock.expect("ack", client_id=client_id)
    message: dict[str, object] = ack["message"]
    return message


async def test_two_users_chat(new_user: UserFactory) -> None:
    ana, bob = await new_user(), await new_user()
    room = (await ana.direct(bob))["id"]
    a, b = await ana.connect(), await bob.connect()
    sent = await send(a, room, "hello bob", "a1")
    assert sent["seq"] == 1 and sent["body"] == "hello bob" and sent["client_id"] == "a1"
    assert (await b.messages(room, 1))[0] == sent
    assert (await a.messages(room, 1))[0] == sent  # the sender's own connection too
    reply = await send(b, room, "hi ana", "b1")
    assert (await a.messages(room, 1))[0] == reply
    assert reply["seq"] == 2
    await a.send({"type": "ping"})
    await a.expect("pong")


async def test_concurrent_senders_each_receiver_sees_every_seq_once(
    new_user: UserFactory,
) -> None:
    users = [await new_user() for _ in range(3)]
    room = (await users[0].group("busy", *users[1:]))["id"]
    senders = [await u.connect() for u in users]
    receivers = [await u.connect() for u in users]
    per_sender = 30

    async def burst(i: int, sock: Socket) -> list[dict[str, object]]:
        for n in range(per_sender):
            await sock.send(
                {"type": "send", "room": room, "body": f"{i}-{n}", "client_id": f"{i}-{n}"}
            )
        return [
            (await sock.expect("ack", client_id=f"{i}-{n}"))["message"] for n in range(per_sender)
        ]

    acks = [
        m
        for batch in await asyncio.gather(*(burst(i, s) for i, s in enumerate(senders)))
        for m in batch
    ]
    total = 3 * per_sender
    for sock in receivers:
        got = await sock.messages(room, total)
        assert [m["seq"] for m in got] == list(range(1, total + 1))
    history = (await users[0].history(room, limit=100))["messages"]
    assert sorted(acks, key=lambda m: m["seq"]) == history  # type: ignore[arg-type, return-value]
    for i in range(3):  # each connection's sends are stored in the order sent
        own = [m for m in history if str(m["body"]).startswith(f"{i}-")]
        assert [m["body"] for m in own] == [f"{i}-{n}" for n in range(per_sender)]


async def test_a_retried_client_id_is_acked_with_the_original(new_user: UserFactory) -> None:
    ana = await new_user()
    room = (await ana.group("solo"))["id"]
    sock = await ana.connect()
    first = await send(sock, room, "once", "same")
    again = await send(sock, room, "once (retry)", "same")
    assert again == first
    assert len((await ana.history(room))["messages"]) == 1


@pytest.mark.parametrize("in_auth", [True, False], ids=["resume-in-auth", "resume-frame"])
async def test_resume_after_disconnect_returns_exactly_the_missed(
    new_user: UserFactory, in_auth: bool
) -> None:
    ana, bob = await new_user(), await new_user()
    room = (await ana.group("resume", bob))["id"]
    a, b = await ana.connect(), await bob.connect()
    await send(a, room, "seen", "1")
    assert [m["seq"] for m in await b.messages(room, 1)] == [1]
    await b.close()
    missed = [await send(a, room, f"missed {i}", f"m{i}") for i in range(3)]

    if in_auth:
        b = await bob.connect(resume={room: 1})
    else:
        b = await bob.connect()
        await b.send({"type": "resume", "rooms": {room: 1}})
    assert await b.messages(room, 3) == missed
    assert (await b.expect("resumed"))["incomplete"] == []
    live = await send(a, room, "live", "2")
    assert await b.messages(room, 1) == [live]
    await b.send({"type": "ping"})
    await b.expect("pong")
    assert not [f for f in b.backlog if f["type"] == "message"]


async def test_non_members_can_neither_read_send_nor_receive(new_user: UserFactory) -> None:
    ana, eve = await new_user(), await new_user()
    room = (await ana.group("private"))["id"]
    a, e = await ana.connect(), await eve.connect()
    await e.send({"type": "send", "room": room, "body": "hi", "client_id": "x"})
    assert await e.expect("error") == {
        "type": "error",
        "code": "not_found",
        "message": "no such room, or you are not a member",
        "client_id": "x",
    }
    await e.send({"type": "send", "room": "987654", "body": "hi", "client_id": "y"})
    assert (await e.expect("error"))["code"] == "not_found"
    for frame in ({"type": "typing", "room": room}, {"type": "read", "room": room, "seq": 1}):
        await e.send(frame)
        assert (await e.expect("error"))["code"] == "not_found"
    await e.send({"type": "resume", "rooms": {room: 0}})
    await send(a, room, "secret", "s1")
    await e.send({"type": "ping"})
    await e.expect("pong")
    assert (await e.expect("resumed"))["incomplete"] == []
    assert not [f for f in e.backlog if f["type"] in ("message", "typing")]


async def test_bad_frames_get_errors_and_the_connection_stays_open(new_user: UserFactory) -> None:
    ana = await new_user()
    room = (await ana.group("errors"))["id"]
    sock = await ana.connect()
    cases = [
        ("{not json", None),
        ('{"type": "wave"}', None),
        (dumps({"type": "send", "room": room, "client_id": "c1"}), "c1"),
        (dumps({"type": "send", "room": room, "body": "x" * 4001, "client_id": "c2"}), "c2"),
        (dumps({"type": "read", "room": room}), None),
        ('{"type": "auth", "token": "again", "resume": {"1": 0}}', None),
    ]
    for raw, client_id in cases:
        await sock.ws.send_str(raw)
        error = await sock.expect("error")
        assert error["code"] == "invalid_input", raw
        assert error.get("client_id") == client_id
    await sock.ws.send_bytes(b"\x00binary")
    assert (await sock.expect("error"))["code"] == "invalid_input"
    await sock.ws.send_str('{"type": "auth", "token": "again"}')  # a bad token changes nothing
    assert (await sock.expect("error"))["code"] == "unauthorized"
    assert (await send(sock, room, "still here", "ok"))["seq"] == 1


async def test_oversized_frames_close_with_1009(new_user: UserFactory) -> None:
    ana = await new_user()
    sock = await ana.connect()
    await sock.ws.send_str('{"type":"ping","pad":"' + "x" * 70_000 + '"}')
    msg = await sock.ws.receive(timeout=10)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert sock.ws.close_code == 1009


@pytest.mark.parametrize(
    "first",
    [
        {"type": "auth", "token": "bogus"},
        {"type": "ping"},
        {"type": "auth"},
    ],
)
async def test_bad_auth_gets_unauthorized_and_4401(
    http: aiohttp.ClientSession, server: ServerProcess, first: dict[str, str]
) -> None:
    ws = await http.ws_connect(server.ws_url)
    await ws.send_str(orjson.dumps(first).decode())
    error = orjson.loads((await ws.receive(timeout=10)).data)
    assert error["type"] == "error" and error["code"] == "unauthorized"
    closing = await ws.receive(timeout=10)
    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ws.close_code == 4401


async def test_typing_read_and_presence(new_user: UserFactory) -> None:
    ana, bob = await new_user(), await new_user()
    room = (await ana.group("signals", bob))["id"]
    a = await ana.connect()
    b = await bob.connect()
    assert (await a.expect("presence"))["user"]["id"] == bob.id
    await a.send({"type": "typing", "room": room})
    typing = await b.expect("typing")
    assert typing["room"] == room and typing["user"] == ana.user

    msg = await send(a, room, "read me", "r1")
    await b.send({"type": "read", "room": room, "seq": msg["seq"]})
    read = await b.expect("read")  # the reader's own; a group's others ask (test_scoped_events)
    assert (read["user"]["id"], read["seq"]) == (bob.id, 1)
    assert (await bob.call("GET", f"/api/rooms/{room}"))["unread"] == 0

    second = await bob.connect()
    await second.close()
    await b.close()
    offline = await a.expect("presence", status="offline")
    assert offline["user"]["id"] == bob.id
    assert not [f for f in a.backlog if f["type"] == "presence"]


async def test_rooms_created_or_joined_later_are_delivered(new_user: UserFactory) -> None:
    ana, bob, cy = await new_user(), await new_user(), await new_user()
    c = await cy.connect()
    room = await ana.group("later", bob)
    await ana.call(
        "POST", f"/api/rooms/{room['id']}/members", {"username": cy.username}, expect=201
    )
    announced = await c.expect("room")
    assert announced["room"]["id"] == room["id"]
    a = await ana.connect()
    msg = await send(a, room["id"], "welcome cy", "w")
    assert await c.messages(room["id"], 1) == [msg]
    await cy.call("DELETE", f"/api/rooms/{room['id']}/members/me", expect=204)
    assert (await c.expect("left"))["room"] == room["id"]


async def _server(tmp_path: Path, **env: str) -> ServerProcess:
    proc = ServerProcess(tmp_path / "srv", env=env)
    await proc.start()
    return proc


async def test_send_rate_limit_echoes_client_id(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    proc = await _server(tmp_path, PARLEY_SEND_RATE="0.1", PARLEY_SEND_BURST="3")
    try:
        ana = await Client(http, proc.url).register()
        room = (await ana.group("limited"))["id"]
        sock = await ana.connect()
        for i in range(4):
            await sock.send({"type": "send", "room": room, "body": "x", "client_id": f"c{i}"})
        for i in range(3):
            await sock.expect("ack", client_id=f"c{i}")
        refused = await sock.expect("error")
        assert (refused["code"], refused["client_id"]) == ("rate_limited", "c3")
    finally:
        await proc.stop()


async def test_auth_timeout_and_resume_cap(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    proc = await _server(
        tmp_path,
        PARLEY_AUTH_TIMEOUT="0.3",
        PARLEY_SEND_RATE="10000",
        PARLEY_SEND_BURST="10000",
        PARLEY_FRAME_RATE="10000",
        PARLEY_FRAME_BURST="10000",
    )
    try:
        silent = await http.ws_connect(proc.ws_url)
        error = orjson.loads((await silent.receive(timeout=10)).data)
        assert error["code"] == "unauthorized"
        await silent.receive(timeout=10)
        assert silent.close_code == 4401

        ana = await Client(http, proc.url).register()
        room = (await ana.group("long"))["id"]
        sock = await ana.connect()
        for chunk in range(0, 510, 170):  # below the per-connection queue of pending sends
            for i in range(chunk, chunk + 170):
                await sock.send(
                    {"type": "send", "room": room, "body": f"m{i}", "client_id": str(i)}
                )
            await sock.expect("ack", client_id=str(chunk + 169), timeout=60)
        back = await ana.connect(resume={room: 0})
        replayed = await back.messages(room, 500)
        assert [m["seq"] for m in replayed] == list(range(1, 501))
        assert (await back.expect("resumed"))["incomplete"] == [room]
        rest = await ana.history(room, after=500, limit=100)
        assert [m["seq"] for m in rest["messages"]] == list(range(501, 511))
    finally:
        await proc.stop()


async def test_slow_consumer_is_closed_with_1013_and_others_continue(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    proc = await _server(
        tmp_path,
        PARLEY_SEND_RATE="100000",
        PARLEY_SEND_BURST="100000",
        PARLEY_FRAME_RATE="100000",
        PARLEY_FRAME_BURST="100000",
        PARLEY_OUTGOING_QUEUE_BYTES=str(1 << 20),
    )
    try:
        ana, bob = await Client(http, proc.url).register(), await Client(http, proc.url).register()
        room = (await ana.group("firehose", bob))["id"]
        senders = [await ana.connect() for _ in range(4)]  # they read everything they get
        stalled = await bob.connect()
        transport = stalled.ws._response.connection.transport  # type: ignore[union-attr]
        assert transport is not None
        transport.pause_reading()  # bob's tab stops reading
        body = "\U0001f600" * 4000  # 16 KB of UTF-8 per message
        sent = 0
        while sent < 2000:
            await asyncio.gather(
                *(
                    s.send({"type": "send", "room": room, "body": body, "client_id": f"{i}-{sent}"})
                    for i, s in enumerate(senders)
                )
            )
            sent += len(senders)
            await asyncio.gather(
                *(
                    s.expect("ack", client_id=f"{i}-{sent - len(senders)}")
                    for i, s in enumerate(senders)
                )
            )
            if sent % 40 == 0:
                async with http.get(proc.url + "/metrics", headers=OPERATOR) as response:
                    if "parley_slow_consumers_closed_total 1.0" in await response.text():
                        break
        assert sent < 2000, "the stalled connection was never closed"
        transport.resume_reading()
        while (await stalled.ws.receive(timeout=30)).type == aiohttp.WSMsgType.TEXT:
            pass
        assert stalled.ws.close_code == 1013
        for sender in senders:  # the others were never held back
            got = await sender.messages(room, sent)
            assert [m["seq"] for m in got] == list(range(1, sent + 1))
    finally:
        await proc.stop()


async def test_shutdown_closes_with_1012(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    proc = await _server(tmp_path)
    ana = await Client(http, proc.url).register()
    sock = await ana.connect()
    stopping = asyncio.ensure_future(proc.stop())
    msg = await sock.ws.receive(timeout=15)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert sock.ws.close_code == 1012
    assert await stopping == 0
