"""Scoped events over real sockets (issue 15): who hears a read marker, typing, presence;
the "seen by" API. One server per store, with rooms of more than 3 members counting as big."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.client import ApiError, Client, Socket
from tests.support.server import ServerProcess
from tests.support.services import Databases

SMALL = "3"
"""PARLEY_TYPING_MAX_MEMBERS and PARLEY_PRESENCE_PUSH_MAX_MEMBERS of this module's server."""


ENV = {"PARLEY_TYPING_MAX_MEMBERS": SMALL, "PARLEY_PRESENCE_PUSH_MAX_MEMBERS": SMALL}


async def _start(folder: Path, env: dict[str, str]) -> ServerProcess:
    proc = ServerProcess(folder, {**ENV, **env})
    await proc.start()
    return proc


@pytest.fixture(scope="module")
async def scoped_sqlite(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ServerProcess]:
    proc = await _start(tmp_path_factory.mktemp("scoped"), {})
    yield proc
    await proc.stop()


@pytest.fixture(scope="module")
async def scoped_postgres(
    tmp_path_factory: pytest.TempPathFactory, databases: Databases
) -> AsyncIterator[ServerProcess]:
    env = {
        "PARLEY_DATABASE_URL": await databases.new(),
        "PARLEY_SECRET_KEY": secrets.token_urlsafe(48),
    }
    proc = await _start(tmp_path_factory.mktemp("scoped_postgres"), env)
    yield proc
    await proc.stop()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.cluster)]
)
def scoped(request: pytest.FixtureRequest) -> ServerProcess:
    found: ServerProcess = request.getfixturevalue(f"scoped_{request.param}")
    return found


Users = Callable[[], Awaitable[Client]]


@pytest.fixture
def user(http: aiohttp.ClientSession, scoped: ServerProcess) -> Users:
    async def make() -> Client:
        return await Client(http, scoped.url).register()

    return make


async def connect(client: Client) -> tuple[Socket, dict[str, Any]]:
    """A socket and its ``ready`` frame (``Client.connect`` reads it away)."""
    sock = Socket(await client.http.ws_connect(client.base_url.replace("http", "ws") + "/ws"))
    await sock.send({"type": "auth", "token": client.access_token})
    ready = await sock.recv()
    assert ready["type"] == "ready"
    return sock, ready


async def barrier(sender: Socket, room: str, tag: str, *receivers: Socket) -> None:
    """A message sent after an event: once it arrived, that event would have too."""
    await sender.send({"type": "send", "room": room, "body": tag, "client_id": tag})
    for sock in receivers:
        await sock.expect("message")


def kinds(sock: Socket, kind: str) -> list[dict[str, Any]]:
    return [f for f in sock.backlog if f["type"] == kind]


async def test_a_read_reaches_the_readers_sessions_and_a_direct_partner_not_the_group(
    user: Users,
) -> None:
    ana, bob = await user(), await user()
    group = (await ana.group("g", bob))["id"]
    direct = (await ana.direct(bob))["id"]
    a, _ = await connect(ana)
    b1, _ = await connect(bob)
    b2, _ = await connect(bob)  # another session of bob's
    await a.send({"type": "send", "room": group, "body": "hi", "client_id": "g1"})
    await a.send({"type": "send", "room": direct, "body": "hi", "client_id": "d1"})
    for sock in (b1, b2):
        await sock.messages(group, 1)
        await sock.messages(direct, 1)

    await b1.send({"type": "read", "room": group, "seq": 1})
    read = await b2.expect("read", room=group)
    assert (read["user"]["id"], read["seq"]) == (bob.id, 1)
    await b1.expect("read", room=group)
    await barrier(b1, group, "after-read", a)
    assert kinds(a, "read") == []  # a group member is not told

    await b1.send({"type": "read", "room": direct, "seq": 1})
    seen = await a.expect("read", room=direct)
    assert (seen["user"]["id"], seen["seq"]) == (bob.id, 1)
    await b2.expect("read", room=direct)


