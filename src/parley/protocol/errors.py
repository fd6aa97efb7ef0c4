"""The error codes a client can meet, shared by the HTTP API and the WebSocket."""

from __future__ import annotations

from typing import Literal

ErrorCode = Literal[
    "invalid_input",
    "not_found",
    "rate_limited",
    "unavailable",
    "unauthorized",
    "forbidden",
    "username_taken",
    "invalid_credentials",
    "last_sign_in_method",
    "too_large",
]


class ProtocolError(Exception):
    """A request Parley refuses; ``code`` is machine-readable, ``message`` is for people."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        client_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.client_id = client_id
        self.retry_after = retry_after
        """Seconds until a refused (``rate_limited``) request could pass, when known."""


def invalid(message: str, client_id: str | None = None) -> ProtocolError:
    return ProtocolError("invalid_input", message, client_id)


def not_found(client_id: str | None = None) -> ProtocolError:
    """One message for unknown rooms and rooms you are not in, so existence does not leak."""
    return ProtocolError("not_found", "no such room, or you are not a member", client_id)
