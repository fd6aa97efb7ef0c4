"""Running a group across gateways: a member removed through one gateway stops receiving the
room at once on the other, and settings changes reach members wherever they are connected."""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.client import ApiError, Client
from tests.support.cluster import Cluster, send_acked

pytestmark = pytest.mark.cluster


async def test_removal_and_settings_cross_gateways(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    gw1, gw2 = await cluster.start()
    ana = await Client(http, gw1.url).register()
    bob = await Client(http, gw2.url).register()
    cy = await Client(http, gw2.url).register()
    room = (await ana.group("across", bob, cy))["id"]
    a, b, c = await ana.connect(), await bob.connect(), await cy.connect()
    first = await send_acked(a, room, "before", "m1")
    assert await b.messages(room, 1) == [first] == await c.messages(room, 1)

    # Renamed through gateway 1: members on gateway 2 hear it live.
    await ana.call("PATCH", f"/api/rooms/{room}", {"name": "renamed", "topic": "t"})
    for sock in (b, c):
        updated = await sock.expect("room_updated", room=room)
        assert (updated["name"], updated["topic"], updated["by"]["id"]) == ("renamed", "t", ana.id)

    # Removed through gateway 1 while connected to gateway 2: `left`, then nothing more.
    await ana.call("DELETE", f"/api/rooms/{room}/members/{bob.id}", expect=204)
    assert (await b.expect("left", room=room))["room"] == room
    after = await send_acked(a, room, "after", "m2")
    assert await c.messages(room, 1) == [after]
    assert not [f for f in b.backlog if f.get("type") == "message"]
    await b.send({"type": "ping"})
    await b.expect("pong")  # frames after the removal came in order: no message among them
    assert not [f for f in b.backlog if f.get("type") == "message"]
    for path in (f"/api/rooms/{room}", f"/api/rooms/{room}/messages"):
        with pytest.raises(ApiError) as refused:
            await bob.call("GET", path)
        assert refused.value.status == 404
    await b.send({"type": "send", "room": room, "body": "still?", "client_id": "x"})
    assert (await b.expect("error", client_id="x"))["code"] == "not_found"
    bodies = [m["body"] for m in (await cy.history(room))["messages"]]
    assert bodies == ["before", "after"]
