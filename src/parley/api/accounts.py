"""The ways to sign in besides the password form: providers, linked accounts, the password.

Signing in with a provider is two browser navigations, not API calls:
``GET /api/auth/oauth/{provider}/start`` sends the browser to the provider with
the flow kept in an HttpOnly cookie (``parley_oauth``, SameSite=Lax so that it
comes back with the provider's redirect, Path=/api/auth/oauth, ten minutes),
and the provider sends it back to ``.../callback``, which checks everything,
sets the same session cookie a password sign-in sets and redirects into the
web client. The outcome travels in the redirect's fragment (``#oauth=…`` or
``#oauth_error=CODE``): never the server's logs, never a message an attacker
could write, only a code the client has its own words for.

Linking starts with an authenticated ``POST .../link`` that binds the flow to
the signed-in user and answers the URL to navigate to; the callback is the same.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from aiohttp import web

from parley.api import session_cookie
from parley.api.http import bearer, json, read_json
from parley.auth import AuthError, AuthService
from parley.auth.oauth import OAuthFailed
from parley.auth.oauth import flow as flows
from parley.auth.oauth.service import OAuthService
from parley.models import Identity, User, rfc3339
from parley.protocol import validation
from parley.protocol.errors import ProtocolError, invalid
from parley.store import LastSignInMethod, Store

logger = logging.getLogger(__name__)

FLOW_COOKIE = "parley_oauth"
FLOW_COOKIE_PATH = "/api/auth/oauth"
NO_STORE = {"Cache-Control": "no-store"}
_ORDINARY = frozenset({"denied", "unknown_provider", "rate_limited", "identity_taken"})


class Accounts:
    def __init__(
        self, store: Store, auth: AuthService, oauth: OAuthService, refresh_token_ttl: int
    ) -> None:
        self.store = store
        self.auth = auth
        self.oauth = oauth
        self.refresh_token_ttl = refresh_token_ttl

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/auth/providers", self.providers),
            web.get("/api/auth/oauth/{provider}/start", self.start),
            web.get("/api/auth/oauth/{provider}/callback", self.callback),
            web.post("/api/auth/oauth/{provider}/link", self.link),
            web.get("/api/me/identities", self.identities),
            web.delete("/api/me/identities/{identity}", self.unlink),
            web.post("/api/me/password", self.set_password),
        ]

    async def _user(self, request: web.Request) -> User:
        return await self.auth.user_for(bearer(request))

    async def providers(self, request: web.Request) -> web.Response:
        return json(
            {
                "providers": [
                    {"name": p.name, "display_name": p.display_name, "kind": p.kind}
                    for p in self.oauth.configured
                ]
            }
        )

    # the flow

    async def start(self, request: web.Request) -> web.Response:
        name = request.match_info["provider"]
        try:
            url, sealed = await self.oauth.begin(name, request.query.get("next", "/"), None)
        except OAuthFailed as exc:
            return self._failed(name, "/", exc)
        response = web.Response(status=302, headers={"Location": url, **NO_STORE})
        self._keep_flow(request, response, sealed)
        return response

    async def link(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        data = await read_json(request)
        next_path = data.get("next", "/")
        if not isinstance(next_path, str):
            raise invalid("next must be a path on this site")
        try:
            url, sealed = await self.oauth.begin(
                request.match_info["provider"], flows.safe_next(next_path), user.id
            )
        except OAuthFailed as exc:
            if exc.code == "unknown_provider":
                raise ProtocolError("not_found", "no such provider") from None
            logger.warning("link with %s: %s", request.match_info["provider"], exc)
            raise ProtocolError("unavailable", "the provider cannot be reached") from None
        response = json({"url": url})
        self._keep_flow(request, response, sealed)
        return response

    async def callback(self, request: web.Request) -> web.Response:
        name = request.match_info["provider"]
        query = request.query
        try:
            flow = await self.oauth.open(name, request.cookies.get(FLOW_COOKIE), query.get("state"))
        except OAuthFailed as exc:
            return self._failed(name, "/", exc)
        try:
            finished = await self.oauth.complete(flow, query, request.remote or "unknown")
        except (OAuthFailed, AuthError) as exc:
            return self._failed(name, flow.next_path, exc)
        outcome = "signed_in" if finished.session is not None else "linked"
        response = self._back(flow.next_path, {"oauth": outcome, "provider": name})
        if finished.session is not None:
            session_cookie.store(
                request, response, finished.session.refresh_token, self.refresh_token_ttl
            )
        return response

    def _failed(self, name: str, next_path: str, exc: OAuthFailed | AuthError) -> web.Response:
        detail = exc.detail if isinstance(exc, OAuthFailed) else exc.message
        # A forged state or token is worth an operator's attention; a user saying no is not.
        level = logging.INFO if exc.code in _ORDINARY else logging.WARNING
        logger.log(level, "sign-in with %r refused: %s (%s)", name, exc.code, detail)
        fragment = {"oauth_error": exc.code}
        if any(p.name == name for p in self.oauth.configured):
            fragment["provider"] = name
        return self._back(next_path, fragment)

    @staticmethod
    def _back(next_path: str, fragment: dict[str, str]) -> web.Response:
        """Into the web client, the flow cookie cleared (used or refused, it is spent)."""
        location = f"{flows.safe_next(next_path)}#{urlencode(fragment)}"
        response = web.Response(status=302, headers={"Location": location, **NO_STORE})
        response.del_cookie(FLOW_COOKIE, path=FLOW_COOKIE_PATH)
        return response

    @staticmethod
    def _keep_flow(request: web.Request, response: web.Response, sealed: str) -> None:
        response.set_cookie(
            FLOW_COOKIE,
            sealed,
            max_age=flows.TTL_SECONDS,
            path=FLOW_COOKIE_PATH,
            secure=request.secure,
            httponly=True,
            samesite="Lax",
        )

    # linked accounts and the password

    async def identities(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        found = await self.store.credentials(user.username)
        linked = await self.store.identities(user.id)
        return json(
            {
                "has_password": found is not None and found[1] is not None,
                "identities": [self._identity(i) for i in linked],
            }
        )

    def _identity(self, identity: Identity) -> dict[str, object]:
        settings = self.oauth.settings_for_issuer(identity.issuer)
        return {
            "id": str(identity.id),
            "provider": settings.name if settings else None,
            "display_name": settings.display_name if settings else identity.issuer,
            "label": identity.label,
            "created_at": rfc3339(identity.created_at),
        }

    async def unlink(self, request: web.Request) -> web.Response:
        """Unlink an account; every other session ends (whoever signed in with it is out)."""
        access = await self.auth.access_for(bearer(request))
        user = access.user
        try:
            identity = validation.object_id(request.match_info["identity"], "identity")
        except ProtocolError:
            raise ProtocolError("not_found", "no such linked account") from None
        try:
            removed = await self.store.unlink_identity(user.id, identity)
        except LastSignInMethod:
            raise ProtocolError(
                "last_sign_in_method",
                "this is your only way to sign in: set a password or link another account first",
            ) from None
        if not removed:
            raise ProtocolError("not_found", "no such linked account")
        await self.auth.revoke_all(user.id, keep=access.family)
        return web.Response(status=204)

    async def set_password(self, request: web.Request) -> web.Response:
        access = await self.auth.access_for(bearer(request))
        data = await read_json(request)
        password = validation.password(data.get("password"))
        current = data.get("current_password")
        if current is not None:
            current = validation.password(current)
        client = request.remote or "unknown"
        await self.auth.set_password(access.user, password, current, client, access.family)
        return web.Response(status=204)
