"""``GET /ws``: the aiohttp adapter around the session rules, the hub and the send pipeline.

What a frame may do, and when, is decided by ``protocol.session.Session``;
this module does the I/O: reading frames, authenticating the token, attaching
to the hub, and carrying out the commands the session hands back.

aiohttp parses incoming frames; outgoing frames bypass its writer and go to the
transport pre-framed (see ``Connection``), which keeps fan-out at one buffer
write per delivery. Compression is off: permessage-deflate doubles CPU per
delivered message and costs tens of KiB per connection.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from parley.announcer import Announcer
from parley.auth import Access, AuthError, AuthService
from parley.gateway.connection import (
    BUSY,
    HEARTBEAT_SECONDS,
    PONG_TIMEOUT_SECONDS,
    SWEEP_PERIOD_SECONDS,
    Connection,
    Flusher,
    Heartbeat,
)
from parley.gateway.hub import Hub
from parley.metrics import Metrics
from parley.models import DraftKind, User
from parley.notify.focus import Focus, LocalFocus
from parley.protocol import events, frames, wsframe
from parley.protocol.errors import ProtocolError, not_found
from parley.protocol.limits import Throttle
from parley.protocol.session import Session
from parley.protocol.status import (
    EXPIRED_REASON,
    REVOKED_REASON,
    UNAUTHORIZED_REASON,
    CloseCode,
)
from parley.ratelimit import Action, UserLimits
from parley.sending import Pending, SendPipeline
from parley.store import NotMember, Store, StoreFailed

logger = logging.getLogger(__name__)

TYPING_INTERVAL_SECONDS = 2.0
UNAVAILABLE = "the service is unavailable; retry shortly"


@dataclass
class Gateway:
    hub: Hub
    store: Store
    announcer: Announcer
    auth: AuthService
    sending: SendPipeline
    limits: UserLimits
    metrics: Metrics
    flusher: Flusher
    auth_timeout: float
    outgoing_limit: int
    frame_rate: float
    frame_burst: int
    heartbeat: float = HEARTBEAT_SECONDS
    """Seconds without a frame after which a client is pinged."""
    pong_timeout: float = PONG_TIMEOUT_SECONDS
    sweep_period: float = SWEEP_PERIOD_SECONDS
    focus: Focus = field(default_factory=LocalFocus)
    """Which room each connection shows, for the notifier (``notify/focus.py``)."""

    def __post_init__(self) -> None:
        self.instance = secrets.token_hex(4)
        """Names this gateway's connections in the cluster-wide focus."""
        self.typing = Throttle(TYPING_INTERVAL_SECONDS)
        self.sockets: set[web.WebSocketResponse] = set()
        self.closing: set[asyncio.Future[bool]] = set()
        self.pulse = Heartbeat(
            self.hub.each_connection, self.heartbeat, self.pong_timeout, self.sweep_period
        )

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """One socket, from the handshake to its close.

        This coroutine (with aiohttp's below it) stays suspended for as long as
        the socket is open, so the read loop is here rather than a call deeper:
        every frame of the await chain costs memory on every idle connection.
        Pings are answered here rather than by aiohttp (``autoping=False``) so
        that any frame, pongs included, counts as a sign of life (``Heartbeat``).
        """
        ws = web.WebSocketResponse(
            compress=False, max_msg_size=frames.MAX_FRAME_BYTES, autoping=False
        )
        await ws.prepare(request)
        self.sockets.add(ws)
        try:
            try:
                socket = await self._open(ws, request)
            except StoreFailed:
                # The database is down (/readyz logs it once): a clear answer and the
                # close code that says "retry", not a traceback and an abnormal close.
                await ws.send_str(events.error("unavailable", UNAVAILABLE).decode())
                await ws.close(code=CloseCode.TRY_AGAIN_LATER, message=b"unavailable")
                return ws
            if socket is None:
                return ws
            conn = socket.conn
            try:
                self.pulse.start()
                conn.silent = 0
                frames_in = self.metrics.frames_in
                while True:
                    msg = await ws.receive()
                    conn.silent = BUSY
                    kind = msg.type
                    if kind is WSMsgType.TEXT:
                        frames_in.inc()
                        await socket.handle(msg.data)
                    elif kind is WSMsgType.BINARY:
                        socket.binary()
                    elif kind is WSMsgType.PING:
                        conn.send(wsframe.pong(msg.data))
                    elif kind is not WSMsgType.PONG:
                        break  # close, closing, closed, error: the socket is done
                    if conn.closed:
                        break
                    conn.silent = 0
                    del msg  # an idle socket keeps no frame alive
            finally:
                socket.session.close()
                socket.stop_clock()
                await socket.unfocus()
                await self.hub.detach(conn)
        finally:
            self.sockets.discard(ws)
        return ws

    async def shutdown(self) -> None:
        """Close every socket with 1012 so clients reconnect (to this or another gateway)."""
        self.pulse.stop()
        for conn in list(self.hub.each_connection()):
            conn.close(CloseCode.SERVICE_RESTART, "server restarting")
        await asyncio.gather(
            *(
                ws.close(code=CloseCode.SERVICE_RESTART, message=b"server restarting")
                for ws in list(self.sockets)
            ),
            return_exceptions=True,
        )

    async def _open(self, ws: web.WebSocketResponse, request: web.Request) -> _Socket | None:
        """Authenticate, then attach to the hub; None when the socket was refused or is gone.

        When this returns a session, its connection is attached and the caller
        must detach it.
        """
        session = Session(self.frame_rate, self.frame_burst)
        hello = await self._authenticate(ws, session)
        if hello is None:
            return None
        access, resume_from = hello
        transport = request.transport
        if transport is None:
            return None
        conn = Connection(
            access.user,
            transport,
            self.flusher,
            self.outgoing_limit,
            _Closer(self, ws),
            family=access.family,
        )
        try:
            incomplete = await self.hub.attach(conn, resume_from)
            if resume_from is not None:
                conn.send(wsframe.text(events.resumed(incomplete)))
            # Asked after attaching, when the user's channel is subscribed: a session
            # revoked before this answer is refused here, one revoked after it is
            # announced to this socket.
            live = await self.auth.session_live(access.family)
        except BaseException:
            await self.hub.detach(conn)
            raise
        session.opened(access.user.id, access.expires_at)
        socket = _Socket(self, conn, session)
        if not live:
            conn.close(CloseCode.UNAUTHORIZED, REVOKED_REASON)
        socket.start_clock()
        return socket

    async def _authenticate(
        self, ws: web.WebSocketResponse, session: Session
    ) -> tuple[Access, dict[int, int] | None] | None:
        try:
            async with asyncio.timeout(self.auth_timeout):
                msg = await ws.receive()
                while msg.type is WSMsgType.PING or msg.type is WSMsgType.PONG:
                    if msg.type is WSMsgType.PING:
                        await ws.pong(msg.data)
                    msg = await ws.receive()
        except TimeoutError:
            session.close()
            await _refuse(ws, "no auth frame within the time allowed")
            return None
        if msg.type is WSMsgType.TEXT:
            self.metrics.frames_in.inc()
        elif msg.type is not WSMsgType.BINARY:
            session.close()
            return None  # closed before saying anything
        try:
            command = session.receive_auth(msg.data if msg.type is WSMsgType.TEXT else None)
            access = await self.auth.access_for(command.token)
        except ProtocolError as exc:
            await _refuse(ws, exc.message)
            return None
        except AuthError as exc:
            session.close()
            await _refuse(ws, exc.message)
            return None
        return access, command.resume


