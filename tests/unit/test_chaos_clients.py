"""The chaos test's clients stop when told and a client that dies fails the run at once.

Both once kept ``tests/cluster/test_chaos.py`` waiting for its 30-minute timeout: a run
that failed mid-way stopped its clients, and one whose send was in flight swallowed its
cancellation; a client whose connection task died sat out the rest of the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import aiohttp
import pytest
from aiohttp import web
from bench.api import BenchUser

from tests.support.chaos import PROFILES, STOP_SECONDS, ChaosClient, ChaosRun
from tests.support.cluster import eventually
from tests.support.supervised import SupervisedCluster

ROOM = "7"


@asynccontextmanager
async def gateway_that_never_acks() -> AsyncIterator[str]:
    """A WebSocket that answers ``auth`` with ``ready`` and then leaves every send unanswered."""

    async def ws_handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.receive()
        await ws.send_json({"type": "ready"})
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/ws", ws_handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        await runner.cleanup()


def client(http: aiohttp.ClientSession, url: str) -> ChaosClient:
    return ChaosClient(BenchUser(0, "1", "ana", "token", [ROOM]), http, [url], 0)


async def test_a_client_stopped_with_a_send_in_flight_stops() -> None:
    async with gateway_that_never_acks() as url, aiohttp.ClientSession() as http:
        ana = client(http, url)
        ana.start(rate=0.001)  # writes only what the test writes
        send = ana.write(ROOM)

        async def in_flight() -> bool:
            return send.attempts == 1

        await eventually(in_flight, 10, "the send to be in flight")
        await asyncio.wait_for(ana.stop(), STOP_SECONDS + 5)
        assert all(task.done() for task in ana.tasks)
        assert ana.ws is None


async def test_a_client_task_that_dies_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    async def dies() -> None:
        raise ValueError("boom")

    async with gateway_that_never_acks() as url, aiohttp.ClientSession() as http:
        run = ChaosRun(cast(SupervisedCluster, None), PROFILES["short"])
        ana = client(http, url)
        monkeypatch.setattr(ana, "_connection", dies)
        run.clients = [ana]
        ana.start(rate=0.001)
        forever: dict[str, list[dict[str, Any]]] = {}
        try:
            with pytest.raises(RuntimeError, match="'ana connection' died") as failed:
                await asyncio.wait_for(run.watched(asyncio.sleep(3600, forever)), 10)
            assert isinstance(failed.value.__cause__, ValueError)
            assert "connection: ended, ValueError('boom')" in run.states()
        finally:
            await ana.stop()
