"""The one path a stream entry takes from "send" to "ack", for WebSocket and HTTP alike.

Messages and room events (edit, delete, react, unreact) take it alike: the
same per-user rate, the same log, the same ordering and idempotency.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from parley.log import MessageLog, Refused, Unavailable
from parley.metrics import Metrics
from parley.models import Draft, DraftKind, Entry, User, now_micros
from parley.protocol.errors import ProtocolError, not_found
from parley.ratelimit import Action, UserLimits
from parley.store import NoFile, NotAllowed, NoTarget, NotMember
from parley.tracing import SpanKind, Tracing, end

Failure = NotMember | NoTarget | NotAllowed | NoFile | Unavailable | Refused


@dataclass(slots=True)
class Pending:
    """An entry in line for storage; ``future`` settles when it is durable or refused.

    The future's value is the stored entry, or None for a react or unreact that
    changed nothing.
    """

    future: asyncio.Future[Entry | None]
    client_id: str | None
    started: float


class SendPipeline:
    def __init__(
        self,
        log: MessageLog,
        metrics: Metrics,
        limits: UserLimits,
        tracing: Tracing | None = None,
    ) -> None:
        self._log = log
        self._metrics = metrics
        self._limits = limits
        self._tracing = tracing

    async def admit(self, user: User, client_id: str | None) -> None:
        """Apply the user's send budget, shared by all their connections and gateways.

        Past it, raise ``rate_limited`` echoing client_id, with ``retry_after``.
        """
        try:
            await self._limits.take(Action.SEND, user.id, client_id)
        except ProtocolError:
            self._metrics.send_errors.labels("rate_limited").inc()
            raise

    async def submit(
        self,
        user: User,
        room_id: int,
        body: str,
        client_id: str | None,
        *,
        seen_member: bool = False,
        kind: DraftKind = "message",
        target: int | None = None,
        emoji: str | None = None,
        moderator: bool = False,
        attachments: tuple[int, ...] = (),
    ) -> Pending:
        """Put an entry in line; entries submitted one after another are stored in that order.

        ``target``: the seq a message replies to, or the message a room event
        changes. ``seen_member``: see ``MessageLog.submit``.
        """
        started = time.perf_counter()
        draft = Draft(
            room_id=room_id,
            sender=user,
            body=body,
            client_id=client_id,
            created_at=now_micros(),
            kind=kind,
            target=target,
            emoji=emoji,
            moderator=moderator,
            attachments=attachments,
        )
        seen_member = seen_member or draft.moderated
        tracing = self._tracing
        try:
            if tracing is None:
                future = await self._log.submit(draft, seen_member=seen_member)
            else:
                span = tracing.start("send", kind=SpanKind.SERVER)
                span.set_attribute("parley.room", room_id)
                try:
                    with tracing.within(span):
                        future = await self._log.submit(draft, seen_member=seen_member)
                except BaseException as exc:
                    end(span, exc)
                    raise
                tracing.end_when_done(span, future)
        except (NotMember, Unavailable, Refused) as exc:
            raise self._refused(exc, client_id) from None
        return Pending(future, client_id, started)

    def result(self, pending: Pending) -> Entry | None:
        """The stored entry of a settled send, or the ``ProtocolError`` to answer with."""
        try:
            stored = pending.future.result()
        except (NotMember, NoTarget, NotAllowed, NoFile, Unavailable, Refused) as exc:
            raise self._refused(exc, pending.client_id) from None
        self._metrics.messages_stored.inc()
        self._metrics.ack_latency.observe(time.perf_counter() - pending.started)
        return stored

    async def send(
        self,
        user: User,
        room_id: int,
        body: str,
        client_id: str | None,
        *,
        kind: DraftKind = "message",
        target: int | None = None,
        emoji: str | None = None,
        moderator: bool = False,
        attachments: tuple[int, ...] = (),
    ) -> Entry | None:
        """Submit and wait: the HTTP path, one entry per request."""
        pending = await self.submit(
            user,
            room_id,
            body,
            client_id,
            kind=kind,
            target=target,
            emoji=emoji,
            moderator=moderator,
            attachments=attachments,
        )
        with contextlib.suppress(Exception):
            await pending.future
        return self.result(pending)

    def _refused(self, exc: Failure, client_id: str | None) -> ProtocolError:
        if isinstance(exc, NotMember):
            self._metrics.send_errors.labels("not_found").inc()
            return not_found(client_id)
        if isinstance(exc, Refused):
            self._metrics.send_errors.labels("invalid_input").inc()
            return ProtocolError("invalid_input", str(exc), client_id)
        if isinstance(exc, NoTarget):
            self._metrics.send_errors.labels("not_found").inc()
            return ProtocolError("not_found", "no such message in this room", client_id)
        if isinstance(exc, NoFile):
            self._metrics.send_errors.labels("invalid_input").inc()
            return ProtocolError(
                "invalid_input",
                "attachments must be your own uploads in this room, not yet sent",
                client_id,
            )
        if isinstance(exc, NotAllowed):
            self._metrics.send_errors.labels("forbidden").inc()
            return ProtocolError(
                "forbidden",
                "only its sender (or the room's owner or an admin, to delete) may",
                client_id,
            )
        self._metrics.send_errors.labels("unavailable").inc()
        return ProtocolError("unavailable", str(exc), client_id)
