"""Per-user limits (``ratelimit/users.py``) over real sockets and HTTP, with the defaults.

Sends: 30 in any 3 s (``PARLEY_SEND_BURST`` over ``PARLEY_SEND_RATE``); rooms
created: 10 a minute; members added: 30 a minute. A refusal is ``rate_limited``
with a retry hint: ``retry_after`` on the socket, ``Retry-After`` over HTTP.
The budgets shared by two gateways are in ``tests/cluster/test_user_limits_on_cluster.py``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import aiohttp
import orjson

from tests.conftest import UserFactory
from tests.support.client import Client

SEND_BUDGET = 30
ROOM_BUDGET = 10
MEMBER_BUDGET = 30


async def answered(client: Client, method: str, path: str, body: Any) -> tuple[int, Any, str]:
    """Status, body and Retry-After of one request, whatever the status."""
    async with client.http.request(
        method,
        client.base_url + path,
        data=orjson.dumps(body),
        headers={"Authorization": f"Bearer {client.access_token}"},
    ) as response:
        return response.status, await response.json(), response.headers.get("Retry-After", "")


def refusals_are_rate_limited_with_a_hint(answers: list[tuple[int, Any, str]]) -> None:
    for status, body, retry_after in answers:
        if status == 429:
            assert body["error"]["code"] == "rate_limited"
            assert 1 <= int(retry_after) <= 60


async def test_sends_over_the_budget_on_a_socket_are_refused_with_a_retry_hint(
    new_user: UserFactory,
) -> None:
    ana = await new_user()
    room = (await ana.group("busy"))["id"]
    one, two = await ana.connect(), await ana.connect()  # one budget for both connections
    for i in range(SEND_BUDGET + 10):
        sock = (one, two)[i % 2]
        await sock.send({"type": "send", "room": room, "body": f"m{i}", "client_id": f"c{i}"})
    settled = [await (one, two)[i % 2].settled(f"c{i}") for i in range(SEND_BUDGET + 10)]
    outcomes = Counter(frame["type"] for frame in settled)
    refused = [frame for frame in settled if frame["type"] == "error"]
    assert outcomes == {"ack": SEND_BUDGET, "error": 10}
    for frame in refused:
        assert frame["code"] == "rate_limited" and 0 < frame["retry_after"] <= 3


async def test_http_sends_share_the_budget_and_answer_429_with_retry_after(
    new_user: UserFactory,
) -> None:
    ana = await new_user()
    room = (await ana.group("busy"))["id"]
    answers = await asyncio.gather(
        *(
            answered(ana, "POST", f"/api/rooms/{room}/messages", {"body": f"m{i}"})
            for i in range(SEND_BUDGET + 5)
        )
    )
    assert Counter(status for status, _, _ in answers) == {201: SEND_BUDGET, 429: 5}
    refusals_are_rate_limited_with_a_hint(answers)


async def test_a_burst_of_member_adds_is_refused_beyond_the_budget(
    http: aiohttp.ClientSession, new_user: UserFactory
) -> None:
    ana = await new_user()
    others = await asyncio.gather(*(new_user() for _ in range(60)))
    room = (await ana.group("crowd"))["id"]
    answers = await asyncio.gather(
        *(
            answered(ana, "POST", f"/api/rooms/{room}/members", {"username": o.username})
            for o in others
        )
    )
    assert Counter(status for status, _, _ in answers) == {201: MEMBER_BUDGET, 429: 30}
    refusals_are_rate_limited_with_a_hint(answers)
    members = (await ana.call("GET", f"/api/rooms/{room}"))["members"]
    assert len(members) == 1 + MEMBER_BUDGET


async def test_room_creation_is_limited_per_user(new_user: UserFactory) -> None:
    ana, bob = await new_user(), await new_user()
    body = {"kind": "group", "name": "again", "members": [bob.username]}
    answers = await asyncio.gather(
        *(answered(ana, "POST", "/api/rooms", body) for _ in range(ROOM_BUDGET + 2))
    )
    assert Counter(status for status, _, _ in answers) == {201: ROOM_BUDGET, 429: 2}
    refusals_are_rate_limited_with_a_hint(answers)
    await bob.group("bob's own")  # another user's budget
