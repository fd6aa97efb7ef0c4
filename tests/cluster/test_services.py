"""``scripts/services restart`` under load: every service comes back while clients hammer it.

Two kinds of client run through each restart: one that reconnects in a tight loop
with no backoff (what broke Kafka restarts when the ports lay in the kernel's
ephemeral range: such a client can be handed the service's own port as its source
port and connect to itself, so the service cannot bind it again), and the real
client library doing real work. The restart must succeed with a new process, both
clients must get through to it afterwards, and ``down`` must have returned only once
the old process was gone (else ``up`` finds the port taken and fails).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import asyncpg
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer

from tests.support.cluster import eventually
from tests.support.services import SERVICES_SCRIPT, Services

pytestmark = pytest.mark.cluster

RESTART_TIMEOUT = 120.0
BACK_TIMEOUT = 30.0


@dataclass
class Load:
    """What a client saw: attempts refused, and when its operations last worked."""

    refused: int = 0
    ok: int = 0
    last_ok: float = 0.0
    errors: list[str] = field(default_factory=list)

    def succeeded(self) -> None:
        self.ok += 1
        self.last_ok = time.monotonic()


async def reconnect_loop(port: int, load: Load, stop: asyncio.Event) -> None:
    """Open and close connections back to back, retrying at once when refused."""
    while not stop.is_set():
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            load.refused += 1
            await asyncio.sleep(0.001)
            continue
        load.succeeded()
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def postgres_work(services: Services, load: Load, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            conn = await asyncio.wait_for(asyncpg.connect(services.database_url), 5)
            try:
                assert await conn.fetchval("SELECT 1") == 1
                load.succeeded()
            finally:
                await conn.close()
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            load.errors.append(repr(exc))
            await asyncio.sleep(0.05)


async def redis_work(services: Services, load: Load, stop: asyncio.Event) -> None:
    client = aioredis.Redis.from_url(services.redis_url, socket_timeout=3)
    try:
        while not stop.is_set():
            try:
                await client.set("parley:test:restart", "x")
                load.succeeded()
            except (OSError, aioredis.RedisError) as exc:
                load.errors.append(repr(exc))
                await asyncio.sleep(0.05)
    finally:
        await client.aclose()


async def kafka_work(services: Services, load: Load, stop: asyncio.Event) -> None:
    topic = f"parley.test.restart.{secrets.token_hex(4)}"
    while not stop.is_set():
        producer = AIOKafkaProducer(
            bootstrap_servers=services.kafka_bootstrap, request_timeout_ms=5000
        )
        try:
            await asyncio.wait_for(producer.start(), 10)
            while not stop.is_set():
                await asyncio.wait_for(producer.send_and_wait(topic, b"x"), 10)
                load.succeeded()
        except Exception as exc:  # any client failure while the broker restarts: retry
            load.errors.append(repr(exc))
            await asyncio.sleep(0.05)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), 10)


Work = Callable[[Services, Load, asyncio.Event], Coroutine[None, None, None]]
WORK: dict[str, Work] = {"postgres": postgres_work, "redis": redis_work, "kafka": kafka_work}


def port_of(services: Services, name: str) -> int:
    url = {
        "postgres": services.database_url,
        "redis": services.redis_url,
        "kafka": "kafka://" + services.kafka_bootstrap,
    }[name]
    port = urlsplit(url).port
    assert port is not None
    return port


async def scripts_services(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        str(SERVICES_SCRIPT),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), RESTART_TIMEOUT)
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


async def service_pid(name: str) -> int:
    code, out = await scripts_services("status", name)
    assert code == 0, out
    found = re.search(r"\bpid (\d+)", out)
    assert found is not None, out
    return int(found.group(1))


@pytest.mark.parametrize("name", ["postgres", "redis", "kafka"])
async def test_restart_under_load_comes_back(services: Services, name: str) -> None:
    port = port_of(services, name)
    old_pid = await service_pid(name)
    load, hammer = Load(), Load()
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(WORK[name](services, load, stop)),
        *(asyncio.create_task(reconnect_loop(port, hammer, stop)) for _ in range(2)),
    ]
    try:

        async def working() -> bool:
            return load.ok > 0 and hammer.ok > 0

        await eventually(working, BACK_TIMEOUT, f"the {name} clients to work before the restart")
        code, out = await scripts_services("restart", name)
        assert code == 0, out
        restarted = time.monotonic()

        async def back() -> bool:
            return load.last_ok > restarted and hammer.last_ok > restarted

        await eventually(back, BACK_TIMEOUT, f"the {name} clients to get through after it")
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert await service_pid(name) != old_pid, "the service was not restarted"
