"""``ingest``: the highest durable send rate (acks/s) through Kafka -> persister -> PostgreSQL.

S senders (each in a room of its own, so fan-out is one delivery) send as fast as
acks allow with W sends in flight each. In cluster mode an ack comes back once the
persister has stored the message and published it, so ack latency is the
send -> durable-in-PostgreSQL time; the drain time after the last send shows the
persister lag. Needs ``scripts/services up`` and Parley's Kafka log.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench import api
from bench.cluster import Cluster
from bench.common import (
    Window,
    cpu_seconds,
    log,
    percentiles,
    tree,
    write_result,
)
from bench.pool import Pool, merge_stats
from bench.roles import service_pids


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--messages", "-m", type=int, default=100_000, help="messages in total")
    p.add_argument("--senders", type=int, default=100)
    p.add_argument("--window", type=int, default=32, help="unacked sends per sender")
    p.add_argument("--persisters", type=int, default=1)
    p.add_argument("--processes", type=int, default=2)
    p.add_argument(
        "--no-kafka", action="store_true", help="PostgreSQL + Redis, no Kafka (direct log)"
    )
    p.add_argument("--data-base", default=None)
    p.add_argument(
        "--profile", default=None, help="py-spy record the gateway and persisters into PREFIX-*.txt"
    )


async def run(a: argparse.Namespace) -> dict[str, Any]:
    cluster = Cluster(
        gateways=1, persisters=a.persisters, kafka=not a.no_kafka, data_base=a.data_base
    )
    pool: Pool | None = None
    figures: dict[str, Any] = {}
    try:
        await cluster.start()
        base = cluster.gateways[0].url
        people = await api.register_users(base, a.senders)
        await api.create_rooms(base, people, [[i] for i in range(a.senders)], [])
        specs = [{"user": u.id, "token": u.token, "rooms": u.rooms} for u in people]
        pool = Pool("parley", cluster.gateways[0].ws_url, specs, a.processes)
        ready = await pool.start()
        if ready["failed"]:
            raise RuntimeError(f"{ready['failed']} connections failed: {ready['errors']}")
        per = max(1, a.messages // a.senders)
        cmd_base = {"cmd": "fanout", "room": None, "window": a.window, "rate": 0, "timeout": 600}
        # warm-up: producers, consumers and pools get going
        docs = []
        for wi in range(pool.k):
            mine = [
                pool.local_index(g)[1] for g in range(a.senders) if pool.local_index(g)[0] == wi
            ]
            docs.append({**cmd_base, "publishers": mine, "count": 5, "expect": 5})
        await pool.broadcast(docs)
        await pool.collect("DONE", 300)
        await pool.broadcast({"cmd": "reset"})
        await pool.collect("RESET", 30)
        for d in docs:
            d["count"] = d["expect"] = per
        log(f"ingest: {per * a.senders} messages from {a.senders} senders, window {a.window}")
        spies = []
        if a.profile:
            from bench import profile

            names = ["gateway"] + [f"persister-{i}" for i in range(len(cluster.persisters))]
            for name, pid in zip(names, cluster.pids, strict=True):
                spies.append(await profile.start(pid, f"{a.profile}-{name}"))
        roles = {
            "gateway": tree(cluster.gateways[0].pid),
            "persisters": [q for p in cluster.persisters for q in tree(p.pid)],
            **{
                role: [q for pid in pids for q in tree(pid)]
                for role, pids in service_pids(cluster.env).items()
            },
        }
        roles_cpu0 = {role: cpu_seconds(procs) for role, procs in roles.items()}
        clients_cpu0 = pool.cpu()
        win = Window(cluster.pids)
        t0 = time.monotonic()
        await pool.broadcast(docs)
        out = await pool.collect("DONE", 900)
        wall = time.monotonic() - t0
        w = win.stop()
        cpu_by_role = {role: cpu_seconds(procs) - roles_cpu0[role] for role, procs in roles.items()}
        cpu_by_role["clients"] = pool.cpu() - clients_cpu0
        for spy in spies:
            await profile.stop(spy)
        st = merge_stats(out)
        total = per * a.senders
        stored = await _count(cluster)
        figures = {
            "messages": total,
            "acked": st["acked"],
            "stored_rows": stored,
            "errors": st["errors"],
            "acks_per_s": round(st["acked"] / wall, 1),
            "ack_latency_ms": percentiles(st["ack_latencies"]),
            "wall_s": round(wall, 2),
            "cpu_s": round(w["cpu_s"], 2),
            "cpu_us_per_message": round(w["cpu_s"] * 1e6 / max(st["acked"], 1), 1),
            "machine_busy_s": round(w["machine_busy_s"], 2),
            "cpu_us_per_message_by_role": {
                role: round(sec * 1e6 / max(st["acked"], 1), 1) for role, sec in cpu_by_role.items()
            },
            "kafka": not a.no_kafka,
            "ok": st["acked"] == total and not st["errors"] and stored == total + 5 * a.senders,
        }
        log(
            f"ingest: {figures['acks_per_s']} durable acks/s, ack p50 {figures['ack_latency_ms']['p50']} "
            f"p99 {figures['ack_latency_ms']['p99']} ms, {stored} rows stored"
        )
        log(f"ingest: CPU µs per message by role {figures['cpu_us_per_message_by_role']}")
    finally:
        if pool is not None:
            await pool.stop()
        await cluster.stop()
    params = {k: v for k, v in vars(a).items() if k != "func"}
    write_result("ingest", params, figures, a.out)
    return {"failed": not figures.get("ok")}


async def _count(cluster: Cluster) -> int:
    import asyncpg

    assert cluster.pg is not None
    conn = await asyncpg.connect(cluster.pg.url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM messages"))
    finally:
        await conn.close()
