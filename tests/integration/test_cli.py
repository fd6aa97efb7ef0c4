"""The ``parley`` command line: migrate and user creation, then a real sign-in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiohttp

from parley import cli
from tests.support.client import Client
from tests.support.server import FAST_HASHING, ServerProcess, inherited_env


def parley(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**inherited_env(), **FAST_HASHING, "PARLEY_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "parley", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_migrate_create_user_and_sign_in(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    data = tmp_path / "data"
    assert parley(data, "migrate").returncode == 0
    created = parley(
        data, "user", "create", "Admin", "--display-name", "The Admin", stdin="s3cret-password\n"
    )
    assert created.returncode == 0, created.stderr
    assert "created user admin" in created.stdout
    again = parley(data, "user", "create", "admin", stdin="s3cret-password\n")
    assert again.returncode != 0 and "taken" in again.stderr
    weak = parley(data, "user", "create", "bob", stdin="short\n")
    assert weak.returncode != 0 and "password" in weak.stderr

    server = ServerProcess(data)
    await server.start()
    try:
        admin = Client(http, server.url)
        session = await admin.call(
            "POST",
            "/api/auth/login",
            {"username": "admin", "password": "s3cret-password"},
            auth=False,
            expect=200,
        )
        assert session["user"]["display_name"] == "The Admin"
    finally:
        await server.stop()


def test_bad_configuration_is_reported_clearly(tmp_path: Path) -> None:
    env = {**inherited_env(), "PARLEY_DATA_DIR": str(tmp_path), "PARLEY_PORT": "nope"}
    result = subprocess.run(
        [sys.executable, "-m", "parley", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "PARLEY_PORT must be a whole number" in result.stderr


def test_bench_is_an_optional_command_found_through_its_entry_point(tmp_path: Path) -> None:
    assert set(cli._extra("bench")) == {"matplotlib", "picows", "psutil", "py-spy"}
    assert cli._missing("bench") == []  # the dev install has the extra
    shown = parley(tmp_path, "bench", "--help")
    assert shown.returncode == 0 and "fanout" in shown.stdout, shown.stderr
