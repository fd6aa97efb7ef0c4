"""Sessions under attack, over real HTTP: refresh races.

The tests on the shared ``server`` run again on PostgreSQL (``tests/cluster/
test_core_on_postgres.py``).
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
