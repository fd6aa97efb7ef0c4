"""OpenTelemetry traces of a message's way, off unless an OTLP endpoint is configured.

One trace per send: ``send`` (gateway, until the ack) → ``produce`` (until Kafka
has the record) → ``consume`` (persister) with ``store`` and ``publish`` under it
→ ``deliver`` on every gateway that fans the entry out (embedded: ``send`` →
``store``, ``publish`` → ``deliver``). The context crosses processes as a W3C
``traceparent``: in a Kafka record header (``HEADER``) and in the bus envelope's
stamp (``protocol.envelope.stamped``).

When tracing is off there is no ``Tracing`` at all (``None`` where one is
passed), so the hot path pays one ``is None`` test per hop; the OpenTelemetry
SDK is only imported when an endpoint is set. Spans are exported in batches
over OTLP/HTTP (protobuf) by the SDK's background thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextlib import AbstractContextManager
from functools import partial
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

HEADER = "traceparent"
"""The W3C Trace Context header, as a Kafka record header name."""

__all__ = ["HEADER", "Span", "SpanKind", "Tracing", "configure", "end"]


class Tracing:
    """Spans of one process (a gateway or a persister) and their W3C context."""

    def __init__(self, provider: TracerProvider) -> None:
        self._provider = provider
        self._tracer = provider.get_tracer("parley")
        self._propagator = TraceContextTextMapPropagator()

    def start(
        self,
        name: str,
        *,
        parent: Span | str | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        start_ns: int | None = None,
    ) -> Span:
        """A span under ``parent`` (a span, or a remote ``traceparent``), else the current one.

        ``start_ns`` (``time.time_ns()``) backdates it, for a stretch timed before
        it was known to be traced.
        """
        context = None
        if isinstance(parent, str):
            context = self._propagator.extract({HEADER: parent})
        elif parent is not None:
            context = trace.set_span_in_context(parent)
        return self._tracer.start_span(name, context=context, kind=kind, start_time=start_ns)

    def within(self, span: Span) -> AbstractContextManager[Span]:
        """Make ``span`` the current one (the parent of spans started without one) for a block.

        Tasks created inside the block inherit it (they copy the context).
        """
        return trace.use_span(span, end_on_exit=False, record_exception=False)

    def end_when_done(self, span: Span, future: asyncio.Future[Any]) -> None:
        """End ``span`` when ``future`` settles, marked an error when it failed."""
        future.add_done_callback(partial(_end, span))

    def traceparent(self, span: Span) -> str | None:
        """The span's context as a ``traceparent`` value (None for a non-recording span)."""
        carrier: dict[str, str] = {}
        self._propagator.inject(carrier, context=trace.set_span_in_context(span))
        return carrier.get(HEADER)

    async def close(self) -> None:
        """Export what is left, off the event loop (the exporter blocks)."""
        await asyncio.to_thread(self._provider.shutdown)


def end(span: Span, error: BaseException | None = None) -> None:
    """End a span, marked an error with ``error``'s type when there was one."""
    if error is not None:
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
    span.end()


def _end(span: Span, future: asyncio.Future[Any]) -> None:
    end(span, None if future.cancelled() else future.exception())


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL of a collector's base URL, as ``OTEL_EXPORTER_OTLP_ENDPOINT``."""
    return endpoint.rstrip("/") + "/v1/traces"


def configure(
    endpoint: str | None, service: str, attributes: Mapping[str, str] | None = None
) -> Tracing | None:
    """A ``Tracing`` exporting to ``endpoint`` (a collector's base URL), or None when unset."""
    if not endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": service, **(attributes or {})})
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(endpoint=traces_url(endpoint))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return Tracing(provider)
