"""Accounts and sessions: argon2id passwords, JWT access tokens, rotating refresh tokens."""

from parley.auth.service import AuthError, AuthService, Session

__all__ = ["AuthError", "AuthService", "Session"]
