"""Access tokens (JWT, short-lived, verified without the database) and refresh tokens.

Refresh tokens are random strings; only their SHA-256 is stored, so a leaked
database cannot be replayed against the API.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"
AUDIENCE = "parley"


class InvalidToken(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Claims:
    """What a valid access token says: whose it is, its session, when it stops working."""

    user_id: int
    family: str | None
    """The refresh family (session) it was issued in (``sid``); None for a token without one."""
    expires_at: int
    """Unix seconds."""


def issue_access(
    secret: str, user_id: int, ttl: int, now: float | None = None, family: str | None = None
) -> str:
    """``family`` goes in the ``sid`` claim, so a socket knows which session it belongs to."""
    issued = int(time.time() if now is None else now)
    claims: dict[str, object] = {
        "sub": str(user_id),
        "iat": issued,
        "exp": issued + ttl,
        "aud": AUDIENCE,
    }
    if family is not None:
        claims["sid"] = family
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_access(secret: str, token: str) -> Claims:
    """The token's claims; raises InvalidToken for any flaw or expiry."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["sub", "exp", "iat"]},
        )
        family = claims.get("sid")
        if family is not None and not isinstance(family, str):
            raise InvalidToken("sid must be a string")
        return Claims(int(claims["sub"]), family, int(claims["exp"]))
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken(str(exc)) from None


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def new_family() -> str:
    return secrets.token_hex(16)


def fingerprint(refresh_token: str) -> str:
    return hashlib.sha256(refresh_token.encode()).hexdigest()


def successor(secret: str, refresh_token: str) -> str:
    """The refresh token that replaces ``refresh_token`` when it is rotated.

    Derived rather than drawn at random, so that the same token presented again
    within the grace window (two tabs refreshing at once) is answered with the
    same successor without the successor being stored in clear: computing it
    takes both the old token and the server's key.
    """
    message = b"parley refresh successor\0" + refresh_token.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
