"""Profiles across gateways: "last seen" is stored when a user's last connection closes,
whichever gateway held it, and a new display name reaches room mates on the other gateway."""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.client import Client
from tests.support.cluster import Cluster

pytestmark = pytest.mark.cluster


async def test_last_seen_when_the_last_connection_on_either_gateway_closes(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    gw1, gw2 = await cluster.start()
    ana = await Client(http, gw1.url).register()
    bob = await Client(http, gw2.url).register()
    await ana.direct(bob)
    a = await ana.connect()
    on_gw2 = await bob.connect()
    on_gw1 = await bob.connect(ws_url=gw1.ws_url)
    await a.expect("presence", status="online")

    renamed = await bob.call("PATCH", "/api/me", {"display_name": "Bob on two"})
    assert (await a.expect("user_updated"))["user"] == renamed  # published on gw2, heard on gw1
    assert (await on_gw1.expect("user_updated"))["user"] == renamed  # his own other tab

    await on_gw2.close()
    seen = await ana.call("GET", f"/api/users/{bob.id}")
    assert (seen["online"], seen["last_seen"]) == (True, None)  # still connected on gw1
    await on_gw1.close()
    offline = await a.expect("presence", status="offline")
    assert offline["last_seen"]
    for gateway in (gw1, gw2):
        ana.base_url = gateway.url  # the same session, asked through each gateway
        seen = await ana.call("GET", f"/api/users/{bob.id}")
        assert (seen["online"], seen["last_seen"]) == (False, offline["last_seen"])
