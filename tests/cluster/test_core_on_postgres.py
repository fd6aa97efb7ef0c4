"""The core integration suite again, on PostgreSQL (direct log, no Redis, no Kafka).

Every test of ``tests/integration`` that runs against the shared ``server``
(directly or through ``new_user``) is collected here a second time, with
``server`` overridden to the session's ``pg_server``. Tests that start servers of
their own (``tmp_path``) stay SQLite-only. New core tests are picked up without
touching this file.
"""

from __future__ import annotations

import inspect
from types import ModuleType

import pytest

from tests.integration import test_http_api, test_input_hardening, test_sessions, test_websocket
from tests.support.server import ServerProcess

pytestmark = pytest.mark.cluster

CORE_MODULES: tuple[ModuleType, ...] = (
    test_http_api,
    test_input_hardening,
    test_sessions,
    test_websocket,
)


@pytest.fixture(scope="session")
def server(pg_server: ServerProcess) -> ServerProcess:
    """The lead's ``server`` and ``new_user`` fixtures now reach PostgreSQL."""
    return pg_server


def _on_the_shared_server() -> dict[str, object]:
    found: dict[str, object] = {}
    for module in CORE_MODULES:
        for name, test in vars(module).items():
            if not name.startswith("test_") or not inspect.iscoroutinefunction(test):
                continue
            needs = set(inspect.signature(test).parameters)
            if needs & {"new_user", "server"} and "tmp_path" not in needs:
                found[name] = test
    return found


globals().update(_on_the_shared_server())
