"""One message through the cluster: its hops on both processes' /metrics, and one trace.

The gateways and the persister export OTLP/HTTP to a receiver on 127.0.0.1 that
decodes the protobuf requests as a collector would (opentelemetry-proto); the
message's spans from the sending gateway, the persister and the receiving
gateway must share one trace id and chain parent to child.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.cluster.test_dead_letters import persister_metrics
from tests.support.client import Client
from tests.support.cluster import Cluster, eventually, send_acked
from tests.support.server import OPERATOR, free_port

pytestmark = pytest.mark.cluster


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str


class Receiver:
    """An OTLP/HTTP traces endpoint keeping every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []

    async def traces(self, request: web.Request) -> web.Response:
        export = ExportTraceServiceRequest.FromString(await request.read())
        for resource_spans in export.resource_spans:
            service = next(
                a.value.string_value
                for a in resource_spans.resource.attributes
                if a.key == "service.name"
            )
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    self.spans.append(
                        ReceivedSpan(
                            service,
                            span.name,
                            span.trace_id.hex(),
                            span.span_id.hex(),
                            span.parent_span_id.hex(),
                        )
                    )
        return web.Response(
            body=ExportTraceServiceResponse().SerializeToString(),
            content_type="application/x-protobuf",
        )


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    kept = Receiver()
    app = web.Application()
    app.router.add_post("/v1/traces", kept.traces)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield kept, f"http://127.0.0.1:{port}"
    await runner.cleanup()


def hop_count(text: str, hop: str) -> float:
    prefix = f'parley_hop_seconds_count{{hop="{hop}"}} '
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix) :])
    raise AssertionError(f"no {hop} hop in {text}")


async def test_one_message_is_one_trace_across_gateways_and_persister_and_every_hop_is_timed(
    cluster: Cluster, http: aiohttp.ClientSession, receiver: tuple[Receiver, str]
) -> None:
    kept, endpoint = receiver
    metrics_port = free_port()
    cluster.env.update(
        PARLEY_OTEL_ENDPOINT=endpoint,
        OTEL_BSP_SCHEDULE_DELAY="50",  # export within 50 ms instead of the SDK's 5 s
        PARLEY_WORKER_METRICS_PORT=str(metrics_port),
    )
    gw1, gw2 = await cluster.start()
    ana = await Client(http, gw1.url).register()
    bob = await Client(http, gw2.url).register()
    room = (await ana.group("traced", bob))["id"]
    a, b = await ana.connect(), await bob.connect()
    sent = await send_acked(a, room, "follow me", "t1")
    assert await b.entries(room, 1) == [sent]

    def in_the_trace() -> list[ReceivedSpan]:
        sends = [s for s in kept.spans if s.name == "send"]
        return [s for s in kept.spans if len(sends) == 1 and s.trace_id == sends[0].trace_id]

    def spans_of_the_message() -> dict[tuple[str, str], ReceivedSpan]:
        return {(s.service, s.name): s for s in in_the_trace()}

    want = {
        ("parley-gateway", "send"),
        ("parley-gateway", "produce"),
        ("parley-persister", "consume"),
        ("parley-persister", "store"),
        ("parley-persister", "publish"),
        ("parley-gateway", "deliver"),
    }

    async def all_exported() -> bool:
        # Both gateways follow the room: each fans the message out under the same publish.
        delivers = [s for s in in_the_trace() if s.name == "deliver"]
        return want <= spans_of_the_message().keys() and len(delivers) == 2

    await eventually(all_exported, timeout=15, what="the message's spans")
    spans = spans_of_the_message()

    def parent(child: tuple[str, str], of: tuple[str, str]) -> None:
        assert spans[child].parent_id == spans[of].span_id, (child, of)

    gw, ps = "parley-gateway", "parley-persister"
    parent((gw, "produce"), (gw, "send"))
    parent((ps, "consume"), (gw, "produce"))
    parent((ps, "store"), (ps, "consume"))
    parent((ps, "publish"), (ps, "consume"))
    parent((gw, "deliver"), (ps, "publish"))
    publish = spans[ps, "publish"].span_id
    assert {s.parent_id for s in in_the_trace() if s.name == "deliver"} == {publish}

    async with http.get(gw1.url + "/metrics", headers=OPERATOR) as response:
        sending_gateway = await response.text()
    async with http.get(gw2.url + "/metrics", headers=OPERATOR) as response:
        receiving_gateway = await response.text()
    assert hop_count(sending_gateway, "produce") >= 1
    assert hop_count(receiving_gateway, "bus") >= 1
    assert hop_count(receiving_gateway, "fanout") >= 1
    worker = await persister_metrics(metrics_port)
    assert hop_count(worker, "consume") >= 1
    assert hop_count(worker, "store") >= 1
