"""``search``: latency of a full-text search (GET /api/search, 20 results) over a seeded corpus.

Bodies are 8 to 20 words drawn from a 5,000-word vocabulary with Zipf frequencies (a
few words in most messages, most words in few), seeded straight into the database
(SQLite: executemany, the FTS5 triggers index each row; PostgreSQL: COPY into a
database of its own, then VACUUM ANALYZE). The searcher is in half of the rooms; each query
is one rare, middling or common word, two words, or a phrase, a fifth of them
filtered to one room, one request at a time. A result from a room the searcher is
not in counts as a leak and fails the run.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import time
from itertools import accumulate
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson

from bench import api, targets
from bench.common import Window, cdf_points, log, percentiles, write_result

VOCABULARY = 5000
CONSONANTS = "bdfgklmnprtvz"
VOWELS = "aiou"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rows", type=int, default=1_000_000, help="messages in the table")
    p.add_argument("--rooms", type=int, default=20, help="rooms the rows are spread over")
    p.add_argument("--requests", type=int, default=1000)
    p.add_argument("--limit", type=int, default=20)
    p.add_argument(
        "--database-url", default=None, help="postgresql://... (a scratch database is created)"
    )
    p.add_argument("--data-base", default=None)


def vocabulary() -> list[str]:
    """Distinct made-up words of three syllables: no stop words, no English suffixes."""
    syllables = [c + v for c in CONSONANTS for v in VOWELS]
    rng = random.Random(1)
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(syllables) for _ in range(3)) + rng.choice("kmt"))
    return sorted(words)


def bodies(words: list[str], count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    cum = list(accumulate(1 / (rank + 1) for rank in range(len(words))))
    return [
        " ".join(rng.choices(words, cum_weights=cum, k=rng.randint(8, 20))) for _ in range(count)
    ]


def rows(rooms: list[int], sender: int, per_room: int, words: list[str]) -> Any:
    t0 = int(time.time() * 1e6) - per_room * len(rooms) * 1000
    n = 0
    for k, room in enumerate(rooms):
        for seq, body in enumerate(bodies(words, per_room, k), start=1):
            n += 1
            yield (room, seq, sender, body, t0 + n * 1000)


def seed_sqlite(path: str, rooms: list[int], sender: int, per_room: int, words: list[str]) -> None:
    db = sqlite3.connect(path, timeout=60)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-262144")
        with db:
            db.executemany(
                "INSERT INTO messages (room_id, seq, sender_id, body, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                rows(rooms, sender, per_room, words),
            )
            db.executemany(
                "UPDATE rooms SET last_seq = ? WHERE id = ?", [(per_room, r) for r in rooms]
            )
            db.execute("INSERT INTO messages_fts (messages_fts) VALUES ('optimize')")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


async def seed_postgres(
    url: str, rooms: list[int], sender: int, per_room: int, words: list[str]
) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        async with conn.transaction():
            await conn.copy_records_to_table(
                "messages",
                records=rows(rooms, sender, per_room, words),
                columns=["room_id", "seq", "sender_id", "body", "created_at"],
            )
            for room in rooms:
                await conn.execute("UPDATE rooms SET last_seq = $1 WHERE id = $2", per_room, room)
        # What autovacuum does after a bulk load: merges GIN's pending list into the index
        # (every search would scan it otherwise; per room, once per room) and sets the
        # visibility map.
        await conn.execute("VACUUM ANALYZE messages")
    finally:
        await conn.close()


def queries(words: list[str], count: int, rooms: list[int]) -> list[dict[str, str]]:
    """The mix: rare, middling and common single words, two words, a phrase; some per room."""
    rng = random.Random(7)
    out: list[dict[str, str]] = []
    for k in range(count):
        kind = k % 5
        if kind == 0:
            q = rng.choice(words[2000:])
        elif kind == 1:
            q = rng.choice(words[100:1000])
        elif kind == 2:
            q = rng.choice(words[:20])
        elif kind == 3:
            q = " ".join(rng.sample(words[20:500], 2))
        else:
            q = '"' + " ".join(rng.sample(words[:50], 2)) + '"'
        params = {"q": q}
        if k % 5 == 4 or rng.random() < 0.2:
            params["room"] = str(rng.choice(rooms))
        out.append(params)
    return out


async def run(a: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    async with targets.parley_on_store(a.data_base, a.database_url) as (target, pg):
        people = await api.register_users(target.url, 2)
        half = max(1, a.rooms // 2)
        ids = await api.create_rooms(
            target.url, people, [[0] if k < half else [1] for k in range(a.rooms)], []
        )
        rooms = [int(i) for i in ids]
        mine = set(rooms[:half])
        per_room = a.rows // a.rooms
        words = vocabulary()
        t0 = time.monotonic()
        log(f"seeding {per_room * a.rooms} rows into {a.rooms} room(s)")
        sender = int(people[0].id)
        if pg is not None:
            await seed_postgres(pg.url, rooms, sender, per_room, words)
        else:
            await asyncio.to_thread(
                seed_sqlite, str(target.data_dir / "parley.db"), rooms, sender, per_room, words
            )
        seed_s = time.monotonic() - t0
        log(f"seeded in {seed_s:.1f}s ({per_room * a.rooms / seed_s:,.0f} rows/s)")
        headers = {"Authorization": f"Bearer {people[0].token}"}
        lat: list[float] = []
        errors = leaks = hits = 0
        async with aiohttp.ClientSession(headers=headers) as http:

            async def fetch(params: dict[str, str]) -> None:
                nonlocal errors, leaks, hits
                query = urlencode({**params, "limit": a.limit})
                t = time.perf_counter()
                async with http.get(f"{target.url}/api/search?{query}") as r:
                    body = await r.read()
                    status = r.status
                lat.append((time.perf_counter() - t) * 1000)
                if status != 200:
                    errors += 1
                    return
                results = orjson.loads(body)["results"]
                hits += len(results)
                leaks += sum(int(x["message"]["room"]) not in mine for x in results)

            for params in queries(words, 20, rooms):  # warm-up
                await fetch(params)
            lat.clear()
            win = Window([target.pid])
            t1 = time.monotonic()
            for params in queries(words, a.requests, rooms):
                await fetch(params)
            wall = time.monotonic() - t1
            w = win.stop()
        figures = {
            "rows": per_room * a.rooms,
            "database": "postgresql" if pg else "sqlite",
            "seed_s": round(seed_s, 1),
            "requests": a.requests,
            "results_per_request": round(hits / max(a.requests, 1), 1),
            "errors": errors,
            "leaks": leaks,
            "latency_ms": percentiles(lat),
            "latency_cdf": cdf_points(lat, 100),
            "requests_per_s": round(a.requests / wall, 1),
            "server_cpu_us_per_request": round(w["cpu_s"] * 1e6 / a.requests, 1),
            "ok": errors == 0 and leaks == 0 and hits > 0,
        }
        log(
            f"search at {figures['rows']:,} rows ({figures['database']}): "
            f"p50 {figures['latency_ms']['p50']} ms, p99 {figures['latency_ms']['p99']} ms"
        )
    params = {k: v for k, v in vars(a).items() if k != "func"}
    write_result("search", params, figures, a.out)
    return {"failed": not figures.get("ok")}
