"""The flows of signing in (or linking an account) with a provider, start to finish.

``begin`` picks the flow's secrets and says where to send the browser, and
what to keep in its flow cookie (``flow.py``). ``open`` is the first thing the
callback does: the cookie must be genuine, for this provider, unexpired, carry
the ``state`` the provider returned, and that state must not have been used
before. ``complete`` then asks the provider who signed in and hands the
account to the ``AuthService``, which signs them in (creating the user on
their first visit) or links the account to the user who started the flow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from parley.auth.oauth import flow as flows
from parley.auth.oauth.base import OAuthFailed, Provider
from parley.auth.oauth.flow import Flow
from parley.auth.service import AuthService, Session
from parley.config import ProviderSettings
from parley.ratelimit import Hit, Limiter, LimiterUnavailable, Window

CALLBACK_PATH = "/api/auth/oauth/{provider}/callback"
_ONCE = Window(1, flows.TTL_SECONDS)
"""A state is admitted once in its lifetime."""


@dataclass(frozen=True, slots=True)
class Finished:
    flow: Flow
    session: Session | None
    """The new session of a sign-in; None after a link."""


class OAuthService:
    def __init__(
        self,
        secret_key: str,
        public_url: str | None,
        providers: Sequence[Provider],
        auth: AuthService,
        limiter: Limiter,
    ) -> None:
        self._secret = secret_key
        self._public_url = public_url or ""
        self._providers = {p.settings.name: p for p in providers}
        self._auth = auth
        self._limiter = limiter

    @property
    def configured(self) -> list[ProviderSettings]:
        return [p.settings for p in self._providers.values()]

    def settings_for_issuer(self, issuer: str) -> ProviderSettings | None:
        return next((s for s in self.configured if s.issuer == issuer), None)

    def provider(self, name: str) -> Provider:
        found = self._providers.get(name)
        if found is None:
            raise OAuthFailed("unknown_provider", f"no provider named {name!r}")
        return found

    def _redirect_uri(self, name: str) -> str:
        return self._public_url + CALLBACK_PATH.format(provider=name)

    async def begin(self, name: str, next_path: str, link_user: int | None) -> tuple[str, str]:
        """The provider's authorization URL, and the sealed flow for the browser's cookie."""
        provider = self.provider(name)
        flow = Flow.start(name, flows.safe_next(next_path), link_user)
        url = await provider.authorization_url(
            self._redirect_uri(name), flow.state, flow.nonce, flow.verifier
        )
        return url, flows.seal(self._secret, flow)

    async def open(self, name: str, sealed: str | None, state: str | None) -> Flow:
        """The flow the callback belongs to, once; raises ``OAuthFailed``."""
        self.provider(name)
        try:
            flow = flows.unseal(self._secret, sealed, name)
        except flows.FlowInvalid as exc:
            raise OAuthFailed("state_invalid", str(exc)) from None
        if not flows.same_state(flow, state):
            raise OAuthFailed("state_mismatch", "the state returned is not the one sent")
        try:
            admission = await self._limiter.reserve([Hit(f"oauth-state|{flow.state}", _ONCE)])
        except LimiterUnavailable as exc:
            raise OAuthFailed("unavailable", f"cannot claim the state: {exc}") from None
        if not admission.admitted:
            raise OAuthFailed("state_used", "this sign-in was already completed once")
        return flow

    async def complete(self, flow: Flow, params: Mapping[str, str], client: str) -> Finished:
        provider = self.provider(flow.provider)
        error = params.get("error")
        if error is not None:
            code = "denied" if error == "access_denied" else "provider_error"
            raise OAuthFailed(code, f"the provider answered {error!r}")
        issuer = params.get("iss")
        if issuer is not None and issuer != provider.settings.issuer:
            raise OAuthFailed("provider_error", f"the answer names issuer {issuer!r} (mix-up)")
        authorization_code = params.get("code")
        if not authorization_code:
            raise OAuthFailed("provider_error", "the provider sent no code")
        account = await provider.account(
            authorization_code, self._redirect_uri(flow.provider), flow.verifier, flow.nonce
        )
        if flow.link_user is not None:
            await self._auth.link(flow.link_user, account)
            return Finished(flow, None)
        return Finished(flow, await self._auth.sign_in_with(account, client))
