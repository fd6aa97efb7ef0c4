"""Sign-in with any OpenID Connect provider, on Authlib.

Authlib does the protocol: discovery (``/.well-known/openid-configuration``),
the authorization URL with PKCE (S256), the code exchange with the client's
credentials, and the ID token's verification against the provider's JWKS
(fetched again once when a token names a key id it does not know, so key
rotation works). Parley adds what a sign-in needs on top:

- the discovered issuer must be the configured one, and only asymmetric
  signature algorithms are accepted;
- the ID token must name this client in ``aud`` (Authlib alone checks ``azp``),
  come from the issuer, be unexpired and carry the nonce of this flow;
- names come from the ID token, or from the userinfo endpoint when the token
  has none (providers that follow the spec's "claims only at userinfo" rule),
  whose subject must then match.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from authlib.integrations.base_client import BaseApp, OAuthError
from authlib.integrations.base_client.async_app import AsyncOAuth2Mixin
from authlib.integrations.base_client.async_openid import AsyncOpenIDMixin
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc.errors import JoseError

from parley.auth.oauth.base import ExternalAccount, OAuthFailed, claim_text
from parley.config import ProviderSettings

logger = logging.getLogger(__name__)

HTTP_TIMEOUT_SECONDS = 10.0
CLOCK_LEEWAY_SECONDS = 60
"""How far the provider's clock may be off ours when checking ``exp`` and ``iat``."""
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
"""Signature algorithms accepted on ID tokens: never "none", never a shared-secret HMAC."""


class _Client(AsyncOAuth2Mixin, AsyncOpenIDMixin, BaseApp):  # type: ignore[misc]
    """Authlib's framework-independent async OpenID client (its Starlette app, minus Starlette)."""

    client_cls = AsyncOAuth2Client


def _client(settings: ProviderSettings) -> _Client:
    explicit = settings.jwks_uri is not None
    metadata: dict[str, Any] = {}
    if explicit:
        metadata = {
            "issuer": settings.issuer,
            "authorization_endpoint": settings.authorization_endpoint,
            "token_endpoint": settings.token_endpoint,
            "jwks_uri": settings.jwks_uri,
        }
        if settings.userinfo_endpoint:
            metadata["userinfo_endpoint"] = settings.userinfo_endpoint
    return _Client(
        framework=None,
        name=settings.name,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        server_metadata_url=(
            None if explicit else f"{settings.issuer}/.well-known/openid-configuration"
        ),
        client_kwargs={
            "scope": settings.scopes,
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": (
                "client_secret_basic" if settings.client_secret else "none"
            ),
            "timeout": HTTP_TIMEOUT_SECONDS,
        },
        **metadata,
    )


class OidcProvider:
    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings
        self._client = _client(settings)

    async def authorization_url(
        self, redirect_uri: str, state: str, nonce: str, code_verifier: str
    ) -> str:
        await self._metadata()
        try:
            found = await self._client.create_authorization_url(
                redirect_uri, state=state, nonce=nonce, code_verifier=code_verifier
            )
        except httpx.HTTPError as exc:
            raise OAuthFailed("provider_unavailable", repr(exc)) from None
        url: str = found["url"]
        return url

    async def account(
        self, code: str, redirect_uri: str, code_verifier: str, nonce: str
    ) -> ExternalAccount:
        await self._metadata()
        try:
            token = await self._client.fetch_access_token(
                redirect_uri=redirect_uri, code=code, code_verifier=code_verifier
            )
        except OAuthError as exc:
            raise OAuthFailed("provider_error", f"token endpoint: {exc}") from None
        except httpx.HTTPError as exc:
            raise OAuthFailed("provider_unavailable", f"token endpoint: {exc!r}") from None
        if "id_token" not in token:
            raise OAuthFailed("token_invalid", "the token response has no id_token")
        claims = await self._verified(token, nonce)
        if not any(claims.get(k) for k in ("preferred_username", "name", "email")):
            claims = {**await self._userinfo(token, claims["sub"]), **claims}
        return ExternalAccount(
            issuer=self.settings.issuer,
            subject=claims["sub"],
            username=claim_text(claims.get("preferred_username")),
            name=claim_text(claims.get("name")),
            email=claim_text(claims.get("email")),
        )

    async def _metadata(self) -> None:
        """Discover the provider once; its issuer must be the configured one."""
        try:
            metadata = await self._client.load_server_metadata()
        except (httpx.HTTPError, ValueError) as exc:
            raise OAuthFailed("provider_unavailable", f"discovery: {exc!r}") from None
        if metadata.get("issuer") != self.settings.issuer:
            self._client.server_metadata.pop("_loaded_at", None)
            raise OAuthFailed(
                "provider_unavailable",
                f"discovery names issuer {metadata.get('issuer')!r}, "
                f"not the configured {self.settings.issuer!r}",
            )
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        metadata["id_token_signing_alg_values_supported"] = [
            alg for alg in offered if alg in ASYMMETRIC
        ] or ["RS256"]

    async def _verified(self, token: dict[str, Any], nonce: str) -> dict[str, Any]:
        options = {
            "iss": {"essential": True, "value": self.settings.issuer},
            "aud": {"essential": True, "value": self.settings.client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
        }
        try:
            claims = await self._client.parse_id_token(
                token, nonce=nonce, claims_options=options, leeway=CLOCK_LEEWAY_SECONDS
            )
        except JoseError as exc:
            raise OAuthFailed("token_invalid", f"ID token refused: {exc!r}") from None
        except httpx.HTTPError as exc:
            raise OAuthFailed("provider_unavailable", f"JWKS: {exc!r}") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not 1 <= len(subject) <= 255:
            raise OAuthFailed("token_invalid", "the ID token's subject is not 1 to 255 characters")
        return dict(claims)

    async def _userinfo(self, token: dict[str, Any], subject: str) -> dict[str, Any]:
        if not self._client.server_metadata.get("userinfo_endpoint"):
            return {}
        try:
            info = dict(await self._client.userinfo(token=token))
        except (httpx.HTTPError, OAuthError, ValueError) as exc:
            logger.warning(
                "%s: userinfo failed, signing in without names: %r", self.settings.name, exc
            )
            return {}
        if info.get("sub") != subject:
            raise OAuthFailed("token_invalid", "userinfo is about another subject")
        return info
