"""Cluster mode working normally: users on different gateways, one Kafka, one PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from tests.support.client import Client, Socket
from tests.support.cluster import Cluster, assert_contiguous, messages, send_acked

pytestmark = pytest.mark.cluster

send = send_acked


async def test_users_on_two_gateways_chat(cluster: Cluster, http: aiohttp.ClientSession) -> None:
    gw1, gw2 = await cluster.start()
    ana = await Client(http, gw1.url).register()
    bob = await Client(http, gw2.url).register()
    room = (await ana.group("across", bob))["id"]
    a = await ana.connect()
    b = await bob.connect()
    # Presence crosses gateways: bob came online on gw2, ana hears it on gw1.
    assert (await a.expect("presence", status="online"))["user"]["id"] == bob.id

    sent = await send(a, room, "hello from gw1", "a1")
    assert (sent["seq"], sent["body"], sent["client_id"]) == (1, "hello from gw1", "a1")
    assert await b.messages(room, 1) == [sent]
    assert await a.messages(room, 1) == [sent]
    reply = await send(b, room, "hi from gw2", "b1")
    assert reply["seq"] == 2
    assert await a.messages(room, 1) == [reply]
    assert await b.messages(room, 1) == [reply]

    # A retry is acked with the original, through another gateway too.
    b2 = await bob.connect(ws_url=gw1.ws_url)
    assert await send(b2, room, "hi from gw2 (retry)", "b1") == reply

    # The HTTP pipeline is the same path; without a client_id one is generated.
    posted = await bob.call("POST", f"/api/rooms/{room}/messages", {"body": "by http"}, expect=201)
    assert posted["seq"] == 3 and posted["client_id"]
    assert await a.messages(room, 1) == [posted]

    # Typing and read markers travel over Redis only.
    await a.send({"type": "typing", "room": room})
    typing = await b.expect("typing")
    assert typing["user"] == ana.user
    a2 = await ana.connect(ws_url=gw2.ws_url)
    await a.send({"type": "read", "room": room, "seq": 3})
    read = await a2.expect("read")  # the reader's other session; a group's others ask
    assert (read["user"]["id"], read["seq"]) == (ana.id, 3)
    await a2.close()

    history = (await ana.history(room))["messages"]
    assert history == [sent, reply, posted]
    assert (await Client(http, gw2.url).call("GET", "/healthz", auth=False))["status"] == "ok"

    # bob leaves both gateways: offline exactly when his last connection closes.
    await b.close()
    await b2.close()
    offline = await a.expect("presence", status="offline")
    assert offline["user"]["id"] == bob.id
    assert not [f for f in a.backlog if f["type"] == "presence"]


async def test_non_members_get_not_found_fast(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    (gw1,) = await cluster.start(gateways=1)
    ana = await Client(http, gw1.url).register()
    eve = await Client(http, gw1.url).register()
    room = (await ana.group("private"))["id"]
    e = await eve.connect()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await e.send({"type": "send", "room": room, "body": "hi", "client_id": "x"})
    error = await e.expect("error")
    assert (error["code"], error["client_id"]) == ("not_found", "x")
    assert loop.time() - started < 2  # refused by the gateway, before Kafka

    # A member who just left still passes the gateway's membership cache: the
    # persister refuses the record and the gateway answers not_found, not a timeout.
    await ana.call("POST", f"/api/rooms/{room}/members", {"username": eve.username}, expect=201)
    await e.expect("room")
    assert (await send(e, room, "in", "y"))["seq"] == 1
    await eve.call("DELETE", f"/api/rooms/{room}/members/me", expect=204)
    await e.expect("left")
    started = loop.time()
    await e.send({"type": "send", "room": room, "body": "gone", "client_id": "z"})
    error = await e.expect("error")
    assert (error["code"], error["client_id"]) == ("not_found", "z")
    assert loop.time() - started < 5  # PARLEY_ACK_TIMEOUT is 10
    assert [m["client_id"] for m in (await ana.history(room))["messages"]] == ["y"]


@pytest.mark.parametrize("log", ["kafka", "direct"])
async def test_concurrent_senders_on_different_gateways(
    cluster: Cluster, http: aiohttp.ClientSession, log: str
) -> None:
    """Every receiver, on either gateway, sees seq 1..N once each; history equals the acks.

    ``direct`` is PostgreSQL without Kafka: each gateway numbers messages itself
    under the room's row lock and publishes them on Redis.
    """
    if log == "direct":
        cluster.env["PARLEY_KAFKA_BOOTSTRAP"] = ""
    gateways = await cluster.start(gateways=2, persisters=1 if log == "kafka" else 0)
    users = [await Client(http, gateways[i % 2].url).register() for i in range(6)]
    room = (await users[0].group("busy", *users[1:]))["id"]
    senders = [await u.connect(ws_url=gateways[i % 2].ws_url) for i, u in enumerate(users)]
    receivers = [await u.connect(ws_url=gateways[(i + 1) % 2].ws_url) for i, u in enumerate(users)]
    per_sender = 25

    async def burst(i: int, sock: Socket) -> list[dict[str, Any]]:
        for n in range(per_sender):  # all at once: the gateway keeps each connection's order
            await sock.send(
                {"type": "send", "room": room, "body": f"{i}-{n}", "client_id": f"{i}-{n}"}
            )
        return [
            (await sock.expect("ack", client_id=f"{i}-{n}", timeout=30))["message"]
            for n in range(per_sender)
        ]

    acks = [
        m for b in await asyncio.gather(*(burst(i, s) for i, s in enumerate(senders))) for m in b
    ]
    total = len(users) * per_sender
    for sock in (*receivers, *senders):
        assert_contiguous(await messages(sock, room, total), total)
    history = (await users[0].history(room, after=0, limit=100))["messages"]
    history += (await users[0].history(room, after=100, limit=100))["messages"]
    assert sorted(acks, key=lambda m: m["seq"]) == history
    for i in range(len(users)):  # each connection's sends are stored in the order sent
        own = [m["body"] for m in history if m["body"].startswith(f"{i}-")]
        assert own == [f"{i}-{n}" for n in range(per_sender)]
