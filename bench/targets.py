"""The systems under test, behind one small interface: start, populate, URL, stop.

``parley``: ``python -m parley serve`` on a fresh data folder (SQLite on tmpfs by
default), users registered and rooms created through its HTTP API.
``sio``: the python-socketio peer (bench/peers/sio_server.py) in its own venv;
users and rooms are just ids handed to it in the Socket.IO connect auth.
``centrifugo``: Centrifugo (bench/peers/centrifugo.py, built with Go on first use) in
insecure client mode; a room is a channel, each connection subscribes to its rooms.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bench import api
from bench.common import free_port, log
from bench.dbs import ScratchPostgres, scratch_postgres
from bench.peers import centrifugo, venv
from bench.server import ParleyServer, Server, cleanup, scratch_dir


class Target:
    name = "?"
    proto = "?"

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    @property
    def pid(self) -> int:
        raise NotImplementedError

    @property
    def ws_url(self) -> str:
        raise NotImplementedError

    async def populate(
        self, users: int, groups: list[list[int]], directs: list[tuple[int, int]]
    ) -> list[dict[str, Any]]:
        """Connection specs, one per user: {user, token, rooms}; plus room sizes in .room_sizes."""
        raise NotImplementedError

    room_sizes: dict[str, int]
    room_ids: list[str]


class ParleyTarget(Target):
    name = "parley"
    proto = "parley"

    def __init__(self, data_base: str | None = None, env: dict[str, str] | None = None) -> None:
        self.data_dir: Path = scratch_dir("parley-bench-", data_base)
        self.server = ParleyServer(self.data_dir, env)
        self.room_sizes = {}
        self.room_ids = []

    async def start(self) -> None:
        await self.server.start()
        log(f"parley serving on {self.server.url} (pid {self.server.pid}, data {self.data_dir})")

    async def stop(self) -> None:
        await self.server.stop()
        if os.environ.get("BENCH_KEEP_DATA") != "1":
            cleanup(self.data_dir)

    @property
    def pid(self) -> int:
        return self.server.pid

    @property
    def ws_url(self) -> str:
        return self.server.ws_url

    @property
    def url(self) -> str:
        return self.server.url

    async def populate(
        self, users: int, groups: list[list[int]], directs: list[tuple[int, int]]
    ) -> list[dict[str, Any]]:
        people = await api.register_users(self.server.url, users)
        self.room_ids = await api.create_rooms(self.server.url, people, groups, directs)
        sizes = [len(set(g)) for g in groups] + [2 for _ in directs]
        self.room_sizes = dict(zip(self.room_ids, sizes, strict=True))
        return [{"user": u.id, "token": u.token, "rooms": u.rooms} for u in people]


@asynccontextmanager
async def parley_on_store(
    data_base: str | None, database_url: str | None
) -> AsyncIterator[tuple[ParleyTarget, ScratchPostgres | None]]:
    """A started Parley on its own SQLite file, or on a scratch PostgreSQL database next to
    ``database_url`` (migrated first); stopped, and the scratch database dropped, on the way
    out (both kept with BENCH_KEEP_DATA=1, to EXPLAIN the queries afterwards). The store
    scenarios (history, search) seed rows straight into it."""
    pg = await scratch_postgres(database_url) if database_url else None
    target = ParleyTarget(data_base, {} if pg is None else {"PARLEY_DATABASE_URL": pg.url})
    try:
        if pg is not None:
            await pg.migrate(target.server.env)
        await target.start()
        yield target, pg
    finally:
        await target.stop()
        if pg is not None and os.environ.get("BENCH_KEEP_DATA") != "1":
            await pg.drop()
        elif pg is not None:
            log(f"kept database {pg.name} (BENCH_KEEP_DATA=1)")


class SocketIOTarget(Target):
    name = "socketio"
    proto = "sio"

    def __init__(self, redis: str | None = None, log_dir: str | None = None) -> None:
        port = free_port()
        self.log_dir = scratch_dir("sio-bench-", log_dir)
        argv = [str(venv.python()), str(venv.SERVER), "--port", str(port)]
        if redis:
            argv += ["--redis", redis]
        self.server = Server(argv, dict(os.environ), port, self.log_dir / "peer.log")
        self.room_sizes = {}
        self.room_ids = []

    async def start(self) -> None:
        await self.server.start()
        log(f"python-socketio peer serving on {self.server.url} (pid {self.server.pid})")

    async def stop(self) -> None:
        await self.server.stop()
        cleanup(self.log_dir)

    @property
    def pid(self) -> int:
        return self.server.pid

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}/socket.io/?EIO=4&transport=websocket"

    async def populate(
        self, users: int, groups: list[list[int]], directs: list[tuple[int, int]]
    ) -> list[dict[str, Any]]:
        return _ids_only(self, users, groups, directs)


class CentrifugoTarget(Target):
    name = "centrifugo"
    proto = "centrifugo"

    def __init__(self, redis: str | None = None, log_dir: str | None = None) -> None:
        port = free_port()
        self.log_dir = scratch_dir("centrifugo-bench-", log_dir)
        conf = centrifugo.write_config(self.log_dir / "config.json", port, redis)
        argv = [str(centrifugo.binary()), "--config", str(conf)]
        # GOMAXPROCS is left to Go (every core), as a deployment would.
        self.server = Server(argv, dict(os.environ), port, self.log_dir / "peer.log", "/health")
        self.room_sizes = {}
        self.room_ids = []

    async def start(self) -> None:
        await self.server.start()
        log(f"Centrifugo peer serving on {self.server.url} (pid {self.server.pid})")

    async def stop(self) -> None:
        await self.server.stop()
        cleanup(self.log_dir)

    @property
    def pid(self) -> int:
        return self.server.pid

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}/connection/websocket"

    async def populate(
        self, users: int, groups: list[list[int]], directs: list[tuple[int, int]]
    ) -> list[dict[str, Any]]:
        return _ids_only(self, users, groups, directs)


def _ids_only(
    t: Target, users: int, groups: list[list[int]], directs: list[tuple[int, int]]
) -> list[dict[str, Any]]:
    """Rooms as plain ids for a peer without accounts: each user's list of its rooms."""
    rooms: list[list[str]] = [[] for _ in range(users)]
    t.room_ids = [str(k + 1) for k in range(len(groups) + len(directs))]
    for k, g in enumerate(groups):
        for m in g:
            rooms[m].append(t.room_ids[k])
    for k, (a, b) in enumerate(directs):
        rid = t.room_ids[len(groups) + k]
        rooms[a].append(rid)
        rooms[b].append(rid)
    sizes = [len(set(g)) for g in groups] + [2 for _ in directs]
    t.room_sizes = dict(zip(t.room_ids, sizes, strict=True))
    return [{"user": str(i + 1), "token": "", "rooms": rooms[i]} for i in range(users)]


def make(name: str, **kw: Any) -> Target:
    if name == "parley":
        return ParleyTarget(kw.get("data_base"), kw.get("env"))
    if name.startswith("parley@"):
        # Parley from another source tree (e.g. before a change), for A/B runs in one invocation.
        src = Path(name.split("@", 1)[1]).resolve()
        if not (src / "parley" / "__init__.py").exists():
            raise ValueError(f"{src} is not a source folder holding the parley package")
        env = {**(kw.get("env") or {}), "PYTHONPATH": str(src)}
        t = ParleyTarget(kw.get("data_base"), env)
        t.name = name
        return t
    if name in ("sio", "socketio", "peer"):
        return SocketIOTarget(kw.get("redis"))
    if name in ("centrifugo", "cf"):
        return CentrifugoTarget(kw.get("redis"))
    raise ValueError(f"unknown target {name!r}")
