"""Populating a Parley server through its public HTTP API: users, then rooms."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.common import log

PASSWORD = "bench-password-123"


@dataclass
class BenchUser:
    index: int
    id: str
    username: str
    token: str
    rooms: list[str] = field(default_factory=list)


class ApiError(RuntimeError):
    pass


async def _post(
    http: aiohttp.ClientSession, url: str, body: dict[str, Any], token: str | None = None
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for attempt in range(5):
        try:
            async with http.post(url, json=body, headers=headers) as r:
                text = await r.text()
                if r.status >= 400:
                    raise ApiError(f"POST {url} -> {r.status} {text[:500]}")
                return json.loads(text)
        except (TimeoutError, aiohttp.ClientConnectionError):
            if attempt == 4:
                raise
            await asyncio.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


async def register_users(
    base: str, count: int, prefix: str | None = None, concurrency: int = 32
) -> list[BenchUser]:
    """Register ``count`` users through POST /api/auth/register."""
    prefix = prefix or "b" + secrets.token_hex(3)
    users: list[BenchUser | None] = [None] * count
    sem = asyncio.Semaphore(concurrency)
    t0 = time.monotonic()
    done = 0
    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn) as http:

        async def one(i: int) -> None:
            nonlocal done
            async with sem:
                name = f"{prefix}_{i}"
                data = await _post(
                    http,
                    base + "/api/auth/register",
                    {"username": name, "password": PASSWORD},
                )
                users[i] = BenchUser(i, data["user"]["id"], name, data["access_token"])
                done += 1
                if done % 1000 == 0:
                    log(f"registered {done}/{count} users")

        await asyncio.gather(*(one(i) for i in range(count)))
    log(f"registered {count} users in {time.monotonic() - t0:.1f}s")
    return [u for u in users if u is not None]


async def create_rooms(
    base: str,
    users: list[BenchUser],
    groups: list[list[int]],
    directs: list[tuple[int, int]],
    concurrency: int = 16,
) -> list[str]:
    """Create group rooms (member index lists, first is the creator) and direct rooms.

    Returns the room ids in order: groups first, then directs. Each user's ``rooms``
    list is filled in.
    """
    ids: list[str] = [""] * (len(groups) + len(directs))
    sem = asyncio.Semaphore(concurrency)
    t0 = time.monotonic()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def group(k: int, members: list[int]) -> None:
            async with sem:
                creator = users[members[0]]
                first = members[1:1000]
                room = await _post(
                    http,
                    base + "/api/rooms",
                    {
                        "kind": "group",
                        "name": f"bench {k}",
                        "members": [users[m].username for m in first],
                    },
                    creator.token,
                )
                for m in members[1000:]:  # the API caps a new group's list at 1000
                    await _post(
                        http,
                        f"{base}/api/rooms/{room['id']}/members",
                        {"username": users[m].username},
                        creator.token,
                    )
                ids[k] = room["id"]

        async def direct(k: int, pair: tuple[int, int]) -> None:
            async with sem:
                a, b = pair
                room = await _post(
                    http,
                    base + "/api/rooms",
                    {"kind": "direct", "members": [users[b].username]},
                    users[a].token,
                )
                ids[len(groups) + k] = room["id"]

        await asyncio.gather(
            *(group(k, m) for k, m in enumerate(groups)),
            *(direct(k, p) for k, p in enumerate(directs)),
        )
    for k, members in enumerate(groups):
        for m in members:
            users[m].rooms.append(ids[k])
    for k, (a, b) in enumerate(directs):
        rid = ids[len(groups) + k]
        for m in (a, b):
            if rid not in users[m].rooms:
                users[m].rooms.append(rid)
    log(
        f"created {len(groups)} groups and {len(directs)} direct rooms in {time.monotonic() - t0:.1f}s"
    )
    return ids


async def email_immediately(base: str, users: list[BenchUser], concurrency: int = 32) -> None:
    """Turn each user's e-mail notifications on, "immediately", to ``USERNAME@example.com``."""
    sem = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def one(user: BenchUser) -> None:
            async with sem:
                body = {"email": f"{user.username}@example.com", "email_mode": "immediately"}
                headers = {"Authorization": f"Bearer {user.token}"}
                url = base + "/api/me/notification-settings"
                async with http.put(url, json=body, headers=headers) as r:
                    if r.status >= 400:
                        raise ApiError(f"PUT {url} -> {r.status} {(await r.text())[:500]}")

        await asyncio.gather(*(one(u) for u in users))
