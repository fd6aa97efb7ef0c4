"""The room stream through Kafka: each room event kind produced on one gateway, stored and
applied by the persister, delivered on both gateways, and replayed after a gateway switch."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.support.client import Client, Socket
from tests.support.cluster import Cluster, send_acked

pytestmark = pytest.mark.cluster


async def submit(sock: Socket, frame: dict[str, Any]) -> dict[str, Any]:
    await sock.ws.send_str(json.dumps(frame))
    return await sock.expect_any(("ack", "error"), client_id=frame["client_id"])


async def test_each_event_kind_crosses_gateways_and_resumes_on_another(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    gw1, gw2 = await cluster.start()
    ana = await Client(http, gw1.url).register()
    bob = await Client(http, gw2.url).register()
    room = (await ana.group("stream", bob))["id"]
    a, b = await ana.connect(), await bob.connect()
    sent = await send_acked(a, room, "hello", "m1")
    assert await b.entries(room, 1) == [sent]

    frames = [
        {
            "type": "edit",
            "room": room,
            "seq": 1,
            "body": f"hello @{bob.username}",
            "client_id": "e",
        },
        {"type": "react", "room": room, "seq": 1, "emoji": "👍", "client_id": "r"},
        {"type": "unreact", "room": room, "seq": 1, "emoji": "👍", "client_id": "u"},
    ]
    acked = [(await submit(a, f))["event"] for f in frames]
    assert [(e["seq"], e["kind"]) for e in acked] == [(2, "edit"), (3, "react"), (4, "unreact")]
    assert acked[0]["mentions"] == [bob.id]
    assert await b.entries(room, 3) == acked
    # Refusals come back through the persister too: nothing changed, forbidden, not found.
    unchanged = await submit(a, {**frames[2], "client_id": "u2"})
    assert unchanged["event"] is None
    forbidden = await submit(b, {**frames[0], "client_id": "e2"})
    assert forbidden["code"] == "forbidden"
    # A retried client_id is acked with the original event, through the other gateway.
    a2 = await ana.connect(ws_url=gw2.ws_url)
    assert (await submit(a2, {**frames[0], "body": "changed"}))["event"] == acked[0]

    # bob drops off gw2; ana deletes, bob comes back on gw1 and resumes from seq 4.
    await b.close()
    deleted = (await submit(a, {"type": "delete", "room": room, "seq": 1, "client_id": "d"}))[
        "event"
    ]
    again = await send_acked(a, room, "after", "m2")
    back = await bob.connect(resume={room: 4}, ws_url=gw1.ws_url)
    assert await back.entries(room, 2) == [deleted, again]
    assert (await back.expect("resumed"))["incomplete"] == []
    page = (await bob.history(room))["messages"]
    assert [(m["seq"], m["deleted"], m["body"]) for m in page] == [
        (1, True, ""),
        (6, False, "after"),
    ]
    # HTTP reactions go through the same path.
    added = await bob.call("PUT", f"/api/rooms/{room}/messages/6/reactions/%F0%9F%8E%89")
    assert added["event"]["seq"] == 7
    seen = await a.entries(room, 7)  # ana's first connection, every entry once, in order
    assert [e["seq"] for e in seen] == list(range(1, 8)) and seen[-1] == added["event"]
