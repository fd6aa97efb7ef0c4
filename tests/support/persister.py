"""Runs the real ``parley worker persist`` in a subprocess, next to ``ServerProcess``."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from tests.support.server import (
    FAST_HASHING,
    METRICS_TOKEN,
    inherited_env,
    log_tail,
    spawn_parley,
    stop_process,
)

ASSIGN_TIMEOUT = 40.0
"""Joining the group can wait out a killed worker's session timeout (10 s) first."""
ASSIGNED = b"persister assigned "
NOTIFY_ASSIGNED = b"notify worker assigned "


class PersisterProcess:
    """One persister worker; ``start()`` returns once it holds partitions."""

    def __init__(
        self,
        data_dir: Path,
        env: dict[str, str],
        name: str = "persister",
        *,
        worker: str = "persist",
        assigned: bytes = ASSIGNED,
    ) -> None:
        """``worker``: ``parley worker <worker>``; ``assigned``: its log line on getting
        partitions (the notify worker's is ``NOTIFY_ASSIGNED``)."""
        self.data_dir = data_dir
        self.worker = worker
        self.assigned = assigned
        self.env = {
            **inherited_env(),
            **FAST_HASHING,
            "PARLEY_DATA_DIR": str(data_dir),
            "PARLEY_LOG_LEVEL": "WARNING",
            "PARLEY_METRICS_TOKEN": METRICS_TOKEN,
            **env,
        }
        self.process: asyncio.subprocess.Process | None = None
        self.log_path = data_dir / f"{name}.log"

    async def start(self, *, wait: bool = True) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        seen = self._assignments()
        self.process = await spawn_parley(["worker", self.worker], self.env, self.log_path)
        if wait:
            await self.wait_assigned(after=seen)

    def _assignments(self) -> int:
        if not self.log_path.exists():
            return 0
        return self.log_path.read_bytes().count(self.assigned)

    async def wait_assigned(self, after: int) -> None:
        """Wait until the log shows a partition assignment newer than the ``after``-th."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ASSIGN_TIMEOUT
        while self._assignments() <= after:
            assert self.process is not None
            if self.process.returncode is not None:
                raise RuntimeError(f"persister exited early:\n{self.log()}")
            if loop.time() > deadline:
                raise RuntimeError(f"persister got no partitions:\n{self.log()}")
            await asyncio.sleep(0.05)

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        process, self.process = self.process, None
        return await stop_process(process, sig, grace=20)

    async def kill(self) -> None:
        """SIGKILL: no chance to finish the batch or commit offsets."""
        await self.stop(signal.SIGKILL)

    def log(self) -> str:
        return log_tail(self.log_path)
