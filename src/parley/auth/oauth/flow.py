"""One sign-in with a provider, from the redirect to the callback, kept by the browser.

Everything the callback needs to check the provider's answer (the ``state``
sent, the PKCE verifier, the ``nonce``, where to go next, and for a link the
user who asked) travels in a short-lived HttpOnly cookie, sealed with an HMAC
of the server's key. So any gateway can finish a flow another one started,
with nothing shared but the key; the cookie binds the flow to the browser that
started it; and nobody can forge or alter one. The state is used once: the
callback claims it in the attempt limiter (one use per state in its lifetime,
shared through Redis in a cluster).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

import jwt

TTL_SECONDS = 600
"""How long a user has at the provider's pages before the flow expires."""
_ALGORITHM = "HS256"
_AUDIENCE = "parley-oauth-flow"
_NEXT = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]{0,512}")
"""A path on this site: one leading slash (``//host`` is another site), no fragment."""


class FlowInvalid(Exception):
    """The cookie is missing, forged, altered, expired or for another provider."""


@dataclass(frozen=True, slots=True)
class Flow:
    provider: str
    state: str
    nonce: str
    verifier: str
    next_path: str
    link_user: int | None
    """None: sign in (or sign up); a user id: link the account to that user."""

    @classmethod
    def start(cls, provider: str, next_path: str, link_user: int | None) -> Flow:
        return cls(
            provider=provider,
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            verifier=secrets.token_urlsafe(64),
            next_path=next_path,
            link_user=link_user,
        )


def safe_next(raw: str | None) -> str:
    """``raw`` if it is a path on this site, else ``/``: no open redirect."""
    return raw if raw is not None and _NEXT.fullmatch(raw) else "/"


def _key(secret: str) -> bytes:
    """A key of its own, so a flow cookie can never pass for an access token or back."""
    return hmac.new(secret.encode(), b"parley oauth flow", hashlib.sha256).digest()


def seal(secret: str, flow: Flow, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    claims = {
        "aud": _AUDIENCE,
        "iat": issued,
        "exp": issued + TTL_SECONDS,
        "prv": flow.provider,
        "st": flow.state,
        "nc": flow.nonce,
        "cv": flow.verifier,
        "nx": flow.next_path,
        "lk": flow.link_user,
    }
    return jwt.encode(claims, _key(secret), algorithm=_ALGORITHM)


def unseal(secret: str, sealed: str | None, provider: str) -> Flow:
    if not sealed:
        raise FlowInvalid("no flow cookie: expired, or started in another browser")
    try:
        claims = jwt.decode(
            sealed,
            _key(secret),
            algorithms=[_ALGORITHM],
            audience=_AUDIENCE,
            options={"require": ["exp", "iat", "aud"]},
        )
        flow = Flow(
            provider=str(claims["prv"]),
            state=str(claims["st"]),
            nonce=str(claims["nc"]),
            verifier=str(claims["cv"]),
            next_path=safe_next(claims["nx"]),
            link_user=claims["lk"] if isinstance(claims["lk"], int) else None,
        )
    except (jwt.PyJWTError, KeyError) as exc:
        raise FlowInvalid(f"flow cookie refused: {exc!r}") from None
    if flow.provider != provider:
        raise FlowInvalid(f"the flow was started for {flow.provider!r}, not {provider!r}")
    return flow


def same_state(flow: Flow, returned: str | None) -> bool:
    return returned is not None and hmac.compare_digest(
        flow.state.encode(), returned.encode("utf-8", "replace")
    )
