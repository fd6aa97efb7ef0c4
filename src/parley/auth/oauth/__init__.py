"""Signing in with other services: OpenID Connect providers and GitHub.

``base.py`` is the interface (``Provider``, ``ExternalAccount``), ``oidc.py``
and ``github.py`` implement it, ``flow.py`` keeps one flow in the browser's
cookie, ``names.py`` turns a provider's names into a Parley user's, and
``service.py`` runs the flows (imported by ``app.py`` directly: it depends on
``AuthService``, which depends on this package's base).
"""

from parley.auth.oauth.base import ExternalAccount, OAuthFailed, Provider

__all__ = ["ExternalAccount", "OAuthFailed", "Provider"]
