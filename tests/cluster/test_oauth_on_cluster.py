"""A provider sign-in started on one gateway finishes on another.

Nothing of a flow is kept by the gateway that started it: the flow cookie is
sealed with the key every gateway shares, and the state is claimed once in
Redis, so the second gateway accepts the callback and a replay is refused on
any gateway. The requests go straight to each gateway; ``PARLEY_PUBLIC_URL``
stands for the load balancer in front of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest
from yarl import URL

from tests.support.client import unique_name
from tests.support.cluster import Cluster
from tests.support.oidc import (
    PROVIDER_NAME,
    OidcProvider,
    fragment,
    server_env,
    through_provider,
)
from tests.support.server import ServerProcess, free_port

pytestmark = pytest.mark.cluster


def on(gateway: ServerProcess, url: str) -> str:
    """``url`` (at the load balancer's address) sent to ``gateway`` instead."""
    return urlunsplit(urlsplit(url)._replace(netloc=urlsplit(gateway.url).netloc))


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield http


async def sign_in(
    http: aiohttp.ClientSession, start_on: ServerProcess, finish_on: ServerProcess, login: str
) -> tuple[str, str, dict[str, str]]:
    """The callback URL, the flow cookie, and where the second gateway sent the browser."""
    url = f"{start_on.url}/api/auth/oauth/{PROVIDER_NAME}/start"
    async with http.get(url, allow_redirects=False) as response:
        assert response.status == 302
        authorization = response.headers["Location"]
    flow_cookie = next(c.value for c in http.cookie_jar if c.key == "parley_oauth")
    callback = await through_provider(http, authorization, login)
    async with http.get(on(finish_on, callback), allow_redirects=False) as response:
        assert response.status == 302
        return callback, flow_cookie, fragment(response.headers["Location"])


async def session_user(http: aiohttp.ClientSession, gateway: ServerProcess) -> dict[str, str]:
    async with http.post(
        gateway.url + "/api/auth/refresh", json={}, headers={"X-Parley-Session": "cookie"}
    ) as response:
        assert response.status == 200, await response.text()
        user: dict[str, str] = (await response.json())["user"]
        return user


async def test_a_flow_started_on_one_gateway_finishes_on_the_other(
    cluster: Cluster, oidc_provider: OidcProvider, browser: aiohttp.ClientSession
) -> None:
    env = await server_env(oidc_provider, f"http://127.0.0.1:{free_port()}")
    gw1, gw2 = await asyncio.gather(cluster.gateway(**env), cluster.gateway(**env))
    login = unique_name("ana")

    _, _, outcome = await sign_in(browser, gw1, gw2, login)
    assert outcome == {"oauth": "signed_in", "provider": PROVIDER_NAME}
    user = await session_user(browser, gw1)
    assert user["username"] == login

    # The way back the other way round finds the same user.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
        again, flow_cookie, outcome = await sign_in(other, gw2, gw1, login)
        assert outcome["oauth"] == "signed_in"
        assert await session_user(other, gw2) == user

    # A copy of that flow cookie and answer, replayed on either gateway: the state is spent.
    for gateway in (gw1, gw2):
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as thief:
            thief.cookie_jar.update_cookies({"parley_oauth": flow_cookie}, URL(gateway.url))
            async with thief.get(on(gateway, again), allow_redirects=False) as response:
                assert fragment(response.headers["Location"])["oauth_error"] == "state_used"
