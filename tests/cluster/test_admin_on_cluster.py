"""Admin actions take effect on the whole cluster: a user disabled through one gateway is
signed out on the other, and a moderation delete made on one reaches members on the other
through Kafka and the persister."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from parley.api.admin import PREFIX
from tests.integration.test_admin import parley_admin
from tests.integration.test_sessions import closed_with, post, still_open
from tests.support.client import Client, unique_name
from tests.support.cluster import Cluster, eventually

pytestmark = pytest.mark.cluster


async def test_a_user_disabled_on_one_gateway_is_signed_out_on_the_other(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    gw1, gw2 = await cluster.start(gateways=2, persisters=1)
    admin = await Client(http, gw1.url).register()
    await asyncio.to_thread(parley_admin, gw1, "grant", admin.username)
    ana, bob = await Client(http, gw2.url).register(), await Client(http, gw2.url).register()
    sock, bystander = await ana.connect(), await bob.connect()

    await admin.call("POST", f"{PREFIX}/users/{ana.id}/disable", expect=200)
    assert await closed_with(sock) == (4401, "session revoked")
    await still_open(bystander)
    await ana.call("GET", "/api/me", expect=401)
    refresh = await post(http, gw2.url + "/api/auth/refresh", {"refresh_token": ana.refresh_token})
    assert refresh.status == 401
    login = {"username": ana.username, "password": ana.password}
    assert (await post(http, gw2.url + "/api/auth/login", login)).status == 403


async def test_a_moderation_delete_on_one_gateway_reaches_members_on_the_other(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    gw1, gw2 = await cluster.start(gateways=2, persisters=1)
    admin = await Client(http, gw1.url).register()
    await asyncio.to_thread(parley_admin, gw1, "grant", admin.username)
    owner, bob = await Client(http, gw2.url).register(), await Client(http, gw2.url).register()
    room = (await owner.group(unique_name("mod"), bob))["id"]
    watching = await owner.connect()
    await bob.call("POST", f"/api/rooms/{room}/messages", {"body": "spam"}, expect=201)
    assert (await watching.entries(room, 1))[0]["body"] == "spam"

    deleted = await admin.call("DELETE", f"{PREFIX}/rooms/{room}/messages/1", expect=200)
    assert deleted["event"]["kind"] == "delete" and deleted["event"]["target"] == 1
    assert (await watching.entries(room, 1))[0] == deleted["event"]
    assert (await bob.history(room))["messages"][0]["deleted"] is True


async def test_the_overview_served_by_one_gateway_lists_every_gateway(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    gw1, gw2 = await cluster.start(gateways=2, persisters=1)
    admin = await Client(http, gw1.url).register()
    await asyncio.to_thread(parley_admin, gw1, "grant", admin.username)
    ana = await Client(http, gw2.url).register()
    sock = await ana.connect()

    async def both() -> bool:
        overview = await admin.call("GET", f"{PREFIX}/overview")
        by_connections = sorted(g["connections"] for g in overview["gateways"])
        return (
            overview["totals"]["gateways"] == 2
            and by_connections == [0, 1]
            and len(overview["persisters"]) == 1
        )

    await eventually(both, what="both gateways, the socket on the second, in the overview")
    room = (await ana.group(unique_name("lag")))["id"]
    await ana.call("POST", f"/api/rooms/{room}/messages", {"body": "stored"}, expect=201)

    async def caught_up() -> bool:
        overview = await admin.call("GET", f"{PREFIX}/overview")
        [worker] = overview["persisters"]
        stored = sum(g["messages_stored"] for g in overview["gateways"])
        return bool(stored >= 1 and worker["lag"] == 0 and worker["dead_letters"] == 0)

    await eventually(caught_up, what="the stored message and a persister with no lag")
    await sock.close()
