"""``search``: latency of a full-text search (GET /api/search, 20 results) over a seeded corpus.

Bodies are 8 to 20 words drawn from a 5,000-word vocabulary with Zipf frequencies (a
few words in most messages, most words in few), seeded straight into the database
(SQLite: executemany, the FTS5 triggers index each row; PostgreSQL: COPY into a
database of its own, then VACUUM ANALYZE). The searcher is in half of the rooms; each query
is one rare, middling or common word, two words, or a phrase, a fifth of them
filtered to one room, one request at a time. A result from a room the searcher is
not in counts as a leak and fails the run.

``--versus SRC`` measures another source tree (an export of ``src`` before a change) on
the same seeded corpus, alternating with this one ``--rounds`` times: a before/after in one
run, on one seed, under the same load. On PostgreSQL the CPU per request counts the
database's backends for the Parley server as well as the server.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import time
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson

from bench import api, targets
from bench.common import Window, cdf_points, log, percentiles, write_result
from bench.server import ParleyServer

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
    p.add_argument(
        "--versus",
        action="append",
        default=[],
        metavar="SRC",
        help="another source folder holding the parley package, measured on the same corpus",
    )
    p.add_argument("--rounds", type=int, default=1, help="alternations of the trees measured")


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


KINDS = ("rare", "middling", "common", "two words", "phrase")


def kind(k: int, params: dict[str, str]) -> str:
    """The class of the ``k``-th query of ``queries``, for latencies per class."""
    return KINDS[k % 5] + (", one room" if "room" in params else "")


async def backends(url: str) -> list[int]:
    """The pids of the PostgreSQL backends serving ``url``'s database (the server's pool),
    so the database's CPU for the searches is counted with the server's."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return [int(r["pid"]) for r in rows]


def source_tree(src: str) -> Path:
    found = Path(src).resolve()
    if not (found / "parley" / "__init__.py").exists():
        raise ValueError(f"{found} is not a source folder holding the parley package")
    return found


@dataclass
class Tally:
    """One tree's requests, pooled over the rounds; ``pages``: the ids each query found."""

    lat: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    cpu_s: float = 0.0
    wall_s: float = 0.0
    errors: int = 0
    leaks: int = 0
    hits: int = 0
    pages: list[list[str]] = field(default_factory=list)

    def figures(self, requests: int) -> dict[str, Any]:
        return {
            "results_per_request": round(self.hits / max(requests, 1), 1),
            "errors": self.errors,
            "leaks": self.leaks,
            "latency_ms": percentiles(self.lat),
            "latency_cdf": cdf_points(self.lat, 100),
            "requests_per_s": round(requests / self.wall_s, 1) if self.wall_s else 0.0,
            "server_cpu_us_per_request": round(self.cpu_s * 1e6 / max(requests, 1), 1),
            "latency_ms_by_kind": {k: percentiles(v) for k, v in sorted(self.by_kind.items())},
        }


async def measure(
    target: targets.ParleyTarget,
    pg: Any,
    token: str,
    plan: list[dict[str, str]],
    mine: set[int],
    limit: int,
    tally: Tally,
) -> None:
    """The plan's requests one at a time after a warm-up, into ``tally``."""
    lat: list[float] = []
    pages: list[list[str]] = []
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:

        async def fetch(params: dict[str, str]) -> None:
            query = urlencode({**params, "limit": limit})
            t = time.perf_counter()
            async with http.get(f"{target.url}/api/search?{query}") as r:
                body = await r.read()
                status = r.status
            lat.append((time.perf_counter() - t) * 1000)
            if status != 200:
                tally.errors += 1
                pages.append([])
                return
            results = orjson.loads(body)["results"]
            tally.hits += len(results)
            tally.leaks += sum(int(x["message"]["room"]) not in mine for x in results)
            pages.append([x["message"]["id"] for x in results])

        for params in plan[:20]:  # warm-up
            await fetch(params)
        lat.clear()
        pages.clear()
        pids = [target.pid] + (await backends(pg.url) if pg is not None else [])
        win = Window(pids)
        t1 = time.monotonic()
        for params in plan:
            await fetch(params)
        tally.wall_s += time.monotonic() - t1
        tally.cpu_s += win.stop()["cpu_s"]
    tally.lat += lat
    for k, (params, ms) in enumerate(zip(plan, lat, strict=True)):
        tally.by_kind.setdefault(kind(k, params), []).append(ms)
    if not tally.pages:
        tally.pages = pages


async def serve(target: targets.ParleyTarget, env: dict[str, str], src: Path | None) -> None:
    """Restart the target's server from ``src`` (None: this tree) on the same data."""
    await target.server.stop()
    extra = {**env, "PYTHONPATH": str(src)} if src is not None else env
    target.server = ParleyServer(target.data_dir, extra)
    await target.server.start()
    log(f"serving from {src or 'this tree'} (pid {target.pid})")


async def run(a: argparse.Namespace) -> dict[str, Any]:
    others = [source_tree(src) for src in a.versus]
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
        plan = queries(words, a.requests, rooms)
        env = {} if pg is None else {"PARLEY_DATABASE_URL": pg.url}
        trees: list[Path | None] = [None, *others]
        tallies = {src: Tally() for src in trees}
        running: Path | None = None
        if others:
            # Untimed: the first tree measured must not meet colder caches than the rest
            # (the seed leaves pages to read, hint bits to set, dirty buffers to flush).
            await measure(target, pg, people[0].token, plan, mine, a.limit, Tally())
        for n in range(max(1, a.rounds) if others else 1):
            for src in trees if n % 2 == 0 else trees[::-1]:
                if src != running:
                    await serve(target, env, src)
                    running = src
                await measure(target, pg, people[0].token, plan, mine, a.limit, tallies[src])
        requests = a.requests * (max(1, a.rounds) if others else 1)
        this = tallies[None]
        figures = {
            "rows": per_room * a.rooms,
            "database": "postgresql" if pg else "sqlite",
            "seed_s": round(seed_s, 1),
            "requests": requests,
            **this.figures(requests),
            "cpu_counted": "server and its PostgreSQL backends" if pg else "server",
        }
        differ = 0
        for src in others:
            tally = tallies[src]
            # Same corpus, same queries: a change of plan must not change a result.
            changed = sum(x != y for x, y in zip(this.pages, tally.pages, strict=True))
            differ += changed
            figures.setdefault("versus", {})[str(src)] = {
                **tally.figures(requests),
                "queries_with_other_results": changed,
            }
            log(
                f"{src}: p50 {tally.figures(requests)['latency_ms']['p50']} ms, "
                f"p99 {tally.figures(requests)['latency_ms']['p99']} ms, "
                f"{changed} queries with other results"
            )
        figures["ok"] = this.errors == 0 and this.leaks == 0 and this.hits > 0 and differ == 0
        log(
            f"search at {figures['rows']:,} rows ({figures['database']}): "
            f"p50 {figures['latency_ms']['p50']} ms, p99 {figures['latency_ms']['p99']} ms"
        )
    params = {k: v for k, v in vars(a).items() if k != "func"}
    write_result("search", params, figures, a.out)
    return {"failed": not figures.get("ok")}
