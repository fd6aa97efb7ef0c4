"""What a sign-in provider does for Parley, whatever protocol it speaks.

A provider sends the browser to its authorization page and, given the code it
sends back, says who the user is there: an ``ExternalAccount``, identified by
the provider's issuer and its subject for the user. OpenID Connect providers
(``oidc.py``) and GitHub (``github.py``) implement ``Provider``; ``app.py``
picks one per configured provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from parley.config import ProviderSettings


@dataclass(frozen=True, slots=True)
class ExternalAccount:
    """Who the provider says signed in. Only ``issuer`` and ``subject`` identify them.

    The rest is what the user calls themselves there, used for a new user's
    name and to label the link in their settings; a provider may let anyone
    choose any of it, so Parley never finds a user by it.
    """

    issuer: str
    subject: str
    username: str | None = None
    name: str | None = None
    email: str | None = None


def claim_text(value: object) -> str | None:
    """A claim that is a non-blank string, else None (providers send nulls and numbers too)."""
    return value if isinstance(value, str) and value.strip() else None


class OAuthFailed(Exception):
    """A sign-in with a provider did not go through.

    ``code`` is what the web client shows a message for (docs/protocol.md lists
    them); ``detail`` is for the log only, never shown to the user.
    """

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class Provider(Protocol):
    settings: ProviderSettings

    async def authorization_url(
        self, redirect_uri: str, state: str, nonce: str, code_verifier: str
    ) -> str:
        """Where to send the browser: the code flow with PKCE (S256), ``state`` and ``nonce``."""

    async def account(
        self, code: str, redirect_uri: str, code_verifier: str, nonce: str
    ) -> ExternalAccount:
        """Redeem the code and say who signed in; raises ``OAuthFailed``."""
