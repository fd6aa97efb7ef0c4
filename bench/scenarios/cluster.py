"""``cluster``: the ``chat`` ramp across 2 gateways over Redis, Kafka and PostgreSQL.

Users alternate between the gateways, so most rooms span both; the cross-gateway
send -> receive latency is reported apart. With ``--peer``, python-socketio runs
the same ramp as 2 processes joined by its AsyncRedisManager.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from bench import api, hops
from bench.cluster import Cluster, check
from bench.common import free_port, log, write_result
from bench.peers import venv
from bench.pool import Pool
from bench.roles import service_pids
from bench.scenarios import chat
from bench.server import Server, base_env, cleanup, scratch_dir


def add_arguments(p: argparse.ArgumentParser) -> None:
    chat.add_population_arguments(p)
    p.set_defaults(users=10_000)
    p.add_argument("--gateways", type=int, default=2)
    p.add_argument("--persisters", type=int, default=1)
    p.add_argument("--start-rate", type=float, default=25)
    p.add_argument("--factor", type=float, default=1.5)
    p.add_argument("--max-steps", type=int, default=10)
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--p99-limit", type=float, default=50, help="ms (the cluster target)")
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--peer", action="store_true")
    p.add_argument("--targets", default=None)
    p.add_argument("--data-base", default=None)


async def parley(
    a: argparse.Namespace, groups: list[list[int]], directs: list[tuple[int, int]]
) -> dict[str, Any]:
    cluster = Cluster(a.gateways, a.persisters, kafka=True, data_base=a.data_base)
    pool: Pool | None = None
    try:
        await cluster.start()
        base = cluster.gateways[0].url
        people = await api.register_users(base, a.users)
        ids = await api.create_rooms(base, people, groups, directs)
        sizes = [len(set(g)) for g in groups] + [2 for _ in directs]
        specs = []
        for i, u in enumerate(people):
            gw = i % len(cluster.gateways)
            specs.append(
                {
                    "user": u.id,
                    "token": u.token,
                    "rooms": u.rooms,
                    "url": cluster.gateways[gw].ws_url,
                    "gw": gw,
                }
            )
        pool = Pool(
            "parley",
            cluster.gateways[0].ws_url,
            specs,
            a.processes,
            room_sizes=dict(zip(ids, sizes, strict=True)),
        )
        t0 = time.monotonic()
        ready = await pool.start(timeout=900)
        log(f"parley cluster: {ready['ok']} connected in {time.monotonic() - t0:.1f}s")
        await asyncio.sleep(1.0)
        by_role = {
            "gateways": [g.pid for g in cluster.gateways],
            "persisters": [p.pid for p in cluster.persisters],
            **service_pids(cluster.env),
        }
        result: dict[str, Any] = await chat.ramp("parley", None, pool, a, cluster.pids, by_role)  # type: ignore[arg-type]
        result["hops"] = await hops.scrape(cluster.metrics_urls)
        log(f"parley cluster: latency by hop over the run {result['hops']}")
        return result
    finally:
        if pool is not None:
            await pool.stop()
        await cluster.stop()


async def peer(
    a: argparse.Namespace, groups: list[list[int]], directs: list[tuple[int, int]]
) -> dict[str, Any]:
    services = check(need_kafka=False)
    folder = scratch_dir("sio-cluster-bench-", a.data_base)
    servers: list[Server] = []
    pool: Pool | None = None
    try:
        for i in range(a.gateways):
            port = free_port()
            argv = [
                str(venv.python()),
                str(venv.SERVER),
                "--port",
                str(port),
                "--redis",
                services["PARLEY_REDIS_URL"],
            ]
            s = Server(argv, base_env(), port, folder / f"peer-{i}.log")
            await s.start()
            servers.append(s)
        from bench.targets import SocketIOTarget

        t = SocketIOTarget.__new__(SocketIOTarget)
        t.room_sizes, t.room_ids = {}, []
        specs = await SocketIOTarget.populate(t, a.users, groups, directs)
        for i, spec in enumerate(specs):
            gw = i % len(servers)
            spec["url"] = f"ws://127.0.0.1:{servers[gw].port}/socket.io/?EIO=4&transport=websocket"
            spec["gw"] = gw
        pool = Pool("sio", specs[0]["url"], specs, a.processes, room_sizes=t.room_sizes)
        await pool.start(timeout=900)
        await asyncio.sleep(1.0)
        pids = [s.pid for s in servers]
        by_role = {"gateways": pids, **service_pids(services)}
        return await chat.ramp("sio", None, pool, a, pids, by_role)  # type: ignore[arg-type]
    finally:
        if pool is not None:
            await pool.stop()
        for s in servers:
            await s.stop()
        cleanup(folder)


async def run(a: argparse.Namespace) -> dict[str, Any]:
    names = a.targets.split(",") if a.targets else (["parley", "sio"] if a.peer else ["parley"])
    groups, directs = chat.population(a)
    results = []
    for n in names:
        results.append(
            await (parley(a, groups, directs) if n == "parley" else peer(a, groups, directs))
        )
    for r in results:
        held = [s for s in r["steps"] if s["held"]]
        last = held[-1] if held else None
        log(
            f"{r['target']} cluster: highest load held {r['held_msgs_per_s']} msg/s"
            + (f", cross-gateway p99 {last['cross_latency_ms']['p99']} ms" if last else "")
        )
    params = {k: v for k, v in vars(a).items() if k != "func"}
    write_result("cluster", params, {"targets": results}, a.out)
    return {"failed": not all(r.get("correct") for r in results)}
