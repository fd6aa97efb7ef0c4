"""WebSocket close codes Parley sends, by name (RFC 6455 section 7.4 and the private range)."""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    MESSAGE_TOO_BIG = 1009
    """A frame over the size limit; aiohttp's reader closes with it (``max_msg_size``)."""
    SERVICE_RESTART = 1012
    """The gateway is shutting down: reconnect, here or to another gateway, and resume."""
    TRY_AGAIN_LATER = 1013
    """The client read too slowly (its outgoing buffer passed the limit): reconnect and resume."""
    UNAUTHORIZED = 4401
    """Not (or no longer) authenticated (4000 + HTTP 401): no valid auth frame, the token
    expired without a fresh one, or its session was revoked. The reason says which."""


UNAUTHORIZED_REASON = "unauthorized"
"""4401's reason when the first frame was not a valid ``auth`` frame."""
EXPIRED_REASON = "token expired"
"""4401's reason when no fresh token came before the socket's token expired."""
REVOKED_REASON = "session revoked"
"""4401's reason when the socket's session ended: logout, sign out everywhere, password
change, provider unlinked, or a refresh token reused."""
