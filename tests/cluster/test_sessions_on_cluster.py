"""Sign-in limits and refresh rotation hold for the whole cluster, not per gateway.

Two gateways share their attempt counters through Redis and their refresh
tokens through PostgreSQL, and a session ended on one closes its sockets on
both (through the bus); behind nginx the lockout follows the client's
address (from a trusted proxy's X-Forwarded-For), not nginx's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.integration.test_sessions import (
    FIVE_OF_TWELVE,
    Answer,
    assert_no_token_survives_a_reuse,
    closed_with,
    outcomes,
    post,
    still_open,
)
from tests.support.client import PASSWORD, Client, unique_name
from tests.support.cluster import Cluster, Nginx
from tests.support.server import ServerProcess

pytestmark = pytest.mark.cluster


async def two_gateways(cluster: Cluster, **extra: str) -> tuple[ServerProcess, ServerProcess]:
    gw1, gw2 = await asyncio.gather(cluster.gateway(**extra), cluster.gateway(**extra))
    return gw1, gw2


async def register(http: aiohttp.ClientSession, url: str) -> str:
    name = unique_name()
    answer = await post(http, url + "/api/auth/register", {"username": name, "password": PASSWORD})
    assert answer.status == 201, answer
    return name


async def guesses(
    http: aiohttp.ClientSession, urls: list[str], username: str, count: int
) -> list[Answer]:
    body = {"username": username, "password": "not the password"}
    return await asyncio.gather(
        *(post(http, urls[i % len(urls)] + "/api/auth/login", body) for i in range(count))
    )


@pytest.fixture
async def from_127_0_0_2() -> AsyncIterator[aiohttp.ClientSession]:
    """A client whose address is not the proxy's (all of 127/8 is loopback on Linux)."""
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(connector=connector) as http:
        yield http


async def test_concurrent_guesses_over_two_gateways_share_one_limit(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    gw1, gw2 = await two_gateways(cluster)
    name = await register(http, gw1.url)
    answers = await guesses(http, [gw1.url, gw2.url], name, 12)
    assert outcomes(answers) == FIVE_OF_TWELVE


async def test_behind_nginx_the_lockout_follows_the_client_not_the_proxy(
    cluster: Cluster,
    http: aiohttp.ClientSession,
    from_127_0_0_2: aiohttp.ClientSession,
) -> None:
    gw1, gw2 = await two_gateways(cluster, PARLEY_TRUSTED_PROXIES="127.0.0.1")
    nginx = Nginx(cluster.root / "nginx", [gw1.port, gw2.port])
    await nginx.start()
    try:
        name = await register(http, nginx.url)
        # 127.0.0.2 guesses through nginx, which spreads the guesses over both gateways.
        assert outcomes(await guesses(from_127_0_0_2, [nginx.url], name, 12)) == FIVE_OF_TWELVE
        spoofed = await post(
            from_127_0_0_2,
            nginx.url + "/api/auth/login",
            {"username": name, "password": PASSWORD},
            {"X-Forwarded-For": "203.0.113.50"},
        )
        assert spoofed.status == 429  # its own address, whatever it claims
        # Everybody else behind the same nginx can still sign in to the account.
        mine = await post(
            http, nginx.url + "/api/auth/login", {"username": name, "password": PASSWORD}
        )
        assert mine.status == 200
    finally:
        await nginx.stop()


async def test_a_reuse_race_over_two_gateways_leaves_no_live_token(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    gw1, gw2 = await two_gateways(cluster, PARLEY_REFRESH_GRACE="0")
    await assert_no_token_survives_a_reuse(http, gw1.url, gw2.url)


async def test_a_double_submit_over_two_gateways_gets_one_successor(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    gw1, gw2 = await two_gateways(cluster)
    body = {"username": unique_name(), "password": PASSWORD}
    token = (await post(http, gw1.url + "/api/auth/register", body)).body["refresh_token"]
    answers = await asyncio.gather(
        *(
            post(http, url + "/api/auth/refresh", {"refresh_token": token})
            for url in (gw1.url, gw2.url, gw1.url, gw2.url)
        )
    )
    assert [a.status for a in answers] == [200] * 4
    assert len({a.body["refresh_token"] for a in answers}) == 1


async def test_a_session_revoked_on_one_gateway_closes_its_sockets_on_the_other(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    gw1, gw2 = await two_gateways(cluster)
    ana = await Client(http, gw1.url).register()
    again = await post(
        http, gw1.url + "/api/auth/login", {"username": ana.username, "password": PASSWORD}
    )
    other = again.body["access_token"]
    there, here = await ana.connect(ws_url=gw2.ws_url), await ana.connect(ws_url=gw1.ws_url)
    kept = await Client(http, gw2.url).connect_with(other)
    await ana.call("POST", "/api/auth/logout", {"refresh_token": ana.refresh_token}, expect=204)
    assert await closed_with(there) == (4401, "session revoked")
    assert await closed_with(here) == (4401, "session revoked")
    await still_open(kept)
    # Sign out everywhere, asked on gateway 2, reaches the other session's socket too.
    signed_out = await post(
        http, gw2.url + "/api/auth/logout-all", None, {"Authorization": f"Bearer {other}"}
    )
    assert signed_out.status == 204
    assert await closed_with(kept) == (4401, "session revoked")
