"""``GET /ws``: the aiohttp adapter around the protocol core and the hub.

aiohttp parses incoming frames; outgoing frames bypass its writer and go to the
transport pre-framed (see ``Connection``), which keeps fan-out at one buffer
write per delivery. Compression is off: permessage-deflate doubles CPU per
delivered message and costs tens of KiB per connection.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiohttp import WSMsgType, web

from parley.auth import AuthError, AuthService
from parley.gateway.connection import (
    CLOSE_RESTART,
    CLOSE_TRY_AGAIN,
    CLOSE_UNAUTHORIZED,
    Connection,
    Flusher,
)
from parley.gateway.hub import Hub
from parley.gateway.sending import Pending, SendPipeline
from parley.metrics import Metrics
from parley.models import User
from parley.protocol import events, frames, wsframe
from parley.protocol.errors import ProtocolError, invalid, not_found
from parley.protocol.limits import Throttle, TokenBucket
from parley.store import NotMember

logger = logging.getLogger(__name__)

MAX_IN_FLIGHT = 256
"""Sends per connection waiting for their ack; past it a send is refused with rate_limited."""
TYPING_INTERVAL = 2.0
HEARTBEAT = 30.0


@dataclass
class Gateway:
    hub: Hub
    auth: AuthService
    sending: SendPipeline
    metrics: Metrics
    flusher: Flusher
    auth_timeout: float
    outgoing_limit: int
    frame_rate: float
    frame_burst: int

    def __post_init__(self) -> None:
        self.typing = Throttle(TYPING_INTERVAL)
        self.sockets: set[web.WebSocketResponse] = set()
        self.closing: set[asyncio.Future[bool]] = set()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(
            compress=False, max_msg_size=frames.MAX_FRAME_BYTES, heartbeat=HEARTBEAT
        )
        await ws.prepare(request)
        self.sockets.add(ws)
        try:
            await self._serve(ws, request)
        finally:
            self.sockets.discard(ws)
        return ws

    async def shutdown(self) -> None:
        """Close every socket with 1012 so clients reconnect (to this or another gateway)."""
        for conns in list(self.hub.users.values()):
            for conn in list(conns):
                conn.close(CLOSE_RESTART, "server restarting")
        await asyncio.gather(
            *(
                ws.close(code=CLOSE_RESTART, message=b"server restarting")
                for ws in list(self.sockets)
            ),
            return_exceptions=True,
        )

    async def _serve(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        hello = await self._authenticate(ws)
        if hello is None:
            return
        user, resume_from = hello
        transport = request.transport
        if transport is None:
            return

        def close(code: int, reason: str) -> None:
            if code == CLOSE_TRY_AGAIN:
                self.metrics.slow_consumers.inc()
            task = asyncio.ensure_future(ws.close(code=code, message=reason.encode()))
            self.closing.add(task)
            task.add_done_callback(self.closing.discard)

        conn = Connection(user, transport, self.flusher, self.outgoing_limit, close)
        session = _Session(self, conn)
        try:
            incomplete = await self.hub.attach(conn, resume_from)
            if resume_from is not None:
                conn.send(wsframe.text(events.resumed(incomplete)))
            await session.run(ws)
        finally:
            await self.hub.detach(conn)

    async def _authenticate(
        self, ws: web.WebSocketResponse
    ) -> tuple[User, dict[int, int] | None] | None:
        try:
            msg = await ws.receive(timeout=self.auth_timeout)
        except TimeoutError:
            await _refuse(ws, "no auth frame within the time allowed")
            return None
        if msg.type != WSMsgType.TEXT:
            if msg.type == WSMsgType.BINARY:
                await _refuse(ws, "the first frame must be an auth frame")
            return None
        self.metrics.frames_in.inc()
        try:
            command = frames.parse(msg.data)
        except ProtocolError as exc:
            await _refuse(ws, exc.message)
            return None
        if not isinstance(command, frames.Auth):
            await _refuse(ws, "the first frame must be an auth frame")
            return None
        try:
            user = await self.auth.user_for(command.token)
        except AuthError as exc:
            await _refuse(ws, exc.message)
            return None
        return user, command.resume


async def _refuse(ws: web.WebSocketResponse, reason: str) -> None:
    logger.info("websocket refused: %s", reason)
    await ws.send_str(events.error("unauthorized", reason).decode())
    await ws.close(code=CLOSE_UNAUTHORIZED, message=b"unauthorized")


class _Session:
    """One authenticated connection's command loop."""

    def __init__(self, gateway: Gateway, conn: Connection) -> None:
        self.gateway = gateway
        self.hub = gateway.hub
        self.conn = conn
        self.user = conn.user
        self.frames = TokenBucket(gateway.frame_rate, gateway.frame_burst)
        self.in_flight = 0

    async def run(self, ws: web.WebSocketResponse) -> None:
        frames_in = self.gateway.metrics.frames_in
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                frames_in.inc()
                try:
                    await self._handle(msg.data)
                except ProtocolError as exc:
                    logger.info("user %s: %s (%s)", self.user.id, exc.message, exc.code)
                    self.conn.send(wsframe.text(events.error(exc.code, exc.message, exc.client_id)))
                except Exception:
                    # A dependency failed (say the store during a read marker): answer, stay open.
                    logger.exception("user %s: frame failed", self.user.id)
                    self.conn.send(
                        wsframe.text(
                            events.error(
                                "unavailable", "that could not be done right now; retry later"
                            )
                        )
                    )
            elif msg.type == WSMsgType.BINARY:
                self.conn.send(
                    wsframe.text(
                        events.error(
                            "invalid_input",
                            "binary frames are not supported; send JSON text frames",
                        )
                    )
                )
            if self.conn.closed:
                break

    async def _handle(self, raw: str | bytes) -> None:
        if not self.frames.take():
            raise ProtocolError("rate_limited", "too many frames; slow down")
        command = frames.parse(raw)
        if isinstance(command, frames.Send):
            await self._send(command)
        elif isinstance(command, frames.Ping):
            self.conn.send(_PONG)
        elif isinstance(command, frames.Typing):
            if command.room not in self.conn.live_from:
                raise not_found()
            if self.gateway.typing.allow((self.user.id, command.room)):
                await self.hub.typing(self.user, command.room)
        elif isinstance(command, frames.Read):
            try:
                moved = await self.hub.store.mark_read(command.room, self.user.id, command.seq)
            except NotMember:
                raise not_found() from None
            if moved is not None:
                await self.hub.read(self.user, command.room, moved)
        elif isinstance(command, frames.Resume):
            incomplete = await self.hub.replay(self.conn, command.rooms)
            self.conn.send(wsframe.text(events.resumed(incomplete)))
        else:
            raise invalid("already authenticated")

    async def _send(self, command: frames.Send) -> None:
        """Put the message in line and answer when it settles, without waiting for that.

        The read loop awaits only the submission, which fixes the message's
        place, so a connection's messages keep their order while many of them
        are on their way to the store.
        """
        if self.in_flight >= MAX_IN_FLIGHT:
            raise ProtocolError(
                "rate_limited", "too many sends awaiting their ack", command.client_id
            )
        sending = self.gateway.sending
        sending.admit(self.user, command.client_id)
        pending = await sending.submit(self.user, command.room, command.body, command.client_id)
        self.in_flight += 1
        pending.future.add_done_callback(lambda _: self._answer(pending, command.client_id))

    def _answer(self, pending: Pending, client_id: str) -> None:
        self.in_flight -= 1
        try:
            message = self.gateway.sending.result(pending)
        except ProtocolError as exc:
            self.conn.send(wsframe.text(events.error(exc.code, exc.message, exc.client_id)))
        except (Exception, asyncio.CancelledError):
            logger.exception("send failed unexpectedly")
            self.conn.send(
                wsframe.text(
                    events.error("unavailable", "the message was not stored; retry", client_id)
                )
            )
        else:
            self.conn.send(wsframe.text(events.ack(message, client_id)))


_PONG = wsframe.text(events.PONG)
