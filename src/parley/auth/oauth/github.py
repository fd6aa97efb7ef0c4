"""Sign-in with GitHub: OAuth 2.0, not OpenID Connect, so the user comes from its API.

GitHub issues no ID token: who signed in is what ``GET /user`` answers with
the access token, and the identity is stored under GitHub's address (the
issuer) and the account's numeric id (the subject), which stays the same when
the user renames their login. The code flow still carries ``state`` (checked
by Parley before this runs) and PKCE. ``PARLEY_GITHUB_URL`` and
``PARLEY_GITHUB_API_URL`` point it at GitHub Enterprise Server (or a test
double).
"""

from __future__ import annotations

import httpx
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client

from parley.auth.oauth.base import ExternalAccount, OAuthFailed, claim_text
from parley.config import ProviderSettings

HTTP_TIMEOUT_SECONDS = 10.0
API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


class GitHubProvider:
    def __init__(self, settings: ProviderSettings) -> None:
        assert settings.authorization_endpoint and settings.token_endpoint
        assert settings.userinfo_endpoint
        self.settings = settings
        self._authorize = settings.authorization_endpoint
        self._token = settings.token_endpoint
        self._user = settings.userinfo_endpoint

    def _session(self, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret,
            scope=self.settings.scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_post",
            timeout=HTTP_TIMEOUT_SECONDS,
        )

    async def authorization_url(
        self, redirect_uri: str, state: str, nonce: str, code_verifier: str
    ) -> str:
        async with self._session(redirect_uri) as session:
            url, _ = session.create_authorization_url(
                self._authorize, state=state, code_verifier=code_verifier
            )
        return str(url)

    async def account(
        self, code: str, redirect_uri: str, code_verifier: str, nonce: str
    ) -> ExternalAccount:
        async with self._session(redirect_uri) as session:
            try:
                await session.fetch_token(
                    self._token,
                    code=code,
                    code_verifier=code_verifier,
                    headers={"Accept": "application/json"},
                )
                response = await session.get(self._user, headers=API_HEADERS)
                response.raise_for_status()
                user = response.json()
            except OAuthError as exc:
                raise OAuthFailed("provider_error", f"GitHub token: {exc}") from None
            except (httpx.HTTPError, ValueError) as exc:
                raise OAuthFailed("provider_unavailable", f"GitHub: {exc!r}") from None
        subject = user.get("id") if isinstance(user, dict) else None
        if isinstance(subject, bool) or not isinstance(subject, int) or subject <= 0:
            raise OAuthFailed("token_invalid", "GitHub's user has no numeric id")
        return ExternalAccount(
            issuer=self.settings.issuer,
            subject=str(subject),
            username=claim_text(user.get("login")),
            name=claim_text(user.get("name")),
            email=claim_text(user.get("email")),
        )
