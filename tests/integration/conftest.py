"""The core suite runs twice: on the embedded server and on PostgreSQL.

Every test here that uses the shared ``server`` (directly or through
``new_user``) is collected once per store, as ``test_x[sqlite]`` and
``test_x[postgres]``; the PostgreSQL run carries the ``cluster`` mark (it needs
``scripts/services``). Tests that start servers of their own (``tmp_path``)
stay on SQLite.
"""

from __future__ import annotations

import pytest

from tests.support.server import ServerProcess


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.cluster)]
)
def server(request: pytest.FixtureRequest) -> ServerProcess:
    found: ServerProcess = request.getfixturevalue(f"{request.param}_server")
    return found