class _Closer:
    """``Connection``'s way to close its socket: a close frame with a code, then the TCP close."""

    __slots__ = ("gateway", "ws")

    def __init__(self, gateway: Gateway, ws: web.WebSocketResponse) -> None:
        self.gateway = gateway
        self.ws = ws

    def __call__(self, code: CloseCode, reason: str) -> None:
        gateway = self.gateway
        if code is CloseCode.TRY_AGAIN_LATER:
            gateway.metrics.slow_consumers.inc()
        task = asyncio.ensure_future(self.ws.close(code=code, message=reason.encode()))
        gateway.closing.add(task)
        task.add_done_callback(gateway.closing.discard)


async def _refuse(ws: web.WebSocketResponse, reason: str) -> None:
    logger.info("websocket refused: %s", reason)
    await ws.send_str(events.error("unauthorized", reason).decode())
    await ws.close(code=CloseCode.UNAUTHORIZED, message=UNAUTHORIZED_REASON.encode())


class _Socket:
    """One authenticated socket: its connection, its session rules, and their I/O."""

    __slots__ = ("conn", "focused", "gateway", "session", "timer")

    def __init__(self, gateway: Gateway, conn: Connection, session: Session) -> None:
        self.gateway = gateway
        self.conn = conn
        self.session = session
        self.timer: asyncio.TimerHandle | None = None
        """Fires when the session's token expires: one loop timer, not a task, per socket."""
        self.focused = False

    def start_clock(self) -> None:
        """(Re)arm the expiry timer for the session's current token."""
        self.stop_clock()
        delay = max(0.0, self.session.expires_at - time.time())
        self.timer = asyncio.get_running_loop().call_later(delay, self._expire)

    def stop_clock(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _expire(self) -> None:
        self.timer = None
        if not self.session.expired(time.time()):
            if not self.conn.closed:
                self.start_clock()  # the wall clock and the loop's drifted apart
            return
        logger.info("user %s: token expired on an open socket", self.user.id)
        self.conn.send(
            wsframe.text(events.error("unauthorized", "token expired: authenticate again"))
        )
        self.conn.close(CloseCode.UNAUTHORIZED, EXPIRED_REASON)

    @property
    def user(self) -> User:
        return self.conn.user

    async def handle(self, raw: str | bytes) -> None:
        """One text frame: act on it, or answer the error; the connection stays open."""
        try:
            await self._handle(raw)
        except ProtocolError as exc:
            self._refused(exc)
        except Exception:
            # A dependency failed (say the store during a read marker): answer, stay open.
            logger.exception("user %s: frame failed", self.user.id)
            self.conn.send(
                wsframe.text(
                    events.error("unavailable", "that could not be done right now; retry later")
                )
            )

    def binary(self) -> None:
        try:
            self.session.receive_binary()
        except ProtocolError as exc:
            self._refused(exc)

    def _refused(self, exc: ProtocolError) -> None:
        # Counted, not logged at INFO: an outage refuses every send, and a line per
        # frame buried the one line per state change that says what happened.
        self.gateway.metrics.frames_refused.labels(exc.code).inc()
        logger.debug("user %s: %s (%s)", self.user.id, exc.message, exc.code)
        self.conn.send(
            wsframe.text(events.error(exc.code, exc.message, exc.client_id, exc.retry_after))
        )

    async def _handle(self, raw: str | bytes) -> None:
        command = self.session.receive(raw)
        if isinstance(command, frames.Send | frames.Change):
            await self._send(command)
        elif isinstance(command, frames.Ping):
            self.conn.send(_PONG)
        elif isinstance(command, frames.Typing):
            if command.room not in self.conn.live_from:
                raise not_found()
            gateway = self.gateway
            # A room past the typing size hears none: the notice is dropped, not refused.
            if gateway.hub.typing_allowed(command.room) and gateway.typing.allow(
                (self.user.id, command.room)
            ):
                await gateway.limits.take(Action.TYPING, self.user.id)
                await gateway.announcer.typing(self.user, command.room)
        elif isinstance(command, frames.Read):
            gateway = self.gateway
            try:
                moved = await gateway.store.mark_read(command.room, self.user.id, command.seq)
            except NotMember:
                raise not_found() from None
            if moved is not None:
                partner = gateway.hub.read_partner(command.room, self.user.id)
                await gateway.announcer.read(self.user, command.room, moved, partner)
        elif isinstance(command, frames.PresenceSubscribe):
            users, online = await self.gateway.hub.watch(self.conn, command.users)
            self.conn.send(wsframe.text(events.presence_subscribed(users, sorted(online))))
        elif isinstance(command, frames.Focus):
            if command.room is not None and command.room not in self.conn.live_from:
                raise not_found()
            await self.gateway.focus.show(self.user.id, self._focus_key(), command.room)
            self.focused = command.room is not None
        elif isinstance(command, frames.Resume):
            incomplete = await self.gateway.hub.replay(self.conn, command.rooms)
            self.conn.send(wsframe.text(events.resumed(incomplete)))
        elif isinstance(command, frames.Auth):
            await self._reauth(command)

    def _focus_key(self) -> str:
        return f"{self.gateway.instance}:{id(self.conn):x}"

    async def unfocus(self) -> None:
        """A closed socket shows nothing; a failure only delays it to the focus TTL."""
        if not self.focused:
            return
        self.focused = False
        try:
            await self.gateway.focus.show(self.user.id, self._focus_key(), None)
        except Exception as exc:
            logger.warning("could not clear a closed socket's focus: %r", exc)

    async def _reauth(self, command: frames.Auth) -> None:
        """A fresh token on the open socket: it now lives as long as that token.

        A bad or revoked token, or another user's, is answered ``unauthorized``
        and changes nothing: the socket keeps its token, and its deadline.
        """
        auth = self.gateway.auth
        try:
            access = await auth.access_for(command.token)
        except AuthError as exc:
            raise ProtocolError("unauthorized", exc.message) from None
        if not await auth.session_live(access.family):
            raise ProtocolError("unauthorized", "that session was revoked")
        self.session.renew(access.user.id, access.expires_at)
        self.conn.family = access.family
        self.start_clock()
        self.conn.send(wsframe.text(events.reauthed(max(0, access.expires_at - int(time.time())))))

    async def _send(self, command: frames.Send | frames.Change) -> None:
        """Put the entry in line and answer when it settles, without waiting for that.

        The read loop awaits only the submission, which fixes the entry's
        place, so a connection's messages and room events keep their order
        while many of them are on their way to the store.
        """
        sending = self.gateway.sending
        await sending.admit(self.user, command.client_id)
        seen = command.room in self.conn.live_from
        if isinstance(command, frames.Send):
            pending = await sending.submit(
                self.user,
                command.room,
                command.body,
                command.client_id,
                seen_member=seen,
                target=command.reply_to,
                attachments=command.attachments,
            )
        else:
            pending = await sending.submit(
                self.user,
                command.room,
                command.body if isinstance(command, frames.Edit) else "",
                command.client_id,
                seen_member=seen,
                kind=_kind(command),
                target=command.seq,
                emoji=command.emoji if isinstance(command, frames.React | frames.Unreact) else None,
            )
        self.session.sent()
        pending.future.add_done_callback(lambda _: self._answer(pending, command.client_id))

    def _answer(self, pending: Pending, client_id: str) -> None:
        self.session.settled()
        try:
            stored = self.gateway.sending.result(pending)
        except ProtocolError as exc:
            self.conn.send(
                wsframe.text(events.error(exc.code, exc.message, exc.client_id, exc.retry_after))
            )
        except (Exception, asyncio.CancelledError):
            logger.exception("send failed unexpectedly")
            self.conn.send(
                wsframe.text(
                    events.error("unavailable", "the message was not stored; retry", client_id)
                )
            )
        else:
            self.conn.send(wsframe.text(events.ack(stored, client_id)))


def _kind(command: frames.Change) -> DraftKind:
    if isinstance(command, frames.Edit):
        return "edit"
    if isinstance(command, frames.Delete):
        return "delete"
    return "react" if isinstance(command, frames.React) else "unreact"


_PONG = wsframe.text(events.PONG)
