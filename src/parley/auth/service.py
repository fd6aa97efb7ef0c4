"""Register, log in, refresh and log out, on top of the store."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

from parley.auth import tokens
from parley.config import Settings
from parley.models import User, now_micros
from parley.protocol.limits import FailureCounter
from parley.store import Store, UsernameTaken

logger = logging.getLogger(__name__)


class AuthError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    access_token: str
    refresh_token: str
    expires_in: int


class AuthService:
    def __init__(self, settings: Settings, store: Store) -> None:
        self._settings = settings
        self._store = store
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=RFC_9106_LOW_MEMORY.parallelism,
            hash_len=RFC_9106_LOW_MEMORY.hash_len,
            salt_len=RFC_9106_LOW_MEMORY.salt_len,
        )
        self._failures = FailureCounter(settings.login_max_failures, settings.login_window_seconds)
        # A hash to verify against for unknown users, so timing does not reveal who exists.
        self._decoy = self._hasher.hash("decoy password")

    async def register(self, username: str, password: str, display_name: str) -> Session:
        digest = await asyncio.to_thread(self._hasher.hash, password)
        try:
            user = await self._store.create_user(username, display_name, digest)
        except UsernameTaken:
            raise AuthError("username_taken", "that username is taken") from None
        return await self._session(user, tokens.new_family())

    async def login(self, username: str, password: str, client: str) -> Session:
        key = f"{username}|{client}"
        if self._failures.blocked(key):
            raise AuthError("rate_limited", "too many failed sign-ins; try again later")
        found = await self._store.credentials(username)
        digest = found[1] if found else self._decoy
        try:
            await asyncio.to_thread(self._hasher.verify, digest, password)
            ok = found is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or found is None:
            self._failures.fail(key)
            logger.info("failed sign-in for %r from %s", username, client)
            raise AuthError("invalid_credentials", "wrong username or password")
        self._failures.reset(key)
        return await self._session(found[0], tokens.new_family())

    async def refresh(self, refresh_token: str) -> Session:
        now = now_micros()
        successor = tokens.successor(self._settings.secret_key, refresh_token)
        use = await self._store.rotate_refresh_token(
            tokens.fingerprint(refresh_token),
            tokens.fingerprint(successor),
            now=now,
            expires_at=now + self._settings.refresh_token_ttl * 1_000_000,
            grace=self._settings.refresh_grace_seconds * 1_000_000,
        )
        if use.outcome == "reused":
            logger.warning("refresh token reused; session family %s revoked", use.family)
        if use.outcome not in ("rotated", "replayed") or use.user_id is None:
            raise AuthError("unauthorized", "refresh token is invalid, expired or revoked")
        user = await self._store.user(use.user_id)
        if user is None:
            raise AuthError("unauthorized", "the account no longer exists")
        return self._issue(user, successor)

    async def logout(self, refresh_token: str) -> None:
        await self._store.revoke_refresh_family(tokens.fingerprint(refresh_token), now_micros())

    async def user_for(self, access_token: str) -> User:
        try:
            user_id = tokens.verify_access(self._settings.secret_key, access_token)
        except tokens.InvalidToken:
            raise AuthError("unauthorized", "access token is invalid or expired") from None
        user = await self._store.user(user_id)
        if user is None:
            raise AuthError("unauthorized", "the account no longer exists")
        return user

    async def _session(self, user: User, family: str) -> Session:
        refresh = tokens.new_refresh_token()
        expires = now_micros() + self._settings.refresh_token_ttl * 1_000_000
        await self._store.start_refresh_family(
            tokens.fingerprint(refresh), family, user.id, expires
        )
        return self._issue(user, refresh)

    def _issue(self, user: User, refresh: str) -> Session:
        ttl = self._settings.access_token_ttl
        access = tokens.issue_access(self._settings.secret_key, user.id, ttl)
        return Session(user=user, access_token=access, refresh_token=refresh, expires_in=ttl)
