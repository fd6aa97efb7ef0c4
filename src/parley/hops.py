"""How long each hop of a message's way takes, as one Prometheus histogram by hop.

A stored entry goes gateway → Kafka → persister → PostgreSQL → Redis → gateways
→ sockets in a cluster, store → bus → sockets embedded. ``parley_hop_seconds``
has one series per hop (see ``Hop``), so the tail of the whole way can be
split into the tails of its parts. Each observation is a bisect and three
additions on plain counters (``PauseStats``), read at scrape time: a
``prometheus_client.Histogram`` takes a lock per observation, and the fan-out
hop is observed once per bus message on the gateway's hot path.

Hops that start in one process and end in another (``CONSUME``, ``BUS``) compare
wall clocks: across machines they include the clocks' skew.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from parley.gcpolicy import PauseStats

HOP_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
"""0.1 ms to 5 s: a socket write is tens of µs, a stuck hop is seconds."""


class Hop(StrEnum):
    """The ``hop`` label, one per stretch of the way."""

    PRODUCE = "produce"
    """Gateway: a send handed to the Kafka producer until Kafka acknowledged it (acks=all)."""
    CONSUME = "consume"
    """Persister: the record's Kafka timestamp (set when the gateway built it) until the
    persister's poll returned it."""
    STORE = "store"
    """The store transaction: the persister's batch, or an embedded gateway's append
    (its group commit included)."""
    BUS = "bus"
    """Gateway: a stored entry published (persister, or the embedded direct log) until this
    gateway read it from the bus."""
    FANOUT = "fanout"
    """Gateway: a stored entry read from the bus until its frame is queued on the last
    local socket that follows the room."""


def bucket_label(bound: float) -> str:
    """A bucket's ``le`` as Prometheus writes it."""
    return "+Inf" if bound == float("inf") else repr(bound)


class Hops(Collector):
    """The hop histograms of one process; a gateway and a persister each register one."""

    def __init__(self) -> None:
        self._stats = {hop: PauseStats(HOP_BUCKETS) for hop in Hop}
        self.produce = self._stats[Hop.PRODUCE].observe
        self.consume = self._stats[Hop.CONSUME].observe
        self.store = self._stats[Hop.STORE].observe
        self.bus = self._stats[Hop.BUS].observe
        self.fanout = self._stats[Hop.FANOUT].observe

    def count(self, hop: Hop) -> int:
        return self._stats[hop].count

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "parley_hop_seconds",
            "Latency of each hop of a stored entry's way (see docs/performance.md)",
            labels=["hop"],
        )
        for hop, stats in self._stats.items():
            family.add_metric(
                [hop.value],
                buckets=[(bucket_label(bound), n) for bound, n in stats.cumulative()],
                sum_value=stats.total,
            )
        yield family
