"""``history``: latency of a 50-message history page on a message table of 10M rows.

The rows are seeded straight into the database (SQLite: one INSERT ... SELECT over
a recursive CTE in one transaction; PostgreSQL: generate_series into a database of
its own), then pages are fetched through the public API,
``GET /api/rooms/{id}/messages?before=SEQ&limit=50`` at random positions (and the
latest page), one request at a time so the figure is latency, not queueing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import time
from typing import Any

import aiohttp

from bench import api, targets
from bench.common import Window, cdf_points, log, percentiles, write_result


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rows", type=int, default=10_000_000, help="messages in the table")
    p.add_argument("--rooms", type=int, default=1, help="rooms the rows are spread over")
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument(
        "--database-url", default=None, help="postgresql://... (a scratch database is created)"
    )
    p.add_argument("--data-base", default=None)
    p.add_argument(
        "--profile", default=None, help="py-spy record the server into PREFIX-history.txt"
    )


SQLITE_SEED = """
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < :n)
INSERT INTO messages (room_id, seq, sender_id, body, client_id, created_at)
SELECT :room, x, :sender, 'history message number ' || x || ' with a realistic body length',
       NULL, :t0 + x * 1000
FROM c
"""

PG_SEED = """
INSERT INTO messages (room_id, seq, sender_id, body, client_id, created_at)
SELECT $1, x, $2, 'history message number ' || x || ' with a realistic body length', NULL,
       $3 + x * 1000
FROM generate_series(1, $4::bigint) AS x
"""


def seed_sqlite(path: str, rooms: list[int], sender: int, per_room: int) -> None:
    db = sqlite3.connect(path, timeout=60)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-262144")
        t0 = int(time.time() * 1e6) - per_room * 1000
        with db:
            for room in rooms:
                db.execute(SQLITE_SEED, {"n": per_room, "room": room, "sender": sender, "t0": t0})
                db.execute("UPDATE rooms SET last_seq = ? WHERE id = ?", (per_room, room))
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


async def seed_postgres(url: str, rooms: list[int], sender: int, per_room: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        t0 = int(time.time() * 1e6) - per_room * 1000
        async with conn.transaction():
            for room in rooms:
                await conn.execute(PG_SEED, room, sender, t0, per_room)
                await conn.execute("UPDATE rooms SET last_seq = $1 WHERE id = $2", per_room, room)
        await conn.execute("ANALYZE messages")
    finally:
        await conn.close()


async def run(a: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    async with targets.parley_on_store(a.data_base, a.database_url) as (target, pg):
        people = await api.register_users(target.url, 1)
        ids = await api.create_rooms(target.url, people, [[0] for _ in range(a.rooms)], [])
        rooms = [int(i) for i in ids]
        per_room = a.rows // a.rooms
        t0 = time.monotonic()
        log(f"seeding {per_room * a.rooms} rows into {a.rooms} room(s)")
        if pg is not None:
            await seed_postgres(pg.url, rooms, int(people[0].id), per_room)
        else:
            await asyncio.to_thread(
                seed_sqlite, str(target.data_dir / "parley.db"), rooms, int(people[0].id), per_room
            )
        seed_s = time.monotonic() - t0
        log(f"seeded in {seed_s:.1f}s ({per_room * a.rooms / seed_s:,.0f} rows/s)")
        rng = random.Random(7)
        token = people[0].token
        headers = {"Authorization": f"Bearer {token}"}
        lat: list[float] = []
        errors = 0
        bad_pages = 0
        async with aiohttp.ClientSession(headers=headers) as http:

            async def fetch(room: int, before: int | None) -> None:
                nonlocal errors, bad_pages
                q = f"?limit={a.limit}" + (f"&before={before}" if before is not None else "")
                t = time.perf_counter()
                async with http.get(f"{target.url}/api/rooms/{room}/messages{q}") as r:
                    body = await r.read()
                    status = r.status
                lat.append((time.perf_counter() - t) * 1000)
                if status != 200:
                    errors += 1
                    return
                import orjson

                page = orjson.loads(body)["messages"]
                want = a.limit if before is None else min(a.limit, before - 1)
                if len(page) != want:
                    bad_pages += 1

            for _ in range(20):  # warm-up
                await fetch(rooms[0], None)
            lat.clear()
            win = Window([target.pid])
            sem = asyncio.Semaphore(a.concurrency)

            async def one(k: int) -> None:
                async with sem:
                    room = rng.choice(rooms)
                    before = None if k % 10 == 0 else rng.randint(2, per_room + 1)
                    await fetch(room, before)

            spy = None
            if a.profile:
                from bench import profile

                spy = await profile.start(target.pid, f"{a.profile}-history")
            t1 = time.monotonic()
            await asyncio.gather(*(one(k) for k in range(a.requests)))
            wall = time.monotonic() - t1
            if spy is not None:
                await profile.stop(spy)
            w = win.stop()
        figures = {
            "rows": per_room * a.rooms,
            "database": "postgresql" if pg else "sqlite",
            "seed_s": round(seed_s, 1),
            "requests": a.requests,
            "errors": errors,
            "bad_pages": bad_pages,
            "latency_ms": percentiles(lat),
            "latency_cdf": cdf_points(lat, 100),
            "requests_per_s": round(a.requests / wall, 1),
            "server_cpu_us_per_request": round(w["cpu_s"] * 1e6 / a.requests, 1),
            "ok": errors == 0 and bad_pages == 0,
        }
        log(
            f"history page ({a.limit}) at {figures['rows']:,} rows: p50 {figures['latency_ms']['p50']} ms, "
            f"p99 {figures['latency_ms']['p99']} ms, {figures['server_cpu_us_per_request']} us CPU/request"
        )
    params = {k: v for k, v in vars(a).items() if k != "func"}
    write_result("history", params, figures, a.out)
    return {"failed": not figures.get("ok")}
