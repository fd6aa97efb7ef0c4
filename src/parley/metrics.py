"""Prometheus metrics, one registry per app so several servers can share a process (tests).

Figures the hot path already keeps (open connections, frames written, garbage
collector pauses) are read at scrape time by a collector instead of being counted
again per frame.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from parley.gcpolicy import GcPolicy
from parley.hops import Hops, bucket_label


class _Live(Collector):
    def __init__(
        self,
        connections: Callable[[], int],
        frames_out: Callable[[], int],
        frames_dropped: Callable[[], int],
        socket_writes: Callable[[], int],
    ) -> None:
        self._connections = connections
        self._frames_out = frames_out
        self._frames_dropped = frames_dropped
        self._socket_writes = socket_writes

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "parley_connections",
            "Open authenticated WebSocket connections",
            value=self._connections(),
        )
        yield CounterMetricFamily(
            "parley_frames_out", "WebSocket frames sent to clients", value=self._frames_out()
        )
        yield CounterMetricFamily(
            "parley_frames_dropped",
            "Droppable frames (typing) not sent to sockets that were behind",
            value=self._frames_dropped(),
        )
        yield CounterMetricFamily(
            "parley_socket_writes",
            "Writes to client sockets; frames out per write is what coalescing merged",
            value=self._socket_writes(),
        )


class NotifyCounts(Protocol):
    """What the in-process notifier counts (``notify.worker.InProcessNotifier``)."""

    @property
    def lag(self) -> int: ...
    @property
    def messages(self) -> int: ...
    @property
    def notifications(self) -> int: ...
    @property
    def retries(self) -> int: ...


class _InProcessNotify(Collector):
    """The embedded notifier on the gateway's /metrics, under the names ``parley worker
    notify`` uses on its own (``NotifyMetrics``), read at scrape time."""

    def __init__(self, counts: NotifyCounts) -> None:
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        counts = self._counts
        yield GaugeMetricFamily(
            "parley_notify_lag",
            "Stored messages queued for the in-process notifier, not decided on yet",
            value=counts.lag,
        )
        yield CounterMetricFamily(
            "parley_notify_messages", "Stored messages the notifier decided on", counts.messages
        )
        yield CounterMetricFamily(
            "parley_notify_notifications",
            "Notifications decided (each delivered on every channel, once)",
            counts.notifications,
        )
        yield CounterMetricFamily(
            "parley_notify_retries", "Messages retried after a channel failed", counts.retries
        )


class GcPauses(Collector):
    """The garbage collector as timed by the ``GcPolicy`` of ``parley serve`` or a Kafka worker.

    No frozen-object gauge: ``gc.get_freeze_count()`` walks the frozen heap (about
    5 ms at 600k objects), a pause per scrape; the sweep's log line has it.
    """

    def __init__(self, policy: GcPolicy) -> None:
        self._policy = policy

    def collect(self) -> Iterator[Metric]:
        pauses = HistogramMetricFamily(
            "parley_gc_pause_seconds",
            "Event loop pauses of the cyclic garbage collector, by generation",
            labels=["generation"],
        )
        for generation, stats in self._policy.pauses.items():
            pauses.add_metric(
                [str(generation)],
                buckets=[(bucket_label(bound), n) for bound, n in stats.cumulative()],
                sum_value=stats.total,
            )
        yield pauses
        yield CounterMetricFamily(
            "parley_gc_sweeps",
            "Periodic unfreeze-and-collect sweeps (reclaim cyclic garbage that was frozen)",
            value=self._policy.sweeps,
        )
        yield CounterMetricFamily(
            "parley_gc_swept_objects",
            "Unreachable objects found by the sweeps",
            value=self._policy.swept_objects,
        )


class Metrics:
    def __init__(
        self,
        connections: Callable[[], int],
        frames_out: Callable[[], int],
        gc_policy: GcPolicy | None = None,
        hops: Hops | None = None,
        frames_dropped: Callable[[], int] = lambda: 0,
        notifier: NotifyCounts | None = None,
        socket_writes: Callable[[], int] = lambda: 0,
    ) -> None:
        """``notifier``: the in-process notifier (embedded), whose figures join these."""
        self.registry = CollectorRegistry()
        self.registry.register(_Live(connections, frames_out, frames_dropped, socket_writes))
        if notifier is not None:
            self.registry.register(_InProcessNotify(notifier))
        self.hops = hops or Hops()
        self.registry.register(self.hops)
        if gc_policy is not None:
            self.registry.register(GcPauses(gc_policy))
        self.frames_in = Counter(
            "parley_frames_in", "WebSocket frames received from clients", registry=self.registry
        )
        self.messages_stored = Counter(
            "parley_messages_stored", "Messages accepted and made durable", registry=self.registry
        )
        self.send_errors = Counter(
            "parley_send_errors", "Sends refused, by error code", ["code"], registry=self.registry
        )
        self.frames_refused = Counter(
            "parley_frames_refused",
            "Client frames answered with an error frame, by error code",
            ["code"],
            registry=self.registry,
        )
        self.slow_consumers = Counter(
            "parley_slow_consumers_closed",
            "Connections closed with 1013 for falling behind",
            registry=self.registry,
        )
        self.ack_latency = Histogram(
            "parley_send_to_ack_seconds",
            "Time from receiving a send to its durable ack",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )


class PersisterMetrics:
    """A persister worker's own figures, on its ``/metrics`` (``PARLEY_WORKER_METRICS_PORT``)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.hops = Hops()
        self.registry.register(self.hops)
        self.dead_letters = Counter(
            "parley_persister_dead_letters",
            "Records moved to the dead-letter topic: refused by the database, or unreadable",
            registry=self.registry,
        )
        self.store_retries = Counter(
            "parley_persister_store_retries",
            "Batches retried because the database could not be reached",
            registry=self.registry,
        )


class NotifyMetrics:
    """The notifications worker's figures, on its ``/metrics`` (``PARLEY_WORKER_METRICS_PORT``)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.lag = Gauge(
            "parley_notify_lag",
            "Records of the message log this worker has not handled yet (its consumer lag)",
            registry=self.registry,
        )
        self.messages = Counter(
            "parley_notify_messages",
            "Stored messages the worker decided on",
            registry=self.registry,
        )
        self.notifications = Counter(
            "parley_notify_notifications",
            "Notifications decided (each delivered on every channel, once)",
            registry=self.registry,
        )
        self.retries = Counter(
            "parley_notify_retries",
            "Batches retried because a channel or the store could not be reached",
            registry=self.registry,
        )
