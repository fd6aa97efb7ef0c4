"""Shared helpers: process CPU/RSS from /proc, percentiles, results, progress lines."""

from __future__ import annotations

import json
import os
import platform
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def log(msg: str) -> None:
    """A progress line on stderr, stamped with the time since the bench started."""
    print(f"[bench {time.monotonic() - _T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


_T0 = time.monotonic()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raise_nofile(want: int = 1 << 20) -> int:
    """Raise the soft open-files limit as far as the hard limit allows (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(want, hard) if hard != resource.RLIM_INFINITY else want
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def tree(pid: int) -> list[psutil.Process]:
    try:
        p = psutil.Process(pid)
        return [p, *p.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def cpu_split(procs: list[psutil.Process]) -> tuple[float, float]:
    """(user, system) seconds of the given processes."""
    user = system = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            user += t.user
            system += t.system
        except psutil.NoSuchProcess:
            pass
    return user, system


def cpu_seconds(procs: list[psutil.Process]) -> float:
    """user + sys of the given processes (children that exited are not counted)."""
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def rss_bytes(procs: list[psutil.Process]) -> int:
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def percentiles(values: list[float], qs: tuple[float, ...] = (50, 95, 99)) -> dict[str, float]:
    if not values:
        return {f"p{int(q)}": float("nan") for q in qs} | {"max": float("nan"), "n": 0}
    s = sorted(values)
    out: dict[str, float] = {}
    for q in qs:
        k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
        out[f"p{int(q)}"] = round(s[k], 3)
    out["max"] = round(s[-1], 3)
    out["n"] = len(s)
    return out


def cdf_points(values: list[float], points: int = 200) -> list[list[float]]:
    """A downsampled CDF (value, fraction) for the report's latency chart."""
    if not values:
        return []
    s = sorted(values)
    n = len(s)
    idx = sorted({min(n - 1, round(i * (n - 1) / (points - 1))) for i in range(points)})
    return [[round(s[i], 3), round((i + 1) / n, 5)] for i in idx]


def median(values: list[float]) -> float:
    s = sorted(v for v in values if v == v)
    if not s:
        return float("nan")
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


_GIT: dict[str, Any] = {}


def git_commit() -> dict[str, Any]:
    """The commit measured: taken once, when a scenario starts (the tree may move on)."""
    if not _GIT:
        _GIT.update(_git_now())
    return dict(_GIT)


def _git_now() -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "commit": git("rev-parse", "--short=12", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "src")),
    }


def machine() -> dict[str, Any]:
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "mem_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "loadavg": os.getloadavg(),
    }


def write_result(
    scenario: str, params: dict[str, Any], figures: dict[str, Any], out: Path | None = None
) -> Path:
    """One JSON file per run under bench/results/ (git-ignored)."""
    folder = out or RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = folder / f"{stamp}-{scenario}-{os.getpid()}.json"
    doc = {
        "scenario": scenario,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "git": git_commit(),
        "machine": machine(),
        "params": params,
        "figures": figures,
    }
    path.write_text(json.dumps(doc, indent=1, default=str))
    log(f"result written to {path}")
    return path


class Window:
    """CPU of a process tree over a measurement window, plus the machine's CPU for context."""

    def __init__(self, pids: list[int]) -> None:
        self.procs = [p for pid in pids for p in tree(pid)]
        self.threads0 = self._threads()
        self.t0 = time.monotonic()
        self.cpu0 = cpu_seconds(self.procs)
        self.split0 = cpu_split(self.procs)
        self.sys0 = psutil.cpu_times()

    def _threads(self) -> dict[int, float]:
        """CPU seconds per thread of the first process (the gateway's main loop vs helpers)."""
        try:
            return {t.id: t.user_time + t.system_time for t in self.procs[0].threads()}
        except (psutil.NoSuchProcess, IndexError):
            return {}

    def thread_split(self) -> dict[str, float]:
        """CPU seconds since the start: the main thread (event loop) and all other threads."""
        now = self._threads()
        main_id = self.procs[0].pid if self.procs else -1
        main = now.get(main_id, 0.0) - self.threads0.get(main_id, 0.0)
        others = sum(v - self.threads0.get(k, 0.0) for k, v in now.items() if k != main_id)
        return {"main_thread_s": main, "other_threads_s": others}

    def stop(self) -> dict[str, float]:
        split = self.thread_split()
        cpu1 = cpu_seconds(self.procs)
        user1, sys1_ = cpu_split(self.procs)
        split["user_s"] = user1 - self.split0[0]
        split["sys_s"] = sys1_ - self.split0[1]
        t1 = time.monotonic()
        sys1 = psutil.cpu_times()
        steal = getattr(sys1, "steal", 0.0) - getattr(self.sys0, "steal", 0.0)
        busy1 = (
            sys1.user
            + sys1.system
            + sys1.nice
            + getattr(sys1, "irq", 0)
            + getattr(sys1, "softirq", 0)
        )
        busy0 = (
            self.sys0.user
            + self.sys0.system
            + self.sys0.nice
            + getattr(self.sys0, "irq", 0)
            + getattr(self.sys0, "softirq", 0)
        )
        # Threads that ended during the window count in the process, not in the list.
        split["other_threads_s"] = max(0.0, cpu1 - self.cpu0 - split["main_thread_s"])
        return {
            "cpu_s": cpu1 - self.cpu0,
            "wall_s": t1 - self.t0,
            "machine_busy_s": busy1 - busy0,
            "steal_s": steal,
            **split,
        }
