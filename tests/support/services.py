"""PostgreSQL, Redis, Kafka and the S3-compatible store as the cluster tests use them
(started by ``scripts/services``).

``make test`` runs ``scripts/services up`` and exports their URLs; a plain
``pytest`` falls back to asking ``scripts/services env``. Every test session
works in databases and topics of its own, so nothing leaks between runs, and
tests that stop a service put it back with ``scripts/services up <service>``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import pytest
import redis.asyncio as aioredis
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from parley.config import normalise_database_url
from parley.store.migrate import upgrade_async

REPO = Path(__file__).resolve().parents[2]
SERVICES_SCRIPT = REPO / "scripts" / "services"
KEYS = (
    "PARLEY_DATABASE_URL",
    "PARLEY_REDIS_URL",
    "PARLEY_KAFKA_BOOTSTRAP",
    "PARLEY_S3_ENDPOINT",
    "PARLEY_S3_ACCESS_KEY",
    "PARLEY_S3_SECRET_KEY",
)
TEST_PARTITIONS = 4


@dataclass(frozen=True)
class Services:
    database_url: str
    """The ``parley`` role's own database: where test databases are created from."""
    redis_url: str
    kafka_bootstrap: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str

    def s3_env(self, bucket: str) -> dict[str, str]:
        """The settings that put a server's files in ``bucket`` of the S3-compatible store."""
        return {
            "PARLEY_S3_ENDPOINT": self.s3_endpoint,
            "PARLEY_S3_ACCESS_KEY": self.s3_access_key,
            "PARLEY_S3_SECRET_KEY": self.s3_secret_key,
            "PARLEY_S3_BUCKET": bucket,
        }


def discover() -> Services | str:
    """The services' URLs, or why they are not known."""
    env = {k: os.environ[k] for k in KEYS if os.environ.get(k)}
    if len(env) < len(KEYS) and SERVICES_SCRIPT.exists():
        try:
            out = subprocess.run(
                [str(SERVICES_SCRIPT), "env"], capture_output=True, text=True, timeout=30
            ).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            return f"scripts/services env failed: {exc}"
        for line in out.splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            if key in KEYS and key not in env:
                env[key] = value.strip().strip("'\"")
    missing = [k for k in KEYS if k not in env]
    if missing:
        return f"{', '.join(missing)} not set and scripts/services env did not provide them"
    if not env["PARLEY_DATABASE_URL"].startswith(("postgresql://", "postgres://")):
        return f"PARLEY_DATABASE_URL is not PostgreSQL: {env['PARLEY_DATABASE_URL']}"
    return Services(
        env["PARLEY_DATABASE_URL"],
        env["PARLEY_REDIS_URL"],
        env["PARLEY_KAFKA_BOOTSTRAP"],
        env["PARLEY_S3_ENDPOINT"],
        env["PARLEY_S3_ACCESS_KEY"],
        env["PARLEY_S3_SECRET_KEY"],
    )


async def problems(services: Services) -> list[str]:
    """What is not reachable right now (empty when all three answer)."""
    found: list[str] = []
    try:
        conn = await asyncio.wait_for(asyncpg.connect(services.database_url), 5)
        await conn.close()
    except Exception as exc:
        found.append(f"PostgreSQL at {services.database_url}: {exc!r}")
    client = aioredis.Redis.from_url(services.redis_url, socket_connect_timeout=3)
    try:
        await client.ping()
    except Exception as exc:
        found.append(f"Redis at {services.redis_url}: {exc!r}")
    finally:
        await client.aclose()
    admin = AIOKafkaAdminClient(bootstrap_servers=services.kafka_bootstrap)
    try:
        await asyncio.wait_for(admin.start(), 10)
    except Exception as exc:
        found.append(f"Kafka at {services.kafka_bootstrap}: {exc!r}")
    finally:
        await admin.close()
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                services.s3_endpoint + "/", timeout=aiohttp.ClientTimeout(total=5)
            ) as response,
        ):
            if response.status not in (200, 403):
                found.append(f"S3 at {services.s3_endpoint}: HTTP {response.status}")
    except Exception as exc:
        found.append(f"S3 at {services.s3_endpoint}: {exc!r}")
    return found


def unavailable(reason: str) -> None:
    """With CI=true a missing service fails the run; locally the cluster tests skip."""
    message = f"cluster services unavailable ({reason}); start them with `scripts/services up`"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def database_url(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path="/" + name))


class Databases:
    """Per-test databases cloned from one migrated template (a clone takes milliseconds)."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.prefix = f"parley_t{secrets.token_hex(4)}"
        self.template = f"{self.prefix}_template"
        self.created: list[str] = []
        self._count = 0

    async def _execute(self, sql: str) -> None:
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def prepare(self) -> None:
        await self._execute(f'CREATE DATABASE "{self.template}"')
        self.created.append(self.template)
        await upgrade_async(normalise_database_url(database_url(self.admin_url, self.template)))

    async def new(self) -> str:
        """A fresh migrated database; returns its postgresql:// URL."""
        self._count += 1
        name = f"{self.prefix}_{self._count}"
        await self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.created.append(name)
        return database_url(self.admin_url, name)

    async def drop_all(self) -> None:
        for name in reversed(self.created):
            try:
                await self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as exc:  # a stopped PostgreSQL must not hide the test result
                print(f"could not drop test database {name}: {exc!r}")
        self.created.clear()


class Topics:
    """Kafka topics of this test session only, so no old record ever reaches a test."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.prefix = f"parley.test.{secrets.token_hex(4)}"
        self.created: list[str] = []

    async def new(self, partitions: int = TEST_PARTITIONS) -> str:
        name = f"{self.prefix}.{len(self.created) + 1}"
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(name, partitions, replication_factor=1)])
        finally:
            await admin.close()
        self.created.append(name)
        return name

    async def delete_all(self) -> None:
        if not self.created:
            return
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        try:
            await asyncio.wait_for(admin.start(), 10)
            await admin.delete_topics(self.created)
        except Exception as exc:
            print(f"could not delete test topics: {exc!r}")
        finally:
            await admin.close()
        self.created.clear()


async def service(action: str, name: str) -> None:
    """``scripts/services up|down <name>``; raises with its output when it fails."""
    proc = await asyncio.create_subprocess_exec(
        str(SERVICES_SCRIPT),
        action,
        name,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"scripts/services {action} {name} failed:\n{out.decode()}")


async def running() -> Services:
    """The services, checked reachable; fails under CI, skips locally, when they are not."""
    found = discover()
    if isinstance(found, str):
        unavailable(found)
        raise AssertionError("unreachable")
    missing = await problems(found)
    if missing:
        unavailable("; ".join(missing))
    return found
