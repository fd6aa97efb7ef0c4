"""Start and stop the servers under test: Parley (``python -m parley serve``) and the peer."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import aiohttp

from bench.common import free_port, log

# Bench settings: cheap password hashing (the bench registers thousands of users) and
# rate limits out of the way (one bench connection stands for a busy bot, not a person).
BENCH_ENV = {
    "PARLEY_ARGON2_TIME_COST": "1",
    "PARLEY_ARGON2_MEMORY_KIB": "64",
    "PARLEY_SEND_RATE": "1000000",
    "PARLEY_SEND_BURST": "1000000",
    "PARLEY_TYPING_LIMIT": "1000000",
    "PARLEY_ROOM_CREATE_LIMIT": "1000000",
    "PARLEY_MEMBER_ADD_LIMIT": "1000000",
    "PARLEY_FRAME_RATE": "1000000",
    "PARLEY_FRAME_BURST": "1000000",
    "PARLEY_LOGIN_MAX_FAILURES": "1000",
    "PARLEY_AUTH_ADDRESS_LIMIT": "1000000",
    "PARLEY_ACCESS_TOKEN_TTL": "86400",
    "PARLEY_LOG_LEVEL": "WARNING",
}


def scratch_dir(prefix: str, base: str | None) -> Path:
    """A temporary data folder, on tmpfs (/dev/shm) unless ``base`` says otherwise."""
    if base is None:
        base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))


class Server:
    """One server process on a free port of 127.0.0.1, in its own process group."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        port: int,
        log_path: Path,
        ready_path: str = "/healthz",
    ) -> None:
        self.argv = argv
        self.env = env
        self.port = port
        self.log_path = log_path
        self.ready_path = ready_path
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 60.0) -> None:
        with self.log_path.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, env=self.env, stdout=out, stderr=out, start_new_session=True
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with aiohttp.ClientSession() as http:
            while True:
                if self.process.returncode is not None:
                    raise RuntimeError(f"server exited early:\n{self.tail()}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(self.url + self.ready_path) as r:
                        if r.status < 500:
                            return
                if loop.time() > deadline:
                    raise RuntimeError(f"server did not start:\n{self.tail()}")
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def base_env() -> dict[str, str]:
    """This process's environment minus Parley settings.

    ``make test`` exports the cluster services' PARLEY_* URLs; a bench server
    must only use the ones its scenario passes on, or an embedded-mode run
    would silently measure the cluster.
    """
    return {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}


class ParleyServer(Server):
    def __init__(
        self,
        data_dir: Path,
        extra_env: dict[str, str] | None = None,
        port: int | None = None,
        argv: list[str] | None = None,
    ) -> None:
        port = port or free_port()
        env = {
            **base_env(),
            **BENCH_ENV,
            "PARLEY_DATA_DIR": str(data_dir),
            "PARLEY_HOST": "127.0.0.1",
            "PARLEY_PORT": str(port),
            **(extra_env or {}),
        }
        super().__init__(
            argv or [sys.executable, "-m", "parley", "serve"],
            env,
            port,
            data_dir / f"server-{port}.log",
        )
        self.data_dir = data_dir

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"


def cleanup(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


async def run_module(
    module_argv: list[str], env: dict[str, str], log_path: Path
) -> asyncio.subprocess.Process:
    """A helper process (e.g. a persister) in its own session, logging to ``log_path``."""
    with log_path.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, *module_argv, env=env, stdout=out, stderr=out, start_new_session=True
        )
    log(f"started {' '.join(module_argv)} (pid {proc.pid})")
    return proc


async def stop_process(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), 15)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
