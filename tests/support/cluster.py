"""A cluster for one test: gateways and persisters sharing a database, Redis and a topic."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.client import Socket
from tests.support.persister import PersisterProcess
from tests.support.server import OPERATOR, ServerProcess, free_port

READY_TIMEOUT = 30.0


async def readyz(url: str) -> tuple[int, dict[str, Any]]:
    """Status and, as the operator sees them, the per-check details."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            url + "/readyz", headers=OPERATOR, timeout=aiohttp.ClientTimeout(total=5)
        ) as response,
    ):
        body: dict[str, Any] = await response.json()
        return response.status, body


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 20.0, what: str = "condition"
) -> None:
    """Poll ``check`` until it holds; for states that have no event to wait on."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
            if await check():
                return
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(0.1)


async def wait_ready(url: str, timeout: float = READY_TIMEOUT) -> None:
    async def ok() -> bool:
        return (await readyz(url))[0] == 200

    await eventually(ok, timeout, f"{url}/readyz to answer 200")


class Cluster:
    """Processes started by one test and stopped after it."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env
        self.tag = secrets.token_hex(3)
        self.gateways: list[ServerProcess] = []
        self.persisters: list[PersisterProcess] = []

    async def gateway(self, **extra: str) -> ServerProcess:
        n = len(self.gateways) + 1
        env = {**self.env, "PARLEY_GATEWAY_ID": f"gw{n}-{self.tag}", **extra}
        proc = ServerProcess(self.root / f"gw{n}", env)
        self.gateways.append(proc)
        await proc.start()
        await wait_ready(proc.url)
        return proc

    async def start(self, gateways: int = 2, persisters: int = 1) -> list[ServerProcess]:
        """Start gateways and persisters side by side (each Python process takes seconds)."""
        started = await asyncio.gather(
            *(self.gateway() for _ in range(gateways)),
            *(self.persister() for _ in range(persisters)),
        )
        return [p for p in started if isinstance(p, ServerProcess)]

    async def persister(self) -> PersisterProcess:
        proc = PersisterProcess(self.root, self.env, name=f"persister{len(self.persisters) + 1}")
        self.persisters.append(proc)
        await proc.start()
        return proc

    async def close(self) -> None:
        await asyncio.gather(
            *(g.stop() for g in self.gateways),
            *(p.stop() for p in self.persisters),
            return_exceptions=True,
        )

    def logs(self) -> str:
        parts = [f"--- {g.log_path.name}\n{g.log()}" for g in self.gateways]
        parts += [f"--- {p.log_path.name}\n{p.log()}" for p in self.persisters]
        return "\n".join(parts)


class Nginx:
    """nginx as the WebSocket-aware load balancer, as ``scripts/cluster`` configures it."""

    def __init__(self, root: Path, upstream_ports: list[int]) -> None:
        self.root = root
        self.port = free_port()
        self.upstream_ports = upstream_ports
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @staticmethod
    def binary() -> str | None:
        return shutil.which("nginx") or (
            "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None
        )

    def config(self) -> str:
        servers = "\n".join(
            f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;"
            for p in self.upstream_ports
        )
        user = "user root root;\n" if os.geteuid() == 0 else ""
        return f"""{user}worker_processes 1;
pid {self.root}/nginx.pid;
error_log {self.root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {self.root}/tmp/body;
    proxy_temp_path {self.root}/tmp/proxy;
    fastcgi_temp_path {self.root}/tmp/fastcgi;
    uwsgi_temp_path {self.root}/tmp/uwsgi;
    scgi_temp_path {self.root}/tmp/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    upstream parley {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{self.port};
        location /ws {{
            proxy_pass http://parley;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
            proxy_buffering off;
        }}
        location / {{
            proxy_pass http://parley;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""

    async def start(self) -> None:
        binary = self.binary()
        if binary is None:
            raise RuntimeError("nginx is not installed (scripts/services up installs it)")
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        conf = self.root / "nginx.conf"
        conf.write_text(self.config())
        log = (self.root / "nginx.out").open("ab")
        self.process = await asyncio.create_subprocess_exec(
            binary,
            "-p",
            str(self.root),
            "-c",
            str(conf),
            "-g",
            "daemon off;",
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()

        async def listening() -> bool:
            assert self.process is not None
            if self.process.returncode is not None:
                raise RuntimeError((self.root / "nginx.out").read_text())
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                return False
            writer.close()
            return True

        await eventually(listening, 10, "nginx to listen")

    async def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)  # fast: do not wait for open sockets
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


# Client-side helpers that tolerate the stalls a failure test provokes.


async def _take(
    sock: Socket, fits: Callable[[dict[str, Any]], bool], timeout: float
) -> dict[str, Any]:
    for i, frame in enumerate(sock.backlog):
        if fits(frame):
            return sock.backlog.pop(i)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await sock._read(max(0.01, deadline - loop.time()))
        if fits(frame):
            return frame
        sock.backlog.append(frame)


async def outcome(sock: Socket, client_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """The ack or the error that answers the send ``client_id``."""
    return await _take(
        sock,
        lambda f: f.get("type") in ("ack", "error") and f.get("client_id") == client_id,
        timeout,
    )


async def send(
    sock: Socket, room: str, body: str, client_id: str, timeout: float = 60.0
) -> dict[str, Any]:
    """Send once; return the ack or the error frame."""
    await sock.send({"type": "send", "room": room, "body": body, "client_id": client_id})
    return await outcome(sock, client_id, timeout)


async def send_acked(
    sock: Socket, room: str, body: str, client_id: str, timeout: float = 90.0
) -> dict[str, Any]:
    """Send until acked, retrying the same client_id after ``unavailable`` as a client does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await send(sock, room, body, client_id, max(1.0, deadline - loop.time()))
        if frame["type"] == "ack":
            message: dict[str, Any] = frame["message"]
            return message
        assert frame["code"] == "unavailable", frame
        if loop.time() > deadline:
            raise AssertionError(f"{client_id} never acked: {frame}")
        await asyncio.sleep(0.2)  # a client's retry pause, not synchronisation


async def messages(
    sock: Socket, room: str, count: int, timeout: float = 60.0
) -> list[dict[str, Any]]:
    """The next ``count`` message events of ``room``, allowing long stalls in between."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    out: list[dict[str, Any]] = []
    while len(out) < count:
        frame = await _take(
            sock,
            lambda f: f.get("type") == "message" and f["message"]["room"] == room,
            max(0.01, deadline - loop.time()),
        )
        out.append(frame["message"])
    return out


def assert_contiguous(seen: list[dict[str, Any]], total: int) -> None:
    """Seq 1..total, each exactly once, in order."""
    assert [m["seq"] for m in seen] == list(range(1, total + 1))
