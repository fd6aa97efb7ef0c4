"""Cluster mode when parts fail: each test breaks one thing for real and checks nothing is lost.

Services are stopped and started with ``scripts/services down|up <service>``
(and always started again, even when the test fails). Waiting is on events
(an ack, an error, a socket closing, /readyz changing), never fixed sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import redis.asyncio as aioredis

from parley.protocol import envelope
from tests.support.client import Client, Socket
from tests.support.cluster import (
    Cluster,
    Nginx,
    assert_contiguous,
    eventually,
    messages,
    outcome,
    readyz,
    send,
    send_acked,
    wait_ready,
)
from tests.support.server import ServerProcess
from tests.support.services import service

pytestmark = pytest.mark.cluster


@contextlib.asynccontextmanager
async def stopped(name: str) -> AsyncIterator[None]:
    """``scripts/services down <name>`` for the block; up again however the block ends."""
    await service("down", name)
    try:
        yield
    finally:
        await service("up", name)


async def not_ready(gateway: ServerProcess, check: str) -> None:
    """Wait until /readyz answers 503 and names ``check`` as down."""

    async def down() -> bool:
        status, body = await readyz(gateway.url)
        return status == 503 and body["checks"][check].startswith("down")

    await eventually(down, 20, f"{gateway.url}/readyz to report {check} down")


async def full_history(client: Client, room: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        page = await client.history(room, after=len(out), limit=100)
        out += page["messages"]
        if not page["has_more"]:
            return out


def check_history(history: list[dict[str, Any]], acks: list[dict[str, Any]]) -> None:
    """History is seq 1..N with no client_id twice, and contains every ack exactly."""
    assert_contiguous(history, len(history))
    client_ids = [m["client_id"] for m in history]
    assert len(client_ids) == len(set(client_ids)), "a message was stored twice"
    by_seq = {m["seq"]: m for m in history}
    for ack in acks:
        assert by_seq[ack["seq"]] == ack


async def test_persister_killed_mid_stream_loses_and_duplicates_nothing(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    gw1, gw2 = await cluster.start()
    users = [await Client(http, (gw1, gw2)[i % 2].url).register() for i in range(4)]
    room = (await users[0].group("kill -9", *users[1:]))["id"]
    senders = [await u.connect() for u in users]
    watcher = await users[0].connect(ws_url=gw2.ws_url)
    per_sender = 40
    halfway = asyncio.Event()
    acked: list[dict[str, Any]] = []

    async def stream(i: int, sock: Socket) -> None:
        for n in range(per_sender):
            acked.append(await send_acked(sock, room, f"{i}-{n}", f"{i}-{n}"))
            if len(acked) >= per_sender:
                halfway.set()

    streams = asyncio.gather(*(stream(i, s) for i, s in enumerate(senders)))
    await halfway.wait()
    first = cluster.persisters[0]
    await first.kill()  # mid-stream: no chance to commit what it stored
    await cluster.persister()
    await streams

    total = len(users) * per_sender
    seen = await messages(watcher, room, total)
    assert_contiguous(seen, total)
    history = await full_history(users[0], room)
    assert len(history) == total
    check_history(history, acked)
    assert seen == history

    # Replaying the whole topic (a new group starts from offset 0) stores nothing twice:
    # every record is recognised by its client_id and announced with its first id and seq.
    replayed = await replay_announcements(cluster, room, total)
    assert [replayed[m["seq"]] for m in history] == history
    assert await full_history(users[0], room) == history


async def replay_announcements(cluster: Cluster, room: str, total: int) -> dict[int, Any]:
    """Run a persister of a new group over the topic; the messages it announces, by seq."""
    bus = aioredis.Redis.from_url(cluster.env["PARLEY_REDIS_URL"])
    pubsub = bus.pubsub()
    await pubsub.subscribe(envelope.room_channel(int(room)))
    announced: dict[int, Any] = {}
    try:
        cluster.env = {**cluster.env, "PARLEY_KAFKA_GROUP": cluster.env["PARLEY_KAFKA_GROUP"] + "2"}
        await cluster.persister()
        async with asyncio.timeout(60):
            while len(announced) < total:
                item = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
                if item is None:
                    continue
                env = envelope.read(item["data"])
                if isinstance(env, envelope.Message):
                    announced[env.seq] = orjson.loads(env.event)["message"]
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await bus.aclose()
    return announced


async def test_redis_restart_gateways_resubscribe_and_clients_get_everything(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    cluster.env["PARLEY_ACK_TIMEOUT"] = "4"
    gw1, gw2 = await cluster.start()
    ana = await Client(http, gw1.url).register()
    bob = await Client(http, gw2.url).register()
    room = (await ana.group("pubsub", bob))["id"]
    a, b = await ana.connect(), await bob.connect()
    before = [await send_acked(a, room, f"before {i}", f"b{i}") for i in range(3)]
    for sock in (a, b):
        assert await messages(sock, room, 3) == before

    async with stopped("redis"):
        await not_ready(gw1, "bus")
        # Stored all the same (Kafka and PostgreSQL are up), but the ack cannot come back.
        during = await asyncio.gather(
            send(a, room, "during 1", "d1"), send(b, room, "during 2", "d2")
        )
        assert [f["type"] for f in during] == ["error", "error"]
        assert {f["code"] for f in during} == {"unavailable"}

    await wait_ready(gw1.url)
    await wait_ready(gw2.url)
    # Without reconnecting, both sockets receive what was stored while Redis was away:
    # the gateways resubscribed and refetched it from the store.
    for sock in (a, b):
        got = await messages(sock, room, 2)
        assert {m["client_id"] for m in got} == {"d1", "d2"}
        assert [m["seq"] for m in got] == [4, 5]
    # The retries find the stored originals, and live traffic flows again.
    retried = [
        await send_acked(a, room, "during 1", "d1"),
        await send_acked(b, room, "during 2", "d2"),
    ]
    after = await send_acked(b, room, "after", "a1")
    assert after["seq"] == 6
    for sock in (a, b):
        assert await messages(sock, room, 1) == [after]
    history = await full_history(ana, room)
    check_history(history, [*before, *retried, after])
    assert len(history) == 6


async def test_kafka_stopped_sends_fail_fast_then_work_and_nothing_acked_is_lost(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    gw1, gw2 = await cluster.start()
    ana = await Client(http, gw1.url).register()
    bob = await Client(http, gw2.url).register()
    room = (await ana.group("log", bob))["id"]
    a, b = await ana.connect(), await bob.connect()
    acked = [await send_acked(a, room, f"before {i}", f"b{i}") for i in range(5)]
    loop = asyncio.get_running_loop()

    async with stopped("kafka"):
        refused: list[str] = []
        for i in range(4):
            started = loop.time()
            frame = await send((a, b)[i % 2], room, f"during {i}", f"d{i}")
            assert (frame["type"], frame["code"]) == ("error", "unavailable"), frame
            # The first send on each gateway waits out the producer (2 s); after that the
            # gateway knows Kafka is down and refuses at once.
            assert loop.time() - started < (4.0 if i < 2 else 1.0)
            refused.append(f"d{i}")
        await not_ready(gw1, "log")
        await not_ready(gw2, "log")

    await wait_ready(gw1.url)
    await wait_ready(gw2.url)
    for i, client_id in enumerate(refused):  # a refused send is retried with its client_id
        acked.append(await send_acked((a, b)[i % 2], room, f"during {i}", client_id))
    acked.append(await send_acked(b, room, "after", "a1"))

    history = await full_history(ana, room)
    check_history(history, acked)
    assert len(history) == len(acked) == 10
    for sock in (a, b):
        assert await messages(sock, room, len(history)) == history


async def test_postgres_stopped_messages_wait_in_kafka_and_are_stored_in_order(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    """gw1 gives up on acks after 3 s, gw2 waits 60 s: one sender times out, one is acked late."""
    gw1, gw2, _ = await asyncio.gather(
        cluster.gateway(PARLEY_ACK_TIMEOUT="3"),
        cluster.gateway(PARLEY_ACK_TIMEOUT="60"),
        cluster.persister(),
    )
    ana = await Client(http, gw1.url).register()
    bob = await Client(http, gw2.url).register()
    room = (await ana.group("durable", bob))["id"]
    a, b = await ana.connect(), await bob.connect()
    acked = [await send_acked(a, room, "before a", "ba")]
    acked.append(await send_acked(b, room, "before b", "bb"))

    async with stopped("postgres"):
        await not_ready(gw1, "store")
        await not_ready(gw2, "store")
        timed_out = await send(a, room, "while down (a)", "wa")
        assert (timed_out["type"], timed_out["code"]) == ("error", "unavailable")
        # Sent after ana's record is surely in Kafka, so it is stored after it.
        await b.send({"type": "send", "room": room, "body": "while down (b)", "client_id": "wb"})
        await b.send({"type": "ping"})
        await b.expect("pong")
        assert not [f for f in b.backlog if f.get("client_id") == "wb"]  # no ack while down

    late = await outcome(b, "wb")  # the ack bob has been waiting for, once PostgreSQL is back
    assert late["type"] == "ack", late
    assert late["message"]["seq"] == 4
    retried = await send_acked(a, room, "while down (a), retried", "wa")
    assert (retried["seq"], retried["body"]) == (3, "while down (a)")  # the original, not a copy
    await wait_ready(gw1.url)
    history = await full_history(ana, room)
    check_history(history, [*acked, retried, late["message"]])
    assert [m["client_id"] for m in history] == ["ba", "bb", "wa", "wb"]
    for sock in (a, b):
        assert await messages(sock, room, 4) == history


async def test_gateway_killed_clients_resume_through_the_load_balancer(
    cluster: Cluster, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    gw1, gw2 = await cluster.start()
    nginx = Nginx(tmp_path / "nginx", [gw1.port, gw2.port])
    await nginx.start()
    try:
        await _gateway_killed(cluster, http, nginx, gw1, gw2)
    finally:
        await nginx.stop()


async def _gateway_killed(
    cluster: Cluster,
    http: aiohttp.ClientSession,
    nginx: Nginx,
    gw1: ServerProcess,
    gw2: ServerProcess,
) -> None:
    ana = await Client(http, nginx.url).register()  # the HTTP API through nginx too
    bob = await Client(http, nginx.url).register()
    cy = await Client(http, nginx.url).register()
    dan = await Client(http, nginx.url).register()
    room = (await ana.group("failover", bob, cy, dan))["id"]
    # ana, bob and dan on gw1, which dies; cy on gw2, which survives.
    a = await ana.connect(ws_url=gw1.ws_url)
    b = await bob.connect(ws_url=gw1.ws_url)
    c = await cy.connect(ws_url=gw2.ws_url)
    await dan.connect(ws_url=gw1.ws_url)  # never comes back
    total = 60
    acked: dict[str, dict[str, Any]] = {}
    killed = asyncio.Event()

    async def stream() -> None:
        """ana sends; after the kill she reconnects through nginx and re-sends the unacked."""
        sock = a
        n = 0
        while n < total:
            client_id = f"m{n}"
            try:
                frame = await send(sock, room, f"message {n}", client_id, timeout=30)
            except ConnectionError:
                await killed.wait()
                sock = await ana.connect(ws_url=nginx.ws_url)  # same client_id next round
                continue
            if frame["type"] == "error":
                assert frame["code"] == "unavailable", frame
                continue
            acked[client_id] = frame["message"]
            n += 1

    sending = asyncio.ensure_future(stream())
    seen_by_bob = await messages(b, room, 20)
    await gw1.stop(signal.SIGKILL)
    killed.set()
    assert len(acked) < total, "the kill came after the stream; nothing was tested"
    # bob's socket dies with gw1: he reconnects through nginx, resuming after what he saw.
    with pytest.raises(ConnectionError):
        while True:
            await b._read(30)
    b = await bob.connect(ws_url=nginx.ws_url, resume={room: seen_by_bob[-1]["seq"]})
    await sending
    seen_by_bob += await messages(b, room, total - len(seen_by_bob))
    assert (await b.expect("resumed"))["incomplete"] == []

    history = await full_history(cy, room)
    check_history(history, list(acked.values()))
    assert len(history) == total
    assert seen_by_bob == history
    assert await messages(c, room, total) == history

    # dan only had gw1: once its heartbeat lapses, gw2 announces him offline.
    offline = await c.expect("presence", status="offline", timeout=30)
    assert offline["user"]["id"] == dan.id
    fresh = Socket(await http.ws_connect(gw2.ws_url))
    await fresh.send({"type": "auth", "token": cy.access_token})
    ready = await fresh.expect("ready")
    assert ana.id in ready["online"] and dan.id not in ready["online"]


async def test_postgres_stopped_authenticated_requests_answer_json_503(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    (gw,) = await cluster.start(gateways=1, persisters=0)
    ana = await Client(http, gw.url).register()
    async with stopped("postgres"):
        for path in ("/api/me", "/api/rooms", "/api/users?prefix=an"):
            async with http.get(
                gw.url + path, headers={"Authorization": f"Bearer {ana.access_token}"}
            ) as response:
                assert response.status == 503, (path, await response.text())
                assert response.content_type == "application/json"
                body = await response.json()
                assert body["error"]["code"] == "unavailable", body
        # A socket opened meanwhile hears the same, and the close code that means "retry".
        ws = Socket(await http.ws_connect(gw.ws_url))
        await ws.send({"type": "auth", "token": ana.access_token})
        refused = await ws.recv()
        assert (refused["type"], refused["code"]) == ("error", "unavailable"), refused
        with pytest.raises(ConnectionError):
            await ws.recv()
        assert ws.close_code == 1013
    await wait_ready(gw.url)
    assert (await ana.call("GET", "/api/rooms")) is not None


async def test_persister_stops_cleanly_on_sigterm_while_kafka_is_down(cluster: Cluster) -> None:
    persister = await cluster.persister()
    async with stopped("kafka"):
        assert await persister.stop(signal.SIGTERM) == 0, persister.log()
    assert "Traceback" not in persister.log()
