"""The one path a message takes from "send" to "ack", for WebSocket and HTTP alike."""

from __future__ import annotations

import logging
import time

from parley.log import MessageLog, Unavailable
from parley.metrics import Metrics
from parley.models import Draft, Message, User, now_micros
from parley.protocol.errors import ProtocolError, not_found
from parley.protocol.limits import KeyedBuckets
from parley.store import NotMember

logger = logging.getLogger(__name__)


class SendPipeline:
    def __init__(self, log: MessageLog, metrics: Metrics, rate: float, burst: int) -> None:
        self._log = log
        self._metrics = metrics
        self._buckets = KeyedBuckets(rate, burst)

    def admit(self, user: User, client_id: str | None) -> None:
        """Apply the per-user send rate; raise ``rate_limited`` (echoing client_id) past it."""
        if not self._buckets.take(user.id):
            self._metrics.send_errors.labels("rate_limited").inc()
            raise ProtocolError("rate_limited", "sending too fast; retry shortly", client_id)

    async def send(self, user: User, room_id: int, body: str, client_id: str | None) -> Message:
        started = time.perf_counter()
        draft = Draft(
            room_id=room_id, sender=user, body=body, client_id=client_id, created_at=now_micros()
        )
        try:
            message = await self._log.append(draft)
        except NotMember:
            self._metrics.send_errors.labels("not_found").inc()
            raise not_found(client_id) from None
        except Unavailable as exc:
            self._metrics.send_errors.labels("unavailable").inc()
            raise ProtocolError("unavailable", str(exc), client_id) from None
        self._metrics.messages_stored.inc()
        self._metrics.ack_latency.observe(time.perf_counter() - started)
        return message
