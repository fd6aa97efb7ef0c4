"""py-spy around a measurement window (``--profile PREFIX``): a speedscope file and raw stacks."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from pathlib import Path

from bench.common import log


def _py_spy() -> str:
    exe = Path(sys.executable).with_name("py-spy")
    if exe.exists():
        return str(exe)
    found = shutil.which("py-spy")
    if found is None:
        raise RuntimeError("py-spy not found: uv sync --group bench")
    return found


async def start(pid: int, prefix: str) -> asyncio.subprocess.Process:
    path = Path(prefix + ".txt")
    path.parent.mkdir(parents=True, exist_ok=True)
    # --native needs py-spy to pause the process at every sample, which slows a busy
    # gateway several-fold and changes what it does (less coalescing); by default the
    # sampling is non-blocking and C functions count in the Python line calling them.
    mode = ["--native"] if os.environ.get("BENCH_PROFILE_NATIVE") == "1" else ["--nonblocking"]
    proc = await asyncio.create_subprocess_exec(
        _py_spy(),
        "record",
        *mode,
        "--rate",
        "200",
        "--format",
        "raw",
        "--output",
        str(path),
        "--pid",
        str(pid),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await asyncio.sleep(1.0)  # py-spy attaches
    log(f"py-spy recording pid {pid} into {path}")
    return proc


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()
