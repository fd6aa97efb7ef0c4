"""The rules of one WebSocket session, with no I/O: what a frame may do, and when.

A session starts awaiting its ``auth`` frame, is open once the gateway has
attached the connection, and is closing once the socket is on its way out.
The gateway's endpoint (``gateway/endpoint.py``) reads frames and carries out
the commands this returns; every rule about them is here, tested with data
alone:

* the first frame must be a valid ``auth`` frame, or the socket is refused
  (``unauthorized``, then close code 4401);
* an open session's frames are rate limited, parsed into commands, and a
  second ``auth`` is refused;
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
        "frame_burst",
        "frame_rate",
        "in_flight",
        "max_in_flight",
        "state",
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

    def opened(self) -> None:
        """The connection is authenticated and attached: frames are commands from now on."""
        self._expect(State.AWAITING_AUTH)
        self.state = State.OPEN

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
        elif type(command) is frames.Auth:
            raise invalid("already authenticated")
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
