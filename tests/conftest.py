"""Fixtures shared by every suite: real server processes and signed-in clients."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from hypothesis import HealthCheck, settings

from tests.support import oidc
from tests.support.client import Client
from tests.support.server import ServerProcess
from tests.support.services import Databases, Services, running

# Hypothesis's timing checks fail a test when the machine is slow, not when the code is:
# on a fresh checkout the first text() draw builds Hypothesis's Unicode tables, which
# takes seconds on a busy machine and failed the too_slow health check. Properties are
# still checked on every example; only the clock is ignored.
settings.register_profile("parley", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("parley")


@pytest.fixture(scope="session")
async def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ServerProcess]:
    """One embedded-mode server shared by the tests that do not restart it."""
    proc = ServerProcess(tmp_path_factory.mktemp("server"))
    await proc.start()
    yield proc
    await proc.stop()


@pytest.fixture(scope="session")
async def oidc_provider(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[oidc.OidcProvider]:
    """The OpenID Connect provider (npm's oidc-provider) on PARLEY_OIDC_PORT or a free port."""
    await asyncio.to_thread(oidc.install)
    port = int(os.environ.get("PARLEY_OIDC_PORT") or 0) or None
    provider = oidc.OidcProvider(tmp_path_factory.mktemp("oidc"), port)
    await provider.start()
    yield provider
    await provider.stop()


@pytest.fixture(scope="session")
async def services() -> Services:
    """PostgreSQL, Redis and Kafka from ``scripts/services``; fails under CI when missing."""
    return await running()


@pytest.fixture(scope="session")
async def databases(services: Services) -> AsyncIterator[Databases]:
    dbs = Databases(services.database_url)
    await dbs.prepare()
    yield dbs
    await dbs.drop_all()


@pytest.fixture(scope="session")
async def postgres_server(
    tmp_path_factory: pytest.TempPathFactory, databases: Databases
) -> AsyncIterator[ServerProcess]:
    """One gateway on PostgreSQL with the direct log: no Redis, no Kafka."""
    env = {
        "PARLEY_DATABASE_URL": await databases.new(),
        "PARLEY_SECRET_KEY": secrets.token_urlsafe(48),
    }
    proc = ServerProcess(tmp_path_factory.mktemp("postgres_server"), env)
    await proc.start()
    yield proc
    await proc.stop()


@pytest.fixture(scope="session")
def server(sqlite_server: ServerProcess) -> ServerProcess:
    """The shared server: embedded mode here; tests/integration also runs on PostgreSQL."""
    return sqlite_server


@pytest.fixture
async def fresh_server(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    """A server of the test's own, for tests that restart it or need other settings."""
    proc = ServerProcess(tmp_path / "server")
    await proc.start()
    yield proc
    await proc.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


UserFactory = Callable[..., Awaitable[Client]]


@pytest.fixture
def new_user(http: aiohttp.ClientSession, server: ServerProcess) -> UserFactory:
    async def make(base_url: str | None = None) -> Client:
        return await Client(http, base_url or server.url).register()

    return make
