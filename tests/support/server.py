"""Runs the real ``parley serve`` in a subprocess on a free port, for integration tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp

# Cheap password hashing: tests register hundreds of users; argon2 defaults are the
# production cost and are exercised by the unit tests of the auth service.
FAST_HASHING = {"PARLEY_ARGON2_TIME_COST": "1", "PARLEY_ARGON2_MEMORY_KIB": "64"}
METRICS_TOKEN = "metrics-token-of-the-test-servers"
SERVER_SETTINGS = {
    **FAST_HASHING,
    # Every test client signs up from 127.0.0.1: the per-address limit has tests of its own.
    "PARLEY_AUTH_ADDRESS_LIMIT": "1000000",
    "PARLEY_METRICS_TOKEN": METRICS_TOKEN,
}
OPERATOR = {"Authorization": f"Bearer {METRICS_TOKEN}"}
"""Headers that open /metrics and the detail of /readyz on a test server."""
STARTUP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def spawn_parley(
    args: list[str], env: dict[str, str], log_path: Path
) -> asyncio.subprocess.Process:
    """``python -m parley ARGS`` in its own session, output appended to ``log_path``."""
    with log_path.open("ab") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "parley",
            *args,
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )


async def stop_process(process: asyncio.subprocess.Process | None, sig: int, grace: float) -> int:
    """Signal the process and wait for it; SIGKILL after ``grace`` seconds."""
    if process is None or process.returncode is not None:
        return 0 if process is None else process.returncode or 0
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(sig)
    try:
        return await asyncio.wait_for(process.wait(), grace)
    except TimeoutError:
        process.kill()
        return await process.wait()


def log_tail(path: Path) -> str:
    return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def inherited_env() -> dict[str, str]:
    """The test runner's environment without Parley settings.

    ``make test`` exports the cluster services' PARLEY_* URLs for the cluster
    suites; a server only uses them when a test passes them on explicitly.
    """
    return {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}


class ServerProcess:
    """One gateway process; ``restart()`` keeps its port and its database."""

    def __init__(
        self, data_dir: Path, env: dict[str, str] | None = None, port: int | None = None
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.env = {
            **inherited_env(),
            **SERVER_SETTINGS,
            "PARLEY_DATA_DIR": str(data_dir),
            "PARLEY_HOST": "127.0.0.1",
            "PARLEY_PORT": str(self.port),
            "PARLEY_LOG_LEVEL": os.environ.get("PARLEY_TEST_LOG_LEVEL", "WARNING"),
            **(env or {}),
        }
        self.process: asyncio.subprocess.Process | None = None
        self.log_path = data_dir / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = await spawn_parley(["serve"], self.env, self.log_path)
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT
        async with aiohttp.ClientSession() as http:
            while True:
                assert self.process is not None
                if self.process.returncode is not None:
                    raise RuntimeError(f"server exited early:\n{self.log()}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(self.url + "/healthz") as response:
                        if response.status == 200:
                            return
                if asyncio.get_running_loop().time() > deadline:
                    raise RuntimeError(f"server did not start:\n{self.log()}")
                await asyncio.sleep(0.05)

    async def __aenter__(self) -> ServerProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        process, self.process = self.process, None
        return await stop_process(process, sig, grace=15)

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    def log(self) -> str:
        return log_tail(self.log_path)
