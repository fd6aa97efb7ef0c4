"""The web client's refresh token, kept in a cookie that no script can read.

A browser client opts in with the ``X-Parley-Session: cookie`` header on
register, login, refresh and logout: the refresh token then travels only in an
``HttpOnly; SameSite=Strict`` cookie scoped to ``/api/auth`` (``Secure`` over
https) and never in a response body. Bots keep the JSON flow
(``refresh_token`` in the body).

A cookie is sent by the browser on its own, so the endpoints that act on it
are guarded against cross-site requests three times over: SameSite=Strict
keeps other sites' requests from carrying it; the custom header cannot be set
by a cross-origin page without a CORS preflight, which Parley never grants;
and an ``Origin`` header, when present, must be this server's own.
"""

from __future__ import annotations

from aiohttp import web

from parley.auth import AuthError
from parley.protocol.errors import invalid

NAME = "parley_refresh"
PATH = "/api/auth"
HEADER = "X-Parley-Session"
OPT_IN = "cookie"


def wanted(request: web.Request) -> bool:
    """True for the web client's requests; refuses cross-origin ones (CSRF).

    The header has one value: any other is refused (422) rather than read as
    "no cookie", so a client that misspells it hears so instead of getting its
    refresh token in the body.
    """
    sent = request.headers.get(HEADER)
    if sent is None:
        return False
    if sent.strip().lower() != OPT_IN:
        raise invalid(f"{HEADER} must be {OPT_IN!r}")
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        raise AuthError("forbidden", "cross-origin requests cannot use the session cookie")
    return True


def token(request: web.Request, opted_in: bool) -> str | None:
    """The cookie's refresh token; only for a request that opted in (see ``wanted``)."""
    value = request.cookies.get(NAME)
    if value and not opted_in:
        raise AuthError("forbidden", f"the session cookie needs the {HEADER}: {OPT_IN} header")
    return value or None


def store(request: web.Request, response: web.StreamResponse, value: str, max_age: int) -> None:
    response.set_cookie(
        NAME,
        value,
        max_age=max_age,
        path=PATH,
        secure=request.secure,
        httponly=True,
        samesite="Strict",
    )


def clear(request: web.Request, response: web.StreamResponse) -> None:
    response.del_cookie(NAME, path=PATH, secure=request.secure, httponly=True, samesite="Strict")
