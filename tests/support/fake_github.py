"""A local stand-in for GitHub's OAuth endpoints and its ``/user`` API. NOT GitHub.

GitHub is not an OpenID Connect provider and cannot be reached from the tests,
so this double answers the three requests Parley makes, the way GitHub's
documentation says GitHub does: ``/login/oauth/authorize`` (here it approves at
once as ``user``, remembering the PKCE challenge), ``/login/oauth/access_token``
(client credentials, the code once, the PKCE verifier; errors as 200 with an
``error`` field, as GitHub does) and ``/api/user`` (the bearer token's user).
It checks what a real server would refuse, so a Parley that skipped PKCE or
sent the wrong secret would fail here too.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.support.server import free_port


@dataclass
class _Grant:
    user: dict[str, Any]
    challenge: str
    redirect_uri: str


@dataclass
class FakeGitHub:
    client_id: str = field(default_factory=lambda: secrets.token_hex(10))
    client_secret: str = field(default_factory=lambda: secrets.token_hex(20))
    user: dict[str, Any] = field(default_factory=dict)
    """Who "signs in" at the next authorization: ``{"id": 1, "login": …, "name": …}``."""
    port: int = field(default_factory=free_port)
    _codes: dict[str, _Grant] = field(default_factory=dict)
    _tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            "PARLEY_GITHUB_CLIENT_ID": self.client_id,
            "PARLEY_GITHUB_CLIENT_SECRET": self.client_secret,
            "PARLEY_GITHUB_URL": self.url,
            "PARLEY_GITHUB_API_URL": self.url + "/api",
        }

    async def start(self) -> None:
        app = web.Application()
        app.add_routes(
            [
                web.get("/login/oauth/authorize", self._authorize),
                web.post("/login/oauth/access_token", self._access_token),
                web.get("/api/user", self._user),
            ]
        )
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _authorize(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("client_id") != self.client_id or query.get("code_challenge_method") != "S256":
            return web.Response(status=400, text="unknown client or no PKCE")
        code = secrets.token_hex(10)
        self._codes[code] = _Grant(dict(self.user), query["code_challenge"], query["redirect_uri"])
        target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        raise web.HTTPFound(target)

    async def _access_token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant = self._codes.pop(str(form.get("code")), None)
        verifier = str(form.get("code_verifier", ""))
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
            or grant is None
            or grant.challenge != challenge
            or form.get("redirect_uri") != grant.redirect_uri
        ):
            return web.json_response({"error": "bad_verification_code"})
        token = secrets.token_hex(20)
        self._tokens[token] = grant.user
        return web.json_response({"access_token": token, "token_type": "bearer", "scope": ""})

    async def _user(self, request: web.Request) -> web.Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        user = self._tokens.get(token) if scheme.lower() in ("bearer", "token") else None
        if user is None:
            return web.json_response({"message": "Bad credentials"}, status=401)
        return web.json_response(user)
