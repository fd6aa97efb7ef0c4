"""Store first, then publish: the path when there is no Kafka."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from parley.bus import Bus
from parley.hops import Hops
from parley.log.base import REFUSED_MESSAGE, Refused, Unavailable
from parley.log.publish import publish_stored
from parley.models import Draft, Entry
from parley.store import Store, StoreFailed, StoreRefused
from parley.tracing import SpanKind, Tracing, end

logger = logging.getLogger(__name__)


class DirectLog:
    def __init__(
        self,
        store: Store,
        bus: Bus,
        on_stored: Callable[[Entry], None] | None = None,
        *,
        hops: Hops | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        """``on_stored``: told of each new stored entry after it is published (the
        in-process notifier of the embedded default); it must not block."""
        self._store = store
        self._bus = bus
        self._on_stored = on_stored
        self._hops = hops or Hops()
        self._tracing = tracing

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def submit(
        self, draft: Draft, *, seen_member: bool = False
    ) -> asyncio.Future[Entry | None]:
        # Tasks start in the order they are created, and ``Store.append`` queues
        # its draft for the group commit before its first await: submission
        # order is storage order.
        return asyncio.ensure_future(self._append(draft))

    async def _append(self, draft: Draft) -> Entry | None:
        """Store, then publish; traced, a ``store`` and a ``publish`` span under the send's."""
        tracing = self._tracing
        span = None if tracing is None else tracing.start("store", kind=SpanKind.CLIENT)
        started = time.perf_counter()
        try:
            stored = await self._store.append(draft)
        except StoreFailed as exc:
            logger.warning("store unavailable, send refused: %s", exc)
            if span is not None:
                end(span, exc)
            raise Unavailable("the message store is unavailable") from exc
        except StoreRefused as exc:
            logger.warning("store refused a message: %s", exc)
            if span is not None:
                end(span, exc)
            raise Refused(REFUSED_MESSAGE) from exc
        self._hops.store(time.perf_counter() - started)
        if span is not None:
            span.end()
        if stored is None:
            return None
        published = traceparent = None
        if tracing is not None:
            published = tracing.start("publish", kind=SpanKind.PRODUCER)
            traceparent = tracing.traceparent(published)
        try:
            await publish_stored(self._bus, stored, traceparent)
        except Exception as exc:
            logger.warning("entry %s stored but not published: %s", stored.seq, exc)
        if published is not None:
            published.end()
        if self._on_stored is not None:
            self._on_stored(stored)
        return stored

    async def ping(self) -> None:
        await self._store.ping()
