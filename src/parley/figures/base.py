"""What a gateway reports to the admin overview, and how it is sampled from its metrics.

Each gateway samples its own figures every few seconds and publishes them on a
``Board``; the overview reads every gateway's latest figures from it. Embedded
there is one gateway and the board is in memory; in a cluster it is a Redis
hash, so any gateway serves the figures of all of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from parley.metrics import Metrics

PERCENTILES = (0.5, 0.95, 0.99)


@dataclass(frozen=True, slots=True)
class GatewayFigures:
    gateway: str
    connections: int
    users: int
    messages_per_second: float
    messages_stored: int
    send_errors: int
    ack_ms: dict[str, float | None]
    """Send→ack latency percentiles ("p50", "p95", "p99") over the last interval, in
    milliseconds, read from the histogram's buckets (the upper bound of the bucket the
    percentile falls in); None when the interval had no sends."""
    at: float
    """Unix seconds of the sample; the overview drops figures too old to be live."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> GatewayFigures:
        return GatewayFigures(
            gateway=str(data["gateway"]),
            connections=int(data["connections"]),
            users=int(data["users"]),
            messages_per_second=float(data["messages_per_second"]),
            messages_stored=int(data["messages_stored"]),
            send_errors=int(data["send_errors"]),
            ack_ms={str(k): None if v is None else float(v) for k, v in data["ack_ms"].items()},
            at=float(data["at"]),
        )


@dataclass(frozen=True, slots=True)
class WorkerFigures:
    """A persister's figures: how far it is behind Kafka, what it gave up on."""

    worker: str
    lag: int
    """Records in its partitions not yet stored (high watermark minus position)."""
    dead_letters: int
    store_retries: int
    at: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> WorkerFigures:
        return WorkerFigures(
            worker=str(data["worker"]),
            lag=int(data["lag"]),
            dead_letters=int(data["dead_letters"]),
            store_retries=int(data["store_retries"]),
            at=float(data["at"]),
        )


@dataclass(frozen=True, slots=True)
class NotifierFigures:
    """The notifications worker's figures: how far behind the stored messages it is."""

    worker: str
    lag: int
    """Messages not decided on yet. In a cluster, records of the log in its partitions past
    the last batch it handled (high watermark minus that offset); embedded, stored messages
    queued for the in-process notifier."""
    messages: int
    """Stored messages decided on since it started."""
    notifications: int
    """Notifications decided since it started (each delivered on every channel once)."""
    retries: int
    at: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> NotifierFigures:
        return NotifierFigures(
            worker=str(data["worker"]),
            lag=int(data["lag"]),
            messages=int(data["messages"]),
            notifications=int(data["notifications"]),
            retries=int(data["retries"]),
            at=float(data["at"]),
        )


class Board(Protocol):
    async def publish(self, figures: GatewayFigures, ttl: float) -> None:
        """Replace this gateway's figures; they count as live for ``ttl`` seconds."""

    async def gateways(self) -> list[GatewayFigures]:
        """The live figures of every gateway, by gateway id."""

    async def publish_worker(self, figures: WorkerFigures, ttl: float) -> None: ...
    async def workers(self) -> list[WorkerFigures]:
        """The live figures of every persister (none embedded: there is no Kafka)."""

    async def publish_notifier(self, figures: NotifierFigures, ttl: float) -> None: ...
    async def notifiers(self) -> list[NotifierFigures]:
        """The live figures of every notifications worker (embedded: the in-process one)."""

    async def close(self) -> None: ...


def percentile(buckets: Sequence[tuple[float, float]], share: float) -> float | None:
    """The upper bound of the bucket holding the ``share`` percentile of the observations.

    ``buckets``: (upper bound, observations at or below it), cumulative, in order.
    """
    total = buckets[-1][1] if buckets else 0
    if total <= 0:
        return None
    wanted = share * total
    for bound, count in buckets:
        if count >= wanted:
            return bound
    return buckets[-1][0]


def _histogram(metrics: Metrics) -> list[tuple[float, float]]:
    found = []
    for family in metrics.ack_latency.collect():
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                found.append((float(sample.labels["le"]), sample.value))
    return found


def total(counter: Any) -> int:
    """A prometheus_client counter's value, over all its labels."""
    return int(
        sum(s.value for f in counter.collect() for s in f.samples if s.name.endswith("_total"))
    )


class Sampler:
    """Turns a gateway's cumulative metrics into figures for the interval since the last
    sample (rates and percentiles of what happened lately, not since start)."""

    def __init__(
        self,
        gateway: str,
        metrics: Metrics,
        connections: Callable[[], int],
        users: Callable[[], int],
    ) -> None:
        self._gateway = gateway
        self._metrics = metrics
        self._connections = connections
        self._users = users
        self._last_at = time.time()
        self._last_stored = 0
        self._last_buckets: list[tuple[float, float]] = []

    def sample(self) -> GatewayFigures:
        now = time.time()
        stored = total(self._metrics.messages_stored)
        buckets = _histogram(self._metrics)
        before = dict(self._last_buckets)
        recent = [(bound, count - before.get(bound, 0.0)) for bound, count in buckets]
        elapsed = max(now - self._last_at, 1e-6)
        figures = GatewayFigures(
            gateway=self._gateway,
            connections=self._connections(),
            users=self._users(),
            messages_per_second=round((stored - self._last_stored) / elapsed, 2),
            messages_stored=stored,
            send_errors=total(self._metrics.send_errors),
            ack_ms={
                f"p{round(share * 100)}": None
                if (p := percentile(recent, share)) is None
                # The +Inf bucket has no bound to report: the largest finite one stands in.
                else round(1000 * min(p, _largest_finite(buckets)), 3)
                for share in PERCENTILES
            },
            at=now,
        )
        self._last_at, self._last_stored, self._last_buckets = now, stored, buckets
        return figures


def _largest_finite(buckets: Sequence[tuple[float, float]]) -> float:
    return max((b for b, _ in buckets if b != float("inf")), default=0.0)
