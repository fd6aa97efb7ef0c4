"""The HTTP API fuzzer of ``tests/integration`` again, on PostgreSQL.

PostgreSQL refuses what SQLite stores (a NUL in a text column), so the same
requests must meet the same 4xx here, never a 500.
"""

from __future__ import annotations

import pytest

from tests.integration.test_fuzz_api import target, test_api_conforms_to_its_description
from tests.support.server import ServerProcess

__all__ = ["target", "test_api_conforms_to_its_description"]

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="session")
def server(postgres_server: ServerProcess) -> ServerProcess:
    return postgres_server
