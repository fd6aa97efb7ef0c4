"""Kafka restarted under a steady send load: nothing lost, duplicated or reordered,
and the gateways take sends again soon after the broker is back.

Before the fix, a restart left a gateway's idempotent producer failing with
``OutOfOrderSequenceNumber`` until the process was restarted (issue 10, point 10).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp
import pytest

from tests.cluster.test_failures import check_history, full_history
from tests.support.client import Client, Socket
from tests.support.cluster import Cluster, send
from tests.support.services import service

pytestmark = pytest.mark.cluster

BACK_WITHIN_SECONDS = 10.0


async def test_kafka_restart_under_load_loses_nothing_and_sends_resume(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    cluster.env["PARLEY_ACK_TIMEOUT"] = "5"
    gateways = await cluster.start()
    clients = [await Client(http, gateways[i % 2].url).register() for i in range(4)]
    rooms = [
        (await clients[0].group("load a", *clients[1:]))["id"],
        (await clients[1].group("load b", *clients[:1], *clients[2:]))["id"],
    ]
    sockets = [await c.connect() for c in clients]
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    acked: dict[str, list[dict[str, Any]]] = {room: [] for room in rooms}
    back_at: list[float] = []
    first_ack_after_back: dict[int, float] = {}
    started = asyncio.Event()
    both_back = asyncio.Event()

    async def load(i: int, sock: Socket) -> None:
        """One client: send, retry the same client_id on ``unavailable`` until acked."""
        room = rooms[i % 2]
        n = 0
        while not stop.is_set():
            client_id = f"c{i}-{n}"
            while True:
                sent_at = loop.time()
                frame = await send(sock, room, client_id, client_id, timeout=60)
                if frame["type"] == "ack":
                    break
                assert frame["code"] == "unavailable", frame
                await asyncio.sleep(0.2)  # a client's retry pause
            acked[room].append(frame["message"])
            if back_at and sent_at >= back_at[0]:
                first_ack_after_back.setdefault(i % 2, loop.time())
                if len(first_ack_after_back) == 2:
                    both_back.set()
            if sum(len(a) for a in acked.values()) >= 40:
                started.set()
            n += 1
            await asyncio.sleep(0.05)  # the load's pace: about 20 sends/s per client

    loads = asyncio.gather(*(load(i, s) for i, s in enumerate(sockets)))
    await started.wait()
    await service("restart", "kafka")
    back_at.append(loop.time())
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(both_back.wait(), 30)
    stop.set()
    await loads
    print(
        "acked again after Kafka was back:",
        {f"gw{g + 1}": round(t - back_at[0], 2) for g, t in sorted(first_ack_after_back.items())},
        "acked in all:",
        sum(len(a) for a in acked.values()),
    )
    for gateway in (0, 1):
        assert gateway in first_ack_after_back, f"gateway {gateway + 1} never acked again"
        assert first_ack_after_back[gateway] - back_at[0] <= BACK_WITHIN_SECONDS, (
            gateway,
            first_ack_after_back[gateway] - back_at[0],
        )
    for room in rooms:
        history = await full_history(clients[0], room)
        check_history(history, acked[room])
        assert len(history) == len(acked[room])  # every send acked exactly once
