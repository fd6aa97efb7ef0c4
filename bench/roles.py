"""CPU per process group over a measurement window, so each part's cost per event shows.

Groups are gateways, persisters, the services this run talks to (Kafka, PostgreSQL,
Redis: found by the port of their configured URL, since the machine may run other
copies of them) and the load clients. A group is a set of process trees; processes
started during the window (a PostgreSQL backend) count from zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

import psutil

from bench.common import tree

SERVICE_URLS = {
    "kafka": "PARLEY_KAFKA_BOOTSTRAP",
    "postgres": "PARLEY_DATABASE_URL",
    "redis": "PARLEY_REDIS_URL",
}


def _port(url: str) -> int | None:
    url = url.split(",")[0].strip()
    try:
        return urlsplit(url if "://" in url else "tcp://" + url).port
    except ValueError:
        return None


def service_pids(env: Mapping[str, str]) -> dict[str, list[int]]:
    """The process listening on each configured service's port, by service."""
    ports = {role: _port(env.get(var, "")) for role, var in SERVICE_URLS.items()}
    wanted = {p: role for role, p in ports.items() if p}
    found: dict[str, list[int]] = {}
    if not wanted:
        return found
    for c in psutil.net_connections("tcp"):
        if c.status == psutil.CONN_LISTEN and c.pid and c.laddr and c.laddr.port in wanted:
            pids = found.setdefault(wanted[c.laddr.port], [])
            if c.pid not in pids:
                pids.append(c.pid)
    return found


class RoleWindow:
    """CPU seconds of each group between construction and ``stop``."""

    def __init__(self, groups: Mapping[str, list[int]]) -> None:
        self.groups = {role: list(pids) for role, pids in groups.items() if pids}
        self.start = {role: self._times(pids) for role, pids in self.groups.items()}

    @staticmethod
    def _times(pids: list[int]) -> dict[tuple[int, float], float]:
        """user + sys per process, keyed by (pid, creation time) so a reused pid is new."""
        out: dict[tuple[int, float], float] = {}
        for pid in pids:
            for p in tree(pid):
                try:
                    t = p.cpu_times()
                    out[(p.pid, p.create_time())] = t.user + t.system
                except psutil.Error:
                    pass
        return out

    def stop(self) -> dict[str, float]:
        spent = {}
        for role, pids in self.groups.items():
            before = self.start[role]
            now = self._times(pids)
            spent[role] = sum(max(0.0, v - before.get(k, 0.0)) for k, v in now.items())
        return spent


def per_event(spent: Mapping[str, float], events: int) -> dict[str, float]:
    """µs of CPU per event for each group, and their total."""
    n = max(events, 1)
    out = {role: round(sec * 1e6 / n, 2) for role, sec in spent.items()}
    out["total"] = round(sum(spent.values()) * 1e6 / n, 2)
    return out
