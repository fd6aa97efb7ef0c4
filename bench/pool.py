"""The driver's side of the client processes: spawn, configure, command, collect."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import psutil

from bench.common import ROOT, cpu_seconds, log


class WorkerProc:
    def __init__(self, proc: asyncio.subprocess.Process, index: int) -> None:
        self.proc = proc
        self.index = index

    async def send(self, doc: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(doc).encode() + b"\n")
        await self.proc.stdin.drain()

    async def expect(self, kind: str, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while True:
            line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
            if not line:
                raise RuntimeError(
                    f"client process {self.index} exited (code {self.proc.returncode})"
                )
            head, _, rest = line.decode().partition(" ")
            if head == kind:
                doc: dict[str, Any] = json.loads(rest)
                return doc


class Pool:
    """K client processes sharing out a list of connection specs."""

    def __init__(
        self, proto: str, url: str, specs: list[dict[str, Any]], processes: int, **cfg: Any
    ) -> None:
        self.proto = proto
        self.url = url
        self.specs = specs
        self.k = max(1, min(processes, len(specs) or 1))
        self.cfg = cfg
        self.workers: list[WorkerProc] = []
        self.shares: list[list[int]] = []

    async def start(self, timeout: float = 600) -> dict[str, Any]:
        """Spawn, connect every connection (auth included), return the merged READY report."""
        self.shares = [list(range(i, len(self.specs), self.k)) for i in range(self.k)]
        for i, share in enumerate(self.shares):
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.worker",
                cwd=str(ROOT),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=1 << 26,
            )
            w = WorkerProc(proc, i)
            self.workers.append(w)
            await w.send(
                {
                    "proto": self.proto,
                    "url": self.url,
                    "worker": i,
                    "conns": [self.specs[j] for j in share],
                    **self.cfg,
                }
            )
        reports = await asyncio.gather(*(w.expect("READY", timeout) for w in self.workers))
        merged = {
            "ok": sum(r["ok"] for r in reports),
            "failed": sum(r["failed"] for r in reports),
            "seconds": max(r["seconds"] for r in reports),
            "connect_ms": [x for r in reports for x in r["connect_ms"]],
            "errors": [e for r in reports for e in r["errors"]][:5],
        }
        if merged["failed"]:
            log(f"{merged['failed']} connections failed: {merged['errors']}")
        return merged

    def local_index(self, global_index: int) -> tuple[int, int]:
        """(worker, index within that worker) of a spec."""
        return global_index % self.k, global_index // self.k

    async def broadcast(self, doc: dict[str, Any] | list[dict[str, Any]]) -> None:
        docs = doc if isinstance(doc, list) else [doc] * len(self.workers)
        await asyncio.gather(*(w.send(d) for w, d in zip(self.workers, docs, strict=True)))

    async def collect(self, kind: str, timeout: float) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(w.expect(kind, timeout) for w in self.workers)))

    def cpu(self) -> float:
        procs = []
        for w in self.workers:
            try:
                procs.append(psutil.Process(w.proc.pid))
            except psutil.NoSuchProcess:
                pass
        return cpu_seconds(procs)

    @property
    def pids(self) -> list[int]:
        return [w.proc.pid for w in self.workers]

    async def stop(self) -> None:
        for w in self.workers:
            try:
                await w.send({"cmd": "quit"})
                assert w.proc.stdin is not None
                w.proc.stdin.close()
            except (ConnectionError, RuntimeError):
                pass
        for w in self.workers:
            try:
                await asyncio.wait_for(w.proc.wait(), 20)
            except TimeoutError:
                w.proc.kill()
                await w.proc.wait()
        self.workers = []


def merge_stats(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum the counters of several workers' STATS/DONE/STEP documents, concatenating samples."""
    out: dict[str, Any] = {"errors": {}}
    for d in docs:
        for k, v in d.items():
            if k == "errors":
                for code, n in v.items():
                    out["errors"][code] = out["errors"].get(code, 0) + n
            elif isinstance(v, list):
                out.setdefault(k, []).extend(v)
            elif k in ("t_last_receive", "per_conn_max"):
                out[k] = max(out.get(k, v), v)
            elif k == "per_conn_min":
                out[k] = min(out.get(k, v), v)
            elif isinstance(v, (int, float)):
                out[k] = out.get(k, 0) + v
    return out