async def test_seen_by_answers_members_only(user: Users) -> None:
    ana, bob, cy, eve = await user(), await user(), await user(), await user()
    room = (await ana.group("seen", bob, cy))["id"]
    b, _ = await connect(bob)
    for i in range(3):
        await ana.call("POST", f"/api/rooms/{room}/messages", {"body": f"m{i}"}, expect=201)
    await b.messages(room, 3)
    await b.send({"type": "read", "room": room, "seq": 2})
    await b.expect("read")

    seen = await ana.call("GET", f"/api/rooms/{room}/reads?seq=2")
    assert seen["room"] == room
    assert [(r["user"]["id"], r["seq"]) for r in seen["reads"]] == [(ana.id, 3), (bob.id, 2)]
    every = await cy.call("GET", f"/api/rooms/{room}/reads")
    assert {r["user"]["id"]: r["seq"] for r in every["reads"]} == {ana.id: 3, bob.id: 2, cy.id: 0}
    assert (await ana.call("GET", f"/api/rooms/{room}/reads?seq=3"))["reads"][0]["seq"] == 3

    for path, status in (
        (f"/api/rooms/{room}/reads", 404),  # eve is not a member
        ("/api/rooms/999999/reads", 404),
        ("/api/rooms/x/reads", 404),
    ):
        with pytest.raises(ApiError) as caught:
            await eve.call("GET", path)
        assert caught.value.status == status
    for bad in ("-1", "1.5", "x", "%00", "99999999999999999999"):
        with pytest.raises(ApiError) as caught:
            await ana.call("GET", f"/api/rooms/{room}/reads?seq={bad}")
        assert caught.value.status == 422
    anonymous = await ana.http.get(f"{ana.base_url}/api/rooms/{room}/reads")
    assert anonymous.status == 401


async def test_typing_stops_past_the_configured_room_size(user: Users) -> None:
    ana, bob, cy, dan = await user(), await user(), await user(), await user()
    small = (await ana.group("small", bob, cy))["id"]
    big = (await ana.group("big", bob, cy, dan))["id"]
    a, _ = await connect(ana)
    b, _ = await connect(bob)
    await a.send({"type": "typing", "room": big})
    await a.send({"type": "typing", "room": small})
    typing = await b.expect("typing")
    assert typing["room"] == small  # the big room's came first and went nowhere
    await barrier(a, big, "after-typing", b)
    assert kinds(b, "typing") == []
    assert kinds(a, "error") == []  # accepted, not refused


async def test_presence_by_subscription_in_big_rooms(user: Users) -> None:
    ana, bob, cy, dan, eve = await user(), await user(), await user(), await user(), await user()
    await ana.group("small", bob)
    await ana.group("big", bob, cy, dan)
    c, _ = await connect(cy)
    b, _ = await connect(bob)
    a, ready = await connect(ana)
    assert ready["online"] == [bob.id]  # cy is online, but met only in the big room
    await connect(eve)

    await a.send({"type": "presence_subscribe", "users": [cy.id, dan.id, eve.id]})
    subscribed = await a.expect("presence_subscribed")
    assert sorted(subscribed["users"]) == sorted([cy.id, dan.id])  # eve shares no room
    assert subscribed["online"] == [cy.id]
    d, _ = await connect(dan)
    assert (await a.expect("presence", status="online"))["user"]["id"] == dan.id

    await a.send({"type": "presence_subscribe", "users": []})
    await a.expect("presence_subscribed", users=[], online=[])
    await c.close()
    await b.close()  # bob shares the small room: pushed as before
    gone = await a.expect("presence", status="offline")
    assert gone["user"]["id"] == bob.id
    assert [f for f in kinds(a, "presence") if f["user"]["id"] == cy.id] == []
    await d.close()

    await a.send({"type": "presence_subscribe", "users": [str(i) for i in range(1, 502)]})
    refused = await a.expect("error")
    assert refused["code"] == "invalid_input"
