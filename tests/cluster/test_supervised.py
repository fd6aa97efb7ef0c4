"""``make cluster`` under its supervisor: a killed process comes back and serves; Ctrl-C stops all.

The cluster is ``scripts/cluster`` itself (two gateways, a persister and nginx under
supervisord), on this test's database, topic and consumer group. Kills are SIGKILL,
as a crash or the OOM killer would end a process: no chance to clean up.
"""

from __future__ import annotations

import asyncio
import secrets

import aiohttp
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from tests.support.client import Client
from tests.support.cluster import send_acked, wait_ready
from tests.support.supervised import SupervisedCluster, alive, ephemeral_low

pytestmark = pytest.mark.cluster

COMEBACK_TIMEOUT = 30.0
"""A gateway process starts in 1-3 s when the machine is idle; CI machines are busy."""


async def test_the_cluster_listens_below_the_ephemeral_port_range() -> None:
    """A client reconnecting to a restarting gateway cannot be handed the gateway's port
    as its own source port, connect to itself and keep the new process from binding it."""
    made = SupervisedCluster({}, gateways=3, persisters=1)
    try:
        first = made.gateway_ports[0]
        assert made.gateway_ports == [first, first + 1, first + 2]
        assert max(*made.gateway_ports, made.port) < ephemeral_low()
        assert made.port not in made.gateway_ports
    finally:
        await made.close()


async def test_a_killed_gateway_is_restarted_and_serves_again(
    supervised: SupervisedCluster,
) -> None:
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as http:
        ana = await Client(http, supervised.url).register()
        bob = await Client(http, supervised.url).register()
        room = (await ana.group("supervised", bob))["id"]

        killed = await supervised.kill("gateway1")
        t0 = loop.time()
        await supervised.restarted("gateway1", killed, COMEBACK_TIMEOUT)
        await wait_ready(supervised.gateway_url(1), COMEBACK_TIMEOUT)
        print(f"gateway1 ready again {loop.time() - t0:.1f} s after SIGKILL")

        # Serving: a send through the restarted gateway reaches a member on the other.
        on_new = await ana.connect(ws_url=supervised.gateway_url(1).replace("http", "ws") + "/ws")
        on_other = await bob.connect(ws_url=supervised.gateway_url(2).replace("http", "ws") + "/ws")
        sent = await send_acked(on_new, room, "back again", secrets.token_hex(8))
        [received] = await on_other.messages(room, 1)
        assert received["seq"] == sent["seq"] and received["body"] == "back again"
        await on_new.close()
        await on_other.close()

    # One log per process, kept across restarts: both lives of gateway1 are in it.
    assert supervised.log("gateway1").count("Parley listening on") == 2
    assert supervised.log("gateway2").count("Parley listening on") == 1


async def test_a_killed_persister_is_restarted_and_ctrl_c_stops_everything(
    supervised: SupervisedCluster,
) -> None:
    async with aiohttp.ClientSession() as http:
        ana = await Client(http, supervised.url).register()
        room = (await ana.group("persisted", ana))["id"]
        sock = await ana.connect(ws_url=supervised.url.replace("http", "ws") + "/ws")
        first = await send_acked(sock, room, "before", secrets.token_hex(8))

        killed = await supervised.kill("persister1")
        await supervised.restarted("persister1", killed, COMEBACK_TIMEOUT)
        # Acks resume once the new worker has joined the group (after the killed
        # member's session times out); the client retries with the same client_id.
        second = await send_acked(sock, room, "after", secrets.token_hex(8))
        assert second["seq"] == first["seq"] + 1
        await sock.close()
    # A static member (PARLEY_PERSISTER_ID): the restarted process replaced the killed
    # one in the group, under its name, rather than joining beside it as a new member.
    assert await group_members(supervised) == ["persister1"]

    pids = await supervised.pids()
    assert sorted(pids) == ["gateway1", "gateway2", "nginx", "notify1", "persister1"]
    signals = supervised.signals
    assert await supervised.stop() == 130, signals  # the exit status of a shell stopped by Ctrl-C
    assert [name for name, pid in pids.items() if alive(pid)] == []
    for url in (supervised.url, supervised.gateway_url(1), supervised.gateway_url(2)):
        host, port = url.removeprefix("http://").split(":")
        with pytest.raises(OSError):
            await asyncio.open_connection(host, int(port))


async def group_members(cluster: SupervisedCluster) -> list[str]:
    """The consumer group's members by name: Kafka prefixes a static member's id with it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.env["PARLEY_KAFKA_BOOTSTRAP"])
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([cluster.env["PARLEY_KAFKA_GROUP"]])
    finally:
        await admin.close()
    [group] = response.to_object()["groups"]
    return sorted(m["member_id"].rsplit("-", 5)[0] for m in group["members"])
