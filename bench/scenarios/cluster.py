"""``cluster``: the ``chat`` ramp across 2 gateways over Redis, Kafka and PostgreSQL.

Users alternate between the gateways, so most rooms span both; the cross-gateway
send -> receive latency is reported apart. With ``--peer``, python-socketio runs
the same ramp as 2 processes joined by its AsyncRedisManager; ``--targets
parley,centrifugo,sio`` picks the systems (Centrifugo: 2 nodes on its Redis engine,
messages only).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from bench import api, hops, targets
from bench.cluster import Cluster, check
from bench.common import log, write_result
from bench.pool import Pool
from bench.roles import service_pids
from bench.scenarios import chat


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
    p.add_argument("--targets", default=None, help="comma list of parley, sio, centrifugo")
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
    kind: str, a: argparse.Namespace, groups: list[list[int]], directs: list[tuple[int, int]]
) -> dict[str, Any]:
    """A peer's ramp on ``--gateways`` nodes joined by Redis: python-socketio's
    AsyncRedisManager, or Centrifugo's Redis engine. The clients alternate between the
    nodes as Parley's do. Centrifugo has no typing or read events (an application
    publishes those itself), so it runs the messages-only mix; the result says so."""
    services = check(need_kafka=False)
    if kind == "centrifugo" and not (a.no_typing and a.no_reads):
        log("centrifugo cluster: no typing or read events in its protocol: messages only")
        a = argparse.Namespace(**{**vars(a), "no_typing": True, "no_reads": True})
    nodes = [targets.make(kind, redis=services["PARLEY_REDIS_URL"]) for _ in range(a.gateways)]
    pool: Pool | None = None
    try:
        for node in nodes:
            await node.start()
        specs = await nodes[0].populate(a.users, groups, directs)
        for i, spec in enumerate(specs):
            gw = i % len(nodes)
            spec["url"] = nodes[gw].ws_url
            spec["gw"] = gw
        pool = Pool(
            nodes[0].proto, specs[0]["url"], specs, a.processes, room_sizes=nodes[0].room_sizes
        )
        await pool.start(timeout=900)
        await asyncio.sleep(1.0)
        pids = [n.pid for n in nodes]
        by_role = {"gateways": pids, **service_pids(services)}
        result: dict[str, Any] = await chat.ramp(kind, None, pool, a, pids, by_role)  # type: ignore[arg-type]
        result["mix"] = "messages only" if a.no_typing and a.no_reads else "chat"
        return result
    finally:
        if pool is not None:
            await pool.stop()
        for node in nodes:
            await node.stop()


async def run(a: argparse.Namespace) -> dict[str, Any]:
    names = a.targets.split(",") if a.targets else (["parley", "sio"] if a.peer else ["parley"])
    unknown = set(names) - {"parley", "sio", "centrifugo"}
    if unknown:
        raise SystemExit(f"cluster: unknown targets {sorted(unknown)} (parley, sio, centrifugo)")
    groups, directs = chat.population(a)
    results = []
    for n in names:
        results.append(
            await (parley(a, groups, directs) if n == "parley" else peer(n, a, groups, directs))
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
