"""``connections``: connect + auth rate, and RSS per idle connection at 10k connections.

Users (default 1000, in groups of 10) each hold connections/users sockets. The
rate counts a connection once its ``ready`` frame arrived. RSS per connection is
(server RSS with every connection open and idle - RSS before) / connections.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from bench import targets
from bench.common import Window, log, percentiles, raise_nofile, rss_bytes, tree, write_result
from bench.pool import Pool


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--connections", "-c", type=int, default=10_000)
    p.add_argument("--users", "-u", type=int, default=1000)
    p.add_argument("--group-size", type=int, default=10)
    p.add_argument("--processes", type=int, default=2)
    p.add_argument(
        "--concurrency", type=int, default=64, help="connects in flight per client process"
    )
    p.add_argument("--idle", type=float, default=3.0, help="seconds idle before measuring RSS")
    p.add_argument("--data-base", default=None)


async def run(a: argparse.Namespace) -> dict[str, Any]:
    limit = raise_nofile()
    if limit < a.connections + 1000:
        log(
            f"open-files limit is {limit}; the server needs {a.connections + 1000} (hard limit too low?)"
        )
    target = targets.ParleyTarget(a.data_base)
    pool: Pool | None = None
    figures: dict[str, Any] = {}
    try:
        await target.start()
        users = a.users if a.users <= a.connections else a.connections
        groups = [
            list(range(i, min(i + a.group_size, users))) for i in range(0, users, a.group_size)
        ]
        groups = [g for g in groups if len(g) > 1]
        people = await target.populate(users, groups, [])
        # warm-up: one connection through the whole path, then the idle baseline
        warm = Pool(target.proto, target.ws_url, people[:1], 1)
        await warm.start()
        await warm.stop()
        await asyncio.sleep(1.0)
        rss0 = rss_bytes(tree(target.pid))
        specs = [dict(people[i % users], sample=False) for i in range(a.connections)]
        pool = Pool(
            target.proto,
            target.ws_url,
            specs,
            a.processes,
            concurrency=a.concurrency,
            read_buffer=2048,
        )
        win = Window([target.pid])
        t0 = time.monotonic()
        ready = await pool.start(timeout=900)
        elapsed = time.monotonic() - t0
        w = win.stop()
        await asyncio.sleep(a.idle)
        rss1 = rss_bytes(tree(target.pid))
        await pool.broadcast({"cmd": "stats"})
        stats = await pool.collect("STATS", 60)
        still_open = sum(s["open"] for s in stats)
        figures = {
            "connections": ready["ok"],
            "failed": ready["failed"],
            "still_open": still_open,
            "connect_seconds": round(elapsed, 2),
            "connects_per_s": round(ready["ok"] / elapsed, 1),
            "connect_ms": percentiles(ready["connect_ms"]),
            "server_cpu_us_per_connect": round(w["cpu_s"] * 1e6 / max(ready["ok"], 1), 1),
            "rss_before_mb": round(rss0 / 2**20, 1),
            "rss_after_mb": round(rss1 / 2**20, 1),
            "rss_per_conn_kb": round((rss1 - rss0) / max(ready["ok"], 1) / 1024, 2),
            "open_files_limit": limit,
            "ok": ready["failed"] == 0 and still_open == ready["ok"],
        }
        log(
            f"{figures['connections']} connections in {figures['connect_seconds']}s = "
            f"{figures['connects_per_s']}/s (p99 {figures['connect_ms']['p99']} ms), "
            f"{figures['rss_per_conn_kb']} KiB RSS per idle connection, "
            f"{figures['server_cpu_us_per_connect']} us CPU per connect"
        )
    finally:
        if pool is not None:
            await pool.stop()
        await target.stop()
    params = {k: v for k, v in vars(a).items() if k != "func"}
    write_result("connections", params, figures, a.out)
    return {"failed": not figures.get("ok")}
