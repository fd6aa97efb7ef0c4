"""Sessions under attack, over real HTTP: sign-in limits, refresh races.

The tests on the shared ``server`` run again on PostgreSQL (``tests/cluster/
test_core_on_postgres.py``); the cluster-wide limits are in ``tests/cluster``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from tests.conftest import UserFactory
from tests.support.client import PASSWORD, unique_name
from tests.support.server import ServerProcess


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def code(self) -> str | None:
        return (
            self.body["error"]["code"]
            if isinstance(self.body, dict) and "error" in self.body
            else None
        )


async def post(
    http: aiohttp.ClientSession,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    data = None if body is None else orjson.dumps(body)
    async with http.post(url, data=data, headers=headers) as response:
        raw = await response.read()
        return Answer(response.status, orjson.loads(raw) if raw else None, dict(response.headers))


async def wrong_logins(
    http: aiohttp.ClientSession,
    url: str,
    username: str,
    count: int,
    headers: dict[str, str] | None = None,
) -> list[Answer]:
    body = {"username": username, "password": "not the password"}
    return await asyncio.gather(
        *(post(http, url + "/api/auth/login", body, headers) for _ in range(count))
    )


def outcomes(answers: list[Answer]) -> list[tuple[int, str | None]]:
    return sorted((a.status, a.code) for a in answers)


FIVE_OF_TWELVE = [(401, "invalid_credentials")] * 5 + [(429, "rate_limited")] * 7


# Sign-in limits


async def test_concurrent_wrong_logins_are_held_to_the_limit(
    http: aiohttp.ClientSession, server: ServerProcess, new_user: UserFactory
) -> None:
    """Each guess is counted before its hash: twelve at once get five checks, not twelve."""
    ana = await new_user()
    answers = await wrong_logins(http, server.url, ana.username, 12)
    assert outcomes(answers) == FIVE_OF_TWELVE
    for refused in (a for a in answers if a.status == 429):
        assert 1 <= int(refused.headers["Retry-After"]) <= 300
    right = {"username": ana.username, "password": ana.password}
    assert (await post(http, server.url + "/api/auth/login", right)).status == 429


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(
    http: aiohttp.ClientSession, server: ServerProcess, new_user: UserFactory
) -> None:
    ana = await new_user()
    for i in range(5):
        spoofed = {"X-Forwarded-For": f"203.0.113.{i}"}
        [answer] = await wrong_logins(http, server.url, ana.username, 1, spoofed)
        assert answer.status == 401
    [answer] = await wrong_logins(
        http, server.url, ana.username, 1, {"X-Forwarded-For": "198.51.100.9"}
    )
    assert (answer.status, answer.code) == (429, "rate_limited")


async def test_a_trusted_proxy_names_the_client(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with ServerProcess(
        tmp_path / "server", env={"PARLEY_TRUSTED_PROXIES": "127.0.0.0/8"}
    ) as server:
        anon = await post(
            http,
            server.url + "/api/auth/register",
            {"username": (name := unique_name()), "password": PASSWORD},
        )
        assert anon.status == 201
        client = {"X-Forwarded-For": "203.0.113.7"}
        assert outcomes(await wrong_logins(http, server.url, name, 12, client)) == FIVE_OF_TWELVE
        # Another client behind the same proxy is not locked out of the account...
        [other] = await wrong_logins(http, server.url, name, 1, {"X-Forwarded-For": "203.0.113.8"})
        assert other.status == 401
        # ...and a client cannot escape its own lock by prepending addresses.
        prepended = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
        [same] = await wrong_logins(http, server.url, name, 1, prepended)
        assert same.status == 429


async def test_sign_ups_are_limited_per_address(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with ServerProcess(tmp_path / "server", env={"PARLEY_AUTH_ADDRESS_LIMIT": "3"}) as server:
        answers = await asyncio.gather(
            *(
                post(
                    http,
                    server.url + "/api/auth/register",
                    {"username": unique_name(), "password": PASSWORD},
                )
                for _ in range(5)
            )
        )
        assert outcomes(answers) == [(201, None)] * 3 + [(429, "rate_limited")] * 2
        assert all(1 <= int(a.headers["Retry-After"]) <= 60 for a in answers if a.status == 429)


# Refresh races


async def test_a_double_submit_gets_one_successor(
    http: aiohttp.ClientSession, server: ServerProcess, new_user: UserFactory
) -> None:
    """Two tabs refreshing with the same token at once: both get the same new token."""
    ana = await new_user()
    url = server.url + "/api/auth/refresh"
    answers = await asyncio.gather(
        *(post(http, url, {"refresh_token": ana.refresh_token}) for _ in range(4))
    )
    assert [a.status for a in answers] == [200] * 4
    successors = {a.body["refresh_token"] for a in answers}
    assert len(successors) == 1 and ana.refresh_token not in successors
    [successor] = successors
    later = await post(http, url, {"refresh_token": successor})
    assert later.status == 200
    # The successor has moved on: the first token coming back is theft, and ends the session.
    theft = await post(http, url, {"refresh_token": ana.refresh_token})
    assert (theft.status, theft.code) == (401, "unauthorized")
    after = await post(http, url, {"refresh_token": later.body["refresh_token"]})
    assert after.status == 401


async def test_concurrent_reuse_leaves_no_live_token(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """With no grace, all but one concurrent refresh are reuses: nothing of the family lives."""
    async with ServerProcess(tmp_path / "server", env={"PARLEY_REFRESH_GRACE": "0"}) as server:
        await assert_no_token_survives_a_reuse(http, server.url)


async def assert_no_token_survives_a_reuse(http: aiohttp.ClientSession, *urls: str) -> None:
    """Concurrent refreshes of one token (spread over ``urls``), a few rounds."""
    for _ in range(5):
        body = {"username": unique_name(), "password": PASSWORD}
        session = (await post(http, urls[0] + "/api/auth/register", body)).body
        token = session["refresh_token"]
        answers = await asyncio.gather(
            *(
                post(http, urls[i % len(urls)] + "/api/auth/refresh", {"refresh_token": token})
                for i in range(6)
            )
        )
        won = [a for a in answers if a.status == 200]
        assert len(won) == 1 and all(a.status == 401 for a in answers if a.status != 200)
        late = await post(
            http, urls[0] + "/api/auth/refresh", {"refresh_token": won[0].body["refresh_token"]}
        )
        assert (late.status, late.code) == (401, "unauthorized")
