"""The rules of one WebSocket session, with no I/O: what a frame may do, and when.

A session starts awaiting its ``auth`` frame, is open once the gateway has
attached the connection, and is closing once the socket is on its way out.
The gateway's endpoint (``gateway/endpoint.py``) reads frames and carries out
the commands this returns; every rule about them is here, tested with data
alone:

* the first frame must be a valid ``auth`` frame, or the socket is refused
  (``unauthorized``, then close code 4401);
* an open session's frames are rate limited and parsed into commands;
* a session lives as long as its access token: a later ``auth`` frame with a
  fresh token of the same user (without ``resume``) extends it, and once its
  token has expired without one the socket is closed (4401, ``token expired``);
* at most ``max_in_flight`` sends (messages and room events) wait for their
  ack at once; past that a send is refused with ``rate_limited``, echoing its
  client_id;
* frames that arrive while closing are dropped.
"""

from __future__ import annotations

from enum import Enum
from time import monotonic

from parley.protocol import frames
from parley.protocol.errors import ProtocolError, invalid
from parley.protocol.limits import Clock, TokenBucket

MAX_IN_FLIGHT = 256
"""Sends per connection waiting for their ack; past it a send is refused with rate_limited."""

NOT_AUTH = "the first frame must be an auth frame"


class State(Enum):
    AWAITING_AUTH = "awaiting auth"
    OPEN = "open"
    CLOSING = "closing"


class Session:
    __slots__ = (
        "_clock",
        "_frames",
        "expires_at",
        "frame_burst",
        "frame_rate",
        "in_flight",
        "max_in_flight",
        "state",
        "user_id",
    )

    def __init__(
        self,
        frame_rate: float,
        frame_burst: int,
        *,
        max_in_flight: int = MAX_IN_FLIGHT,
        clock: Clock = monotonic,
    ) -> None:
        self.state = State.AWAITING_AUTH
        self.frame_rate = frame_rate
        self.frame_burst = frame_burst
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        """Sends submitted and not yet settled."""
        self._clock = clock
        self._frames: TokenBucket | None = None
        """Made at the first frame after auth: a full bucket then, as it would be at the connect."""
        self.user_id = 0
        self.expires_at = 0.0
        """Unix time (seconds) at which the session's access token expires."""

    def receive_auth(self, raw: str | bytes | None) -> frames.Auth:
        """The first frame (None for a binary one): the auth command, or the refusal to send.

        A refusal is a ``ProtocolError`` with code ``unauthorized`` and leaves the
        session closing.
        """
        self._expect(State.AWAITING_AUTH)
        try:
            if raw is None:
                raise ProtocolError("unauthorized", NOT_AUTH)
            try:
                command = frames.parse(raw)
            except ProtocolError as exc:
                raise ProtocolError("unauthorized", exc.message) from None
            if not isinstance(command, frames.Auth):
                raise ProtocolError("unauthorized", NOT_AUTH)
        except ProtocolError:
            self.state = State.CLOSING
            raise
        return command

    def opened(self, user_id: int, expires_at: float) -> None:
        """The connection is authenticated and attached: frames are commands from now on.

        ``expires_at``: when the token it authenticated with expires (Unix seconds).
        """
        self._expect(State.AWAITING_AUTH)
        self.state = State.OPEN
        self.user_id = user_id
        self.expires_at = expires_at

    def renew(self, user_id: int, expires_at: float) -> None:
        """A later ``auth`` frame's token was valid: the session now lasts until it expires.

        Another user's token is refused (``unauthorized``); the session keeps
        its current token.
        """
        self._expect(State.OPEN)
        if user_id != self.user_id:
            raise ProtocolError("unauthorized", "that token is another user's")
        self.expires_at = expires_at

    def expired(self, now: float) -> bool:
        """Whether an open session's token has expired at ``now`` (Unix seconds)."""
        return self.state is State.OPEN and now >= self.expires_at

    def receive(self, raw: str | bytes) -> frames.Command | None:
        """An open session's text frame: the command to carry out; None once closing.

        Raises ``ProtocolError`` for a frame to answer with an error; the
        session stays open.
        """
        if self.state is not State.OPEN:
            if self.state is State.CLOSING:
                return None
            self._expect(State.OPEN)
        bucket = self._frames
        if bucket is None:
            bucket = self._frames = TokenBucket(self.frame_rate, self.frame_burst, self._clock)
        if not bucket.take():
            raise ProtocolError("rate_limited", "too many frames; slow down")
        command = frames.parse(raw)
        if isinstance(command, frames.Send | frames.Change):
            if self.in_flight >= self.max_in_flight:
                raise ProtocolError(
                    "rate_limited", "too many sends awaiting their ack", command.client_id
                )
        elif type(command) is frames.Auth and command.resume is not None:
            raise invalid("resume only in the first auth frame; send a resume frame")
        return command

    def receive_binary(self) -> None:
        """Binary frames carry nothing in this protocol: an open session answers an error.

        (Before auth, a binary frame goes to ``receive_auth`` as None.)
        """
        if self.state is State.OPEN:
            raise invalid("binary frames are not supported; send JSON text frames")

    def sent(self) -> None:
        """A send was submitted: its ack is now awaited."""
        self.in_flight += 1

    def settled(self) -> None:
        """A send's outcome (ack or error) is known."""
        self.in_flight -= 1

    def close(self) -> None:
        """The socket is closing (refused, closed by either side, or the gateway stopping)."""
        self.state = State.CLOSING

    def _expect(self, state: State) -> None:
        if self.state is not state:
            raise RuntimeError(f"session is {self.state.value}, not {state.value}")
