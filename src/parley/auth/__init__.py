"""Accounts and sessions: argon2id passwords, JWT access tokens, rotating refresh tokens."""

from parley.auth.service import Access, AuthError, AuthService, Session

__all__ = ["Access", "AuthError", "AuthService", "Session"]
