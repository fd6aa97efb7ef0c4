"""The heartbeat sweep: idle sockets are pinged, silent ones dropped, live ones kept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiohttp
import orjson
import pytest
from aiohttp import web

from parley.announcer import Announcer
from parley.app import user_limits
from parley.auth import AuthService, tokens
from parley.bus import MemoryBus
from parley.config import Settings
from parley.gateway.connection import BUSY, Connection, Flusher, Heartbeat
from parley.gateway.endpoint import Gateway
from parley.gateway.hub import Hub
from parley.log import DirectLog
from parley.metrics import Metrics
from parley.models import User
from parley.presence import LocalPresence
from parley.protocol import wsframe
from parley.ratelimit import MemoryLimiter
from parley.sending import SendPipeline
from parley.store import SqlStore
from tests.unit.conftest import make_user

SECRET = "s" * 40


class Wire:
    def __init__(self) -> None:
        self.data = bytearray()
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.data += data

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return self.aborted

    def abort(self) -> None:
        self.aborted = True


def connection(flusher: Flusher) -> tuple[Connection, Wire]:
    wire = Wire()
    conn = Connection(User(1, "ana", "Ana"), wire, flusher, 1 << 20, lambda _c, _r: None)
    conn.silent = 0
    return conn, wire


def test_the_times_become_whole_sweeps_rounded_up() -> None:
    beat = Heartbeat(lambda: [], idle=30, timeout=15, period=5)
    assert (beat.ping_after, beat.drop_after) == (7, 10)  # ping after > 30 s, drop 15 s later
    beat = Heartbeat(lambda: [], idle=1, timeout=0.25, period=0.3)
    assert (beat.ping_after, beat.drop_after) == (4, 5)


async def test_a_sweep_pings_the_idle_drops_the_silent_and_skips_the_busy() -> None:
    flusher = Flusher()
    (quiet, quiet_wire), (alive, alive_wire) = connection(flusher), connection(flusher)
    busy, busy_wire = connection(flusher)
    busy.silent = BUSY
    beat = Heartbeat(lambda: [quiet, alive, busy], idle=30, timeout=15, period=5)
    for _ in range(beat.ping_after - 1):
        beat.sweep()
    flusher.flush()
    assert quiet_wire.data == alive_wire.data == b""
    beat.sweep()
    flusher.flush()
    assert quiet_wire.data == alive_wire.data == wsframe.PING
    alive.silent = 0  # its pong arrived
    for _ in range(beat.drop_after - beat.ping_after - 1):
        beat.sweep()
    assert not quiet.closed and not quiet_wire.aborted
    beat.sweep()
    assert quiet.closed and quiet_wire.aborted
    assert not alive.closed and not alive_wire.aborted
    assert busy.silent == BUSY and busy_wire.data == b"" and not busy_wire.aborted
    quiet.send(b"dropped")  # nothing more is written to an aborted connection
    flusher.flush()
    assert quiet_wire.data == wsframe.PING


# The same over real sockets, through the gateway, with times short enough for a test.


@dataclass
class Served:
    url: str
    hub: Hub
    detached: asyncio.Queue[int]
    token: Callable[[User], str]


@pytest.fixture
async def served(store: SqlStore) -> AsyncIterator[Served]:
    settings = Settings(secret_key=SECRET)
    bus = MemoryBus()
    presence = LocalPresence()
    announcer = Announcer(store, bus, presence)
    hub = Hub(store, bus, presence, announcer, resume_cap=500)
    await hub.start()
    flusher = Flusher()
    metrics = Metrics(lambda: hub.connections, lambda: flusher.frames)
    limits = user_limits(settings, MemoryLimiter())
    gateway = Gateway(
        hub=hub,
        store=store,
        announcer=announcer,
        auth=AuthService(settings, store, MemoryLimiter()),
        sending=SendPipeline(DirectLog(store, bus), metrics, limits),
        limits=limits,
        metrics=metrics,
        flusher=flusher,
        auth_timeout=5,
        outgoing_limit=1 << 20,
        frame_rate=50,
        frame_burst=200,
        heartbeat=0.2,
        pong_timeout=0.5,
        sweep_period=0.05,
    )
    detached: asyncio.Queue[int] = asyncio.Queue()
    detach = hub.detach

    async def detach_and_tell(conn: Connection) -> None:
        await detach(conn)
        detached.put_nowait(conn.user.id)

    hub.detach = detach_and_tell  # type: ignore[method-assign]
    app = web.Application()
    app.add_routes([web.get("/ws", gateway.handle)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield Served(
        f"http://127.0.0.1:{port}/ws",
        hub,
        detached,
        lambda user: tokens.issue_access(SECRET, user.id, 600),
    )
    await gateway.shutdown()
    await runner.cleanup()
    await hub.close()


async def ready(
    http: aiohttp.ClientSession, served: Served, user: User
) -> aiohttp.ClientWebSocketResponse:
    """A socket that answers nothing by itself (``autoping=False``), past ``ready``."""
    ws = await http.ws_connect(served.url, autoping=False)
    await ws.ping(b"before auth")  # answered even before the auth frame
    pong = await ws.receive(timeout=5)
    assert (pong.type, pong.data) == (aiohttp.WSMsgType.PONG, b"before auth")
    await ws.send_str(orjson.dumps({"type": "auth", "token": served.token(user)}).decode())
    msg = await ws.receive(timeout=5)
    assert msg.type is aiohttp.WSMsgType.TEXT and orjson.loads(msg.data)["type"] == "ready"
    return ws


async def test_a_socket_that_stops_answering_pings_is_dropped_and_a_live_one_kept(
    served: Served, store: SqlStore
) -> None:
    ana, bob = await make_user(store, "ana"), await make_user(store, "bob")
    pings = 0
    ana_pinged_twice = asyncio.Event()

    async def answer_pings(ws: aiohttp.ClientWebSocketResponse) -> aiohttp.WSMessage:
        """Answer pings until some other frame comes, and return that."""
        nonlocal pings
        while True:
            msg = await ws.receive()
            if msg.type is not aiohttp.WSMsgType.PING:
                return msg
            pings += 1
            if pings == 2:
                ana_pinged_twice.set()
            await ws.pong(msg.data)

    async with aiohttp.ClientSession() as http:
        live = await ready(http, served, ana)
        answering = asyncio.ensure_future(answer_pings(live))
        dead = await ready(http, served, bob)
        msg = await dead.receive(timeout=5)  # bob's socket is pinged, and does not answer
        assert msg.type is aiohttp.WSMsgType.PING
        closed = await dead.receive(timeout=5)
        assert closed.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
        assert await asyncio.wait_for(served.detached.get(), 5) == bob.id
        assert served.hub.connections == 1

        await asyncio.wait_for(ana_pinged_twice.wait(), 5)  # ana's answers keep her socket
        assert not answering.done() and not live.closed
        assert served.hub.connections == 1 and served.detached.empty()
        await live.send_str('{"type":"ping"}')  # and it is still served
        msg = await asyncio.wait_for(answering, 5)
        assert msg.type is aiohttp.WSMsgType.TEXT and orjson.loads(msg.data) == {"type": "pong"}
        await live.close()
    assert await asyncio.wait_for(served.detached.get(), 5) == ana.id
