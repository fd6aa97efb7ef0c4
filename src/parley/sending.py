"""The one path a message takes from "send" to "ack", for WebSocket and HTTP alike."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from parley.log import MessageLog, Refused, Unavailable
from parley.metrics import Metrics
from parley.models import Draft, Message, User, now_micros
from parley.protocol.errors import ProtocolError, not_found
from parley.protocol.limits import KeyedBuckets
from parley.store import NotMember


@dataclass(slots=True)
class Pending:
    """A send in line for storage; ``future`` settles when it is durable or refused."""

    future: asyncio.Future[Message]
    client_id: str | None
    started: float


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

    async def submit(
        self,
        user: User,
        room_id: int,
        body: str,
        client_id: str | None,
        *,
        seen_member: bool = False,
    ) -> Pending:
        """Put a message in line; sends submitted one after another are stored in that order.

        ``seen_member``: see ``MessageLog.submit``.
        """
        started = time.perf_counter()
        draft = Draft(
            room_id=room_id, sender=user, body=body, client_id=client_id, created_at=now_micros()
        )
        try:
            future = await self._log.submit(draft, seen_member=seen_member)
        except (NotMember, Unavailable, Refused) as exc:
            raise self._refused(exc, client_id) from None
        return Pending(future, client_id, started)

    def result(self, pending: Pending) -> Message:
        """The stored message of a settled send, or the ``ProtocolError`` to answer with."""
        try:
            message = pending.future.result()
        except (NotMember, Unavailable, Refused) as exc:
            raise self._refused(exc, pending.client_id) from None
        self._metrics.messages_stored.inc()
        self._metrics.ack_latency.observe(time.perf_counter() - pending.started)
        return message

    async def send(self, user: User, room_id: int, body: str, client_id: str | None) -> Message:
        """Submit and wait: the HTTP path, one message per request."""
        pending = await self.submit(user, room_id, body, client_id)
        with contextlib.suppress(Exception):
            await pending.future
        return self.result(pending)

    def _refused(
        self, exc: NotMember | Unavailable | Refused, client_id: str | None
    ) -> ProtocolError:
        if isinstance(exc, NotMember):
            self._metrics.send_errors.labels("not_found").inc()
            return not_found(client_id)
        if isinstance(exc, Refused):
            self._metrics.send_errors.labels("invalid_input").inc()
            return ProtocolError("invalid_input", str(exc), client_id)
        self._metrics.send_errors.labels("unavailable").inc()
        return ProtocolError("unavailable", str(exc), client_id)
