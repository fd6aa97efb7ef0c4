"""The notifications worker on a real cluster: Kafka -> persister -> PostgreSQL, and
``parley worker notify`` in its own consumer group, delivering in-app (live on whichever
gateway holds the user's socket) and by e-mail to a real SMTP server (aiosmtpd).

The kill test: the worker is killed (SIGKILL) mid-stream under load and restarted, then a
worker of a new consumer group replays the topic from its start; the inbox and the SMTP
server hold each notification once (an e-mail in the one crash window between sending and
marking it done may come twice with the same Message-ID: docs/reliability.md)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from parley.api.admin import PREFIX
from tests.integration.test_admin import parley_admin
from tests.support.client import Client
from tests.support.cluster import Cluster, eventually
from tests.support.persister import NOTIFY_ASSIGNED, PersisterProcess
from tests.support.server import METRICS_TOKEN, free_port
from tests.support.smtp import Mailbox, parts

pytestmark = pytest.mark.cluster

LOAD = 60
"""Direct messages sent while the worker is killed and restarted."""


@pytest.fixture
async def mailbox() -> AsyncIterator[Mailbox]:
    box = await Mailbox().start()
    yield box
    await box.close()


def notifier(cluster: Cluster, group: str, name: str) -> PersisterProcess:
    env = {**cluster.env, "PARLEY_NOTIFY_GROUP": group, "PARLEY_PERSISTER_ID": name}
    return PersisterProcess(cluster.root, env, name=name, worker="notify", assigned=NOTIFY_ASSIGNED)


async def with_email(client: Client, address: str) -> None:
    await client.call(
        "PUT",
        "/api/me/notification-settings",
        {"email": address, "email_mode": "immediately"},
    )


async def inbox(client: Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = await client.call("GET", "/api/notifications" + cursor)
        found += page["notifications"]
        if page["next_cursor"] is None:
            return found
        cursor = f"?cursor={page['next_cursor']}"


async def test_mention_on_one_gateway_notifies_on_another_and_by_mail(
    cluster: Cluster, http: aiohttp.ClientSession, mailbox: Mailbox
) -> None:
    topic = cluster.env["PARLEY_KAFKA_TOPIC"]
    metrics_port = free_port()
    cluster.env.update(
        PARLEY_SMTP_HOST="127.0.0.1",
        PARLEY_SMTP_PORT=str(mailbox.port),
        PARLEY_SMTP_SECURITY="none",
        PARLEY_SMTP_FROM="Parley <parley@example.com>",
        PARLEY_PUBLIC_URL="https://chat.example.com",
    )
    gw1, gw2 = await cluster.start(gateways=2, persisters=1)
    worker = notifier(cluster, f"{topic}.notify", "notify1")
    worker.env["PARLEY_WORKER_METRICS_PORT"] = str(metrics_port)
    await worker.start()
    try:
        ana = await Client(http, gw1.url).register()
        bob = await Client(http, gw2.url).register()
        await with_email(bob, "bob@example.com")
        room = (await ana.group("plans", bob))["id"]
        sock = await bob.connect()
        sent = await ana.call(
            "POST", f"/api/rooms/{room}/messages", {"body": f"@{bob.username} <b>lunch</b>?"}
        )
        live = (await sock.expect("notification", timeout=30))["notification"]
        assert (live["room"], live["seq"], live["reason"]) == (room, sent["seq"], "mention")
        assert live["room_name"] == "plans"
        recipients, mail = await mailbox.next(timeout=30)
        assert recipients == ["bob@example.com"]
        assert mail["Subject"] == f"{ana.username} mentioned you in #plans"
        body = parts(mail)
        link = f"https://chat.example.com/rooms/{room}/messages/{sent['seq']}"
        assert f"@{bob.username} <b>lunch</b>?" in body["text"] and link in body["text"]
        assert "&lt;b&gt;lunch&lt;/b&gt;" in body["html"]
        await sock.close()

        async def counted() -> bool:  # once the batch is done, a moment after the delivery
            async with http.get(
                f"http://127.0.0.1:{metrics_port}/metrics",
                headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
            ) as response:
                text = await response.text()
            return (
                "parley_notify_lag 0.0" in text and "parley_notify_notifications_total 1.0" in text
            )

        await eventually(counted, what="the notification and no lag on the worker's /metrics")
        admin = await Client(http, gw2.url).register()
        await asyncio.to_thread(parley_admin, gw2, "grant", admin.username)

        async def on_the_overview() -> bool:
            overview = await admin.call("GET", f"{PREFIX}/overview")
            persisters = {p["worker"] for p in overview["persisters"]}
            return bool(
                [
                    (n["worker"], n["messages"], n["notifications"], n["lag"])
                    for n in overview["notifiers"]
                ]
                == [("notify1", 1, 1, 0)]
                and overview["totals"]["notify_lag"] == 0
                and "notify1" not in persisters
            )

        await eventually(on_the_overview, what="the notify worker, caught up, on the overview")
    finally:
        await worker.stop()


async def test_killed_and_replayed_worker_notifies_exactly_once(
    cluster: Cluster, http: aiohttp.ClientSession, mailbox: Mailbox
) -> None:
    topic = cluster.env["PARLEY_KAFKA_TOPIC"]
    cluster.env.update(
        PARLEY_SMTP_HOST="127.0.0.1",
        PARLEY_SMTP_PORT=str(mailbox.port),
        PARLEY_SMTP_SECURITY="none",
    )
    [gw] = await cluster.start(gateways=1, persisters=1)
    worker = notifier(cluster, f"{topic}.notify", "notify1")
    await worker.start()
    ana = await Client(http, gw.url).register()
    bob = await Client(http, gw.url).register()
    await with_email(bob, "bob@example.com")
    room = (await ana.direct(bob))["id"]
    mails: list[Any] = []

    async def collect(until: int) -> None:
        while len({m["Message-ID"] for m in mails}) < until:
            mails.append((await mailbox.next(timeout=60))[1])

    async def load() -> None:
        for i in range(LOAD):
            await ana.call("POST", f"/api/rooms/{room}/messages", {"body": f"m{i}"})

    sending = asyncio.create_task(load())
    await collect(LOAD // 4)
    await worker.kill()  # mid-stream: batches delivered but not committed are replayed
    await worker.start()
    await sending
    await collect(LOAD)
    await worker.stop()

    replay = notifier(cluster, f"{topic}.replay", "notify2")  # a new group: from the start
    await replay.start()
    try:
        last = await ana.call("POST", f"/api/rooms/{room}/messages", {"body": "sentinel"})
        await collect(LOAD + 1)  # same room, same partition: the replay got past every one
    finally:
        await replay.stop()
    ids = [m["Message-ID"] for m in mails]
    assert len(set(ids)) == LOAD + 1
    assert len(ids) - len(set(ids)) <= 1, "at most the one mail in the killed worker's window"
    bodies = {parts(m)["text"].split("\n")[1].strip() for m in mails}
    assert bodies == {f"m{i}" for i in range(LOAD)} | {"sentinel"}
    found = await inbox(bob)
    assert sorted(n["seq"] for n in found) == list(range(1, last["seq"] + 1))
    assert mailbox.received.empty()
