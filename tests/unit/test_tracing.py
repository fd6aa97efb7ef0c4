"""Hops and traces on the embedded path: store → bus → sockets in one process.

The SDK's in-memory exporter stands in for a collector; the cluster version
(Kafka headers, two processes, OTLP over HTTP) is tests/cluster/test_hops_and_traces.py.
"""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import generate_latest

from parley.announcer import Announcer
from parley.bus import MemoryBus
from parley.config import ConfigError, Settings
from parley.gateway.connection import Flusher
from parley.gateway.hub import Hub
from parley.hops import Hop, Hops
from parley.log import DirectLog
from parley.metrics import Metrics
from parley.presence import LocalPresence
from parley.ratelimit import MemoryLimiter, UserLimits
from parley.sending import SendPipeline
from parley.store import SqlStore
from parley.tracing import Tracing, configure, traces_url
from tests.unit.conftest import make_user
from tests.unit.test_hub import Client


def tree(spans: tuple[ReadableSpan, ...]) -> dict[str, str | None]:
    """Each span's name to its parent's name (None for the root)."""
    names = {span.context.span_id: span.name for span in spans}
    return {s.name: None if s.parent is None else names.get(s.parent.span_id) for s in spans}


async def test_one_send_is_one_trace_and_each_hop_is_timed(store: SqlStore) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing = Tracing(provider)
    hops = Hops()
    bus = MemoryBus()
    presence = LocalPresence()
    hub = Hub(
        store, bus, presence, Announcer(store, bus, presence), 500, hops=hops, tracing=tracing
    )
    await hub.start()
    metrics = Metrics(lambda: 0, lambda: 0, hops=hops)
    log = DirectLog(store, bus, hops=hops, tracing=tracing)
    sending = SendPipeline(log, metrics, UserLimits(MemoryLimiter(), {}), tracing)
    ana, bob = await make_user(store, "ana"), await make_user(store, "bob")
    room = await store.create_group("r", [ana.id, bob.id])
    watcher = Client(hub, Flusher(), bob)
    await hub.attach(watcher.conn, None)

    await sending.send(ana, room, "traced", "c1")

    assert watcher.seqs(room) == [1]
    spans = exporter.get_finished_spans()
    assert len({span.context.trace_id for span in spans}) == 1
    assert tree(spans) == {"send": None, "store": "send", "publish": "send", "deliver": "publish"}
    assert [hops.count(hop) for hop in Hop] == [0, 0, 1, 1, 1]  # embedded: no Kafka hops
    text = generate_latest(metrics.registry).decode()
    assert 'parley_hop_seconds_count{hop="fanout"} 1.0' in text
    assert 'parley_hop_seconds_bucket{hop="store",le="0.0001"}' in text
    await hub.close()
    await log.close()


async def test_without_tracing_the_hops_are_still_timed(store: SqlStore) -> None:
    hops = Hops()
    bus = MemoryBus()
    presence = LocalPresence()
    hub = Hub(store, bus, presence, Announcer(store, bus, presence), 500, hops=hops)
    await hub.start()
    ana = await make_user(store, "ana")
    room = await store.create_group("r", [ana.id])
    watcher = Client(hub, Flusher(), ana)
    await hub.attach(watcher.conn, None)
    sending = SendPipeline(
        DirectLog(store, bus, hops=hops),
        Metrics(lambda: 0, lambda: 0),
        UserLimits(MemoryLimiter(), {}),
    )
    await sending.send(ana, room, "plain", "c1")
    assert watcher.seqs(room) == [1]
    assert (hops.count(Hop.BUS), hops.count(Hop.FANOUT), hops.count(Hop.STORE)) == (1, 1, 1)
    await hub.close()


def test_tracing_is_off_unless_an_endpoint_is_set() -> None:
    assert Settings.from_env({}).otel_endpoint is None
    assert configure(None, "parley-gateway") is None
    standard = Settings.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"})
    assert standard.otel_endpoint == "http://collector:4318"
    ours = Settings.from_env(
        {"PARLEY_OTEL_ENDPOINT": "https://otel.example", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}
    )
    assert ours.otel_endpoint == "https://otel.example"
    assert traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    with pytest.raises(ConfigError):
        Settings.from_env({"PARLEY_OTEL_ENDPOINT": "collector:4318"})
