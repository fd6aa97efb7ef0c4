"""Search in cluster mode: messages and edits stored by the persister (the asyncpg fast path
and the Core path) are found through either gateway, and a member who leaves stops finding
the room's messages at once."""

from __future__ import annotations

import json
import secrets
from typing import Any

import aiohttp
import pytest

from tests.support.client import Client
from tests.support.cluster import Cluster, send_acked

pytestmark = pytest.mark.cluster


async def found(client: Client, q: str) -> list[str]:
    page: dict[str, Any] = await client.call("GET", f"/api/search?q={q}")
    return [r["message"]["body"] for r in page["results"]]


async def test_search_follows_the_persister_on_both_gateways(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    gw1, gw2 = await cluster.start()
    ana = await Client(http, gw1.url).register()
    bob = await Client(http, gw2.url).register()
    room = (await ana.group("cluster search", bob))["id"]
    word, fresh = "zq" + secrets.token_hex(5), "zq" + secrets.token_hex(5)
    a = await ana.connect()
    await send_acked(a, room, f"plain {word}", "m1")  # the fast path
    await send_acked(a, room, f"@{bob.username} {word} again", "m2")  # a mention: Core path
    assert await found(bob, word) == [f"@{bob.username} {word} again", f"plain {word}"]
    await a.ws.send_str(
        json.dumps({"type": "edit", "room": room, "seq": 1, "body": fresh, "client_id": "e"})
    )
    await a.expect_any(("ack",), client_id="e")
    assert await found(bob, fresh) == [fresh]
    assert await found(bob, word) == [f"@{bob.username} {word} again"]
    await bob.call("DELETE", f"/api/rooms/{room}/members/me", expect=204)
    assert await found(bob, fresh) == []
    assert await found(ana, fresh) == [fresh]
