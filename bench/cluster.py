"""Cluster mode for a run: scratch PostgreSQL database, a fresh Kafka topic, gateways, persisters.

Reads the services' settings from ``scripts/services env`` (start them with
``scripts/services up``). Every run gets a database and a topic of its own, so a
bench never reads or writes anyone else's data. Redis Pub/Sub channels are global
to a Redis server, so do not run the cluster bench next to the cluster tests.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import secrets
import sys
from pathlib import Path

from bench.common import free_port, log
from bench.dbs import ScratchPostgres, scratch_postgres, services_env
from bench.hops import METRICS_TOKEN
from bench.server import (
    BENCH_ENV,
    ParleyServer,
    base_env,
    cleanup,
    run_module,
    scratch_dir,
    stop_process,
)


class ClusterUnavailable(RuntimeError):
    """The services or the cluster code are missing: the message says which."""


def check(need_kafka: bool = True) -> dict[str, str]:
    env = services_env()
    missing = [
        k
        for k in ("PARLEY_DATABASE_URL", "PARLEY_REDIS_URL", "PARLEY_KAFKA_BOOTSTRAP")
        if (k != "PARLEY_KAFKA_BOOTSTRAP" or need_kafka) and not env.get(k, "").strip()
    ]
    if missing:
        raise ClusterUnavailable(
            f"services not configured ({', '.join(missing)}): run scripts/services up"
        )
    if not env["PARLEY_DATABASE_URL"].startswith(("postgresql", "postgres")):
        raise ClusterUnavailable("PARLEY_DATABASE_URL is not PostgreSQL")
    if need_kafka and importlib.util.find_spec("parley.log.kafka") is None:
        raise ClusterUnavailable("Parley has no Kafka log yet (src/parley/log/kafka/)")
    return env


class Cluster:
    def __init__(
        self,
        gateways: int = 2,
        persisters: int = 1,
        kafka: bool = True,
        data_base: str | None = None,
        notifiers: int = 0,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        """``notifiers``: ``parley worker notify`` processes (Kafka only); ``extra_env``:
        settings for every process (the SMTP server of the notifications bench)."""
        self.n_gateways = gateways
        self.n_persisters = persisters if kafka else 0
        self.n_notifiers = notifiers if kafka else 0
        self.extra_env = extra_env or {}
        self.kafka = kafka
        self.dir: Path = scratch_dir("parley-cluster-bench-", data_base)
        self.pg: ScratchPostgres | None = None
        self.gateways: list[ParleyServer] = []
        self.persisters: list[asyncio.subprocess.Process] = []
        self.notifiers: list[asyncio.subprocess.Process] = []
        self.notify_metrics_urls: list[str] = []
        """Each notifications worker's /metrics (``parley_notify_lag`` and its counters)."""
        self.env: dict[str, str] = {}
        self.metrics_urls: list[str] = []
        """Every gateway's and persister's /metrics (``bench.hops``)."""

    async def start(self) -> None:
        services = check(self.kafka)
        self.pg = await scratch_postgres(services["PARLEY_DATABASE_URL"])
        run_id = secrets.token_hex(4)
        self.env = {
            **base_env(),
            **BENCH_ENV,
            "PARLEY_DATA_DIR": str(self.dir),
            "PARLEY_DATABASE_URL": self.pg.url,
            "PARLEY_REDIS_URL": services["PARLEY_REDIS_URL"],
            "PARLEY_SECRET_KEY": "bench-" + secrets.token_hex(24),
            "PARLEY_METRICS_TOKEN": METRICS_TOKEN,
            **self.extra_env,
        }
        if self.kafka:
            self.env["PARLEY_KAFKA_BOOTSTRAP"] = services["PARLEY_KAFKA_BOOTSTRAP"]
            self.env["PARLEY_KAFKA_TOPIC"] = f"parley.bench.{run_id}"
            self.env["PARLEY_KAFKA_GROUP"] = f"parley-bench-{run_id}"
            self.env["PARLEY_NOTIFY_GROUP"] = f"parley-bench-{run_id}.notify"
        else:
            self.env.pop("PARLEY_KAFKA_BOOTSTRAP", None)
        await self.pg.migrate(self.env)
        for i in range(self.n_persisters):
            port = free_port()
            self.metrics_urls.append(f"http://127.0.0.1:{port}/metrics")
            self.persisters.append(
                await run_module(
                    ["-m", "parley", "worker", "persist"],
                    {**self.env, "PARLEY_WORKER_METRICS_PORT": str(port)},
                    self.dir / f"persister-{i}.log",
                )
            )
        for i in range(self.n_notifiers):
            port = free_port()
            self.notify_metrics_urls.append(f"http://127.0.0.1:{port}/metrics")
            self.notifiers.append(
                await run_module(
                    ["-m", "parley", "worker", "notify"],
                    {
                        **self.env,
                        "PARLEY_WORKER_METRICS_PORT": str(port),
                        "PARLEY_PERSISTER_ID": f"notify-{i}",
                    },
                    self.dir / f"notify-{i}.log",
                )
            )
        for i in range(self.n_gateways):
            gw = ParleyServer(self.dir, {**self.env, "PARLEY_GATEWAY_ID": f"bench{i}"}, free_port())
            gw.env = {
                **self.env,
                "PARLEY_GATEWAY_ID": f"bench{i}",
                "PARLEY_PORT": str(gw.port),
                "PARLEY_HOST": "127.0.0.1",
            }
            self.gateways.append(gw)
        await asyncio.gather(*(gw.start(timeout=120) for gw in self.gateways))
        for i, gw in enumerate(self.gateways):
            log(f"gateway {i} on {gw.url} (pid {gw.pid})")
            self.metrics_urls.append(f"{gw.url}/metrics")
        await asyncio.sleep(1.0)
        for p in self.persisters + self.notifiers:
            if p.returncode is not None:
                raise RuntimeError(f"a worker exited with {p.returncode}: see {self.dir}")

    @property
    def pids(self) -> list[int]:
        return [g.pid for g in self.gateways] + [p.pid for p in self.persisters]

    async def stop(self) -> None:
        for g in self.gateways:
            await g.stop()
        for p in self.persisters + self.notifiers:
            await stop_process(p)
        if self.pg is not None:
            try:
                await self.pg.drop()
            except Exception as exc:
                log(f"could not drop {self.pg.name}: {exc!r}")
        if os.environ.get("BENCH_KEEP_DATA") != "1":
            cleanup(self.dir)


def python() -> str:
    return sys.executable
