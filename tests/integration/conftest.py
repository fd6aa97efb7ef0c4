"""The core suite runs twice: on the embedded server and on PostgreSQL.

Every test here that uses the shared ``server`` (directly or through
``new_user``) is collected once per store, as ``test_x[sqlite]`` and
``test_x[postgres]``; the PostgreSQL run carries the ``cluster`` mark (it needs
``scripts/services``). Tests that start servers of their own (``tmp_path``)
stay on SQLite.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from parley.config import normalise_database_url
from parley.store import SqlStore
from parley.store.migrate import upgrade_async
from tests.support.server import ServerProcess
from tests.support.services import Databases


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.cluster)]
)
def server(request: pytest.FixtureRequest) -> ServerProcess:
    found: ServerProcess = request.getfixturevalue(f"{request.param}_server")
    return found


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.cluster)])
def databases_or_none(request: pytest.FixtureRequest) -> Databases | None:
    """None for SQLite; PostgreSQL's fresh databases (a sync fixture may ask for them)."""
    if request.param == "sqlite":
        return None
    found: Databases = request.getfixturevalue("databases")
    return found


@pytest.fixture
async def store(databases_or_none: Databases | None, tmp_path: Path) -> AsyncIterator[SqlStore]:
    """A store of the test's own, on SQLite and on PostgreSQL (for the channels)."""
    if databases_or_none is None:
        url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
        await upgrade_async(url)
    else:
        url = normalise_database_url(await databases_or_none.new())
    db = SqlStore(url)
    yield db
    await db.close()
