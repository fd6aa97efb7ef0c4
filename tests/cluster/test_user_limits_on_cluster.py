"""One user, two gateways, one budget: the per-user limits are counted in Redis.

The counters are keyed by user id in the Redis every cluster test shares, while
each test's database numbers its users from 1 again, so a test of the budgets
first clears the counters of its own users.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp
import pytest
import redis.asyncio as aioredis

from parley.ratelimit.redis import PREFIX
from parley.ratelimit.users import Action
from tests.integration.test_user_limits import answered, refusals_are_rate_limited_with_a_hint
from tests.support.client import Client
from tests.support.cluster import Cluster
from tests.support.services import Services

pytestmark = pytest.mark.cluster

BUDGETS = {
    "PARLEY_SEND_RATE": "0.5",
    "PARLEY_SEND_BURST": "20",
    "PARLEY_ROOM_CREATE_LIMIT": "6",
    "PARLEY_MEMBER_ADD_LIMIT": "6",
}


async def clear_counters(services: Services, *users: Client) -> None:
    client = aioredis.Redis.from_url(services.redis_url)
    try:
        await client.delete(
            *(f"{PREFIX}user|{action.value}|{u.id}" for u in users for action in Action)
        )
    finally:
        await client.aclose()


async def test_two_gateways_share_one_users_budget(
    cluster: Cluster, http: aiohttp.ClientSession, services: Services
) -> None:
    gw1, gw2, _ = await asyncio.gather(
        cluster.gateway(**BUDGETS), cluster.gateway(**BUDGETS), cluster.persister()
    )
    ana = await Client(http, gw1.url).register()
    bob = await Client(http, gw2.url).register()
    await clear_counters(services, ana, bob)
    on = {gw1.url: ana, gw2.url: Client(http, gw2.url)}
    on[gw2.url].access_token, on[gw2.url].user = ana.access_token, ana.user

    rooms = await asyncio.gather(
        *(
            answered(
                on[(gw1.url, gw2.url)[i % 2]],
                "POST",
                "/api/rooms",
                {"kind": "group", "name": f"g{i}", "members": [bob.username]},
            )
            for i in range(8)
        )
    )
    assert Counter(status for status, _, _ in rooms) == {201: 6, 429: 2}
    refusals_are_rate_limited_with_a_hint(rooms)
    room = next(body["id"] for status, body, _ in rooms if status == 201)

    sends = await asyncio.gather(
        *(
            answered(
                on[(gw1.url, gw2.url)[i % 2]],
                "POST",
                f"/api/rooms/{room}/messages",
                {"body": f"m{i}", "client_id": f"c{i}"},
            )
            for i in range(26)
        )
    )
    assert Counter(status for status, _, _ in sends) == {201: 20, 429: 6}
    refusals_are_rate_limited_with_a_hint(sends)

    # The socket path spends the same budget: none is left for a send on either gateway.
    sock = await ana.connect(ws_url=gw2.ws_url)
    await sock.send({"type": "send", "room": room, "body": "one more", "client_id": "s1"})
    refused = await sock.settled("s1")
    assert (refused["type"], refused["code"]) == ("error", "rate_limited")
    assert 0 < refused["retry_after"] <= 40
