"""Scoped events across two gateways (issue 15): a read marker reaches the reader's other
sessions and a direct partner wherever they are connected; presence subscriptions hear
changes made on the other gateway."""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.client import Client
from tests.support.cluster import Cluster, send_acked

pytestmark = pytest.mark.cluster


async def test_scoped_reads_and_presence_subscriptions_cross_gateways(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    cluster.env["PARLEY_PRESENCE_PUSH_MAX_MEMBERS"] = "2"
    gw1, gw2 = await cluster.start()
    ana = await Client(http, gw1.url).register()
    bob, cy, dan = [await Client(http, gw2.url).register() for _ in range(3)]
    group = (await ana.group("big", bob, cy))["id"]
    direct = (await ana.direct(dan))["id"]
    a1 = await ana.connect(ws_url=gw1.ws_url)
    a2 = await ana.connect(ws_url=gw2.ws_url)
    b = await bob.connect(ws_url=gw2.ws_url)
    d = await dan.connect(ws_url=gw2.ws_url)
    sent = await send_acked(b, group, "to read", "g1")
    await send_acked(d, direct, "to read", "d1")

    # A read on gw1 reaches ana's session on gw2, and the direct partner there.
    await a1.send({"type": "read", "room": group, "seq": sent["seq"]})
    read = await a2.expect("read", room=group)
    assert (read["user"]["id"], read["seq"]) == (ana.id, 1)
    await a1.send({"type": "read", "room": direct, "seq": 1})
    seen = await d.expect("read", room=direct)
    assert (seen["user"]["id"], seen["seq"]) == (ana.id, 1)
    await a2.expect("read", room=direct)
    # bob, a member of the group, was not told; a message after the read is the barrier.
    await send_acked(a1, group, "after the read", "g2")
    await b.messages(group, 2)
    assert [f for f in b.backlog if f["type"] == "read"] == []

    # The group (3 members) is past the push size: ana follows cy by subscription, on gw1,
    # while cy comes and goes on gw2.
    await a1.send({"type": "presence_subscribe", "users": [cy.id]})
    assert (await a1.expect("presence_subscribed")) == {
        "type": "presence_subscribed",
        "users": [cy.id],
        "online": [],
    }
    c = await cy.connect(ws_url=gw2.ws_url)
    await a1.expect("presence", status="online", user=cy.user)
    await c.close()
    await a1.expect("presence", status="offline", user=cy.user)
