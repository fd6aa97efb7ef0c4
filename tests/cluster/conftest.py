"""Fixtures of the cluster suite: real PostgreSQL, Redis and Kafka from ``scripts/services``.

(``services`` and ``databases`` are in tests/conftest.py: the integration suite
uses them too.) Each test gets a database cloned from a migrated template, a Kafka topic and a
consumer group of its own, so tests never see each other's messages, and a
``Cluster`` whose processes are stopped when the test ends. With ``CI=true`` a
service that is not reachable fails the session instead of skipping it.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Generator
from pathlib import Path

import pytest

from tests.support.cluster import Cluster
from tests.support.services import Databases, Services, Topics
from tests.support.supervised import SupervisedCluster

SECRET_KEY = secrets.token_urlsafe(48)
"""Shared by every gateway of a test, so a token from one is valid on the others."""


@pytest.fixture(scope="session")
async def topics(services: Services) -> AsyncIterator[Topics]:
    made = Topics(services.kafka_bootstrap)
    yield made
    await made.delete_all()


@pytest.fixture
async def cluster_env(services: Services, databases: Databases, topics: Topics) -> dict[str, str]:
    topic = await topics.new()
    return {
        "PARLEY_DATABASE_URL": await databases.new(),
        "PARLEY_REDIS_URL": services.redis_url,
        "PARLEY_KAFKA_BOOTSTRAP": services.kafka_bootstrap,
        "PARLEY_KAFKA_TOPIC": topic,
        "PARLEY_KAFKA_GROUP": f"{topic}.persist",
        "PARLEY_NOTIFY_GROUP": f"{topic}.notify",
        "PARLEY_SECRET_KEY": SECRET_KEY,
        "PARLEY_PRESENCE_TTL": "3",
        "PARLEY_ACK_TIMEOUT": "10",
        # Per-user budgets live in the one Redis every test shares, keyed by user id,
        # and each test's database numbers its users from 1 again: generous budgets
        # keep one test's users from spending another's (tests of the limits set theirs).
        "PARLEY_SEND_RATE": "1000",
        "PARLEY_SEND_BURST": "1000",
        "PARLEY_TYPING_LIMIT": "100000",
        "PARLEY_ROOM_CREATE_LIMIT": "100000",
        "PARLEY_MEMBER_ADD_LIMIT": "100000",
        # Gateways share their files through the S3-compatible store, a bucket per test.
        **services.s3_env(f"{topic.replace('.', '-').replace('_', '-').lower()[:50]}-files"),
    }


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember a failed call, so the ``cluster`` fixture prints its processes' logs."""
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


@pytest.fixture
async def cluster(
    request: pytest.FixtureRequest, tmp_path: Path, cluster_env: dict[str, str]
) -> AsyncIterator[Cluster]:
    """Nothing is started yet: each test starts the gateways and persisters it needs."""
    made = Cluster(tmp_path, cluster_env)
    yield made
    await made.close()
    if request.node.stash.get(_FAILED, False):
        print(made.logs())


@pytest.fixture
async def supervised(
    request: pytest.FixtureRequest, cluster_env: dict[str, str]
) -> AsyncIterator[SupervisedCluster]:
    """``scripts/cluster`` with two gateways and a persister under supervisord, started."""
    made = SupervisedCluster(cluster_env, gateways=2, persisters=1)
    try:
        await made.start()
        yield made
    finally:
        if request.node.stash.get(_FAILED, True):
            print(made.logs())
        await made.close()
