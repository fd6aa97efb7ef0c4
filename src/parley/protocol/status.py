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
    """No valid auth frame: the token is missing, invalid or expired (4000 + HTTP 401)."""
