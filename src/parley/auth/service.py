"""Register, log in (with a password or a provider's account), refresh and log out.

Every password hash (register and login) is guarded by the limiter *before*
it runs: per client address, and per username and address for failed
sign-ins. The attempt is counted up front and taken back when the sign-in
succeeds, so a burst of concurrent guesses is held to the limit as surely as
guesses made one after the other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

from parley.auth import tokens
from parley.auth.oauth import names
from parley.auth.oauth.base import ExternalAccount
from parley.config import Settings
from parley.models import User, now_micros
from parley.ratelimit import Hit, Limiter, LimiterUnavailable, Window
from parley.store import IdentityTaken, Store, UsernameTaken

logger = logging.getLogger(__name__)

USERNAME_TRIES = 20
"""Candidates tried for a new provider user before giving up (``names.usernames``)."""


class AuthError(Exception):
    def __init__(self, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class Access:
    """Who a valid access token speaks for, in which session, until when (Unix seconds)."""

    user: User
    family: str | None
    expires_at: int
    admin: bool = False


class Revocations(Protocol):
    """Where ended sessions are told, so their sockets close on every gateway (the announcer)."""

    async def sessions_revoked(
        self, user_id: int, families: Iterable[str], *, every: bool = False
    ) -> None: ...


def _disabled(code: str = "unauthorized") -> AuthError:
    """A disabled account's tokens are ``unauthorized`` (the client signs out); a sign-in
    with the right password is ``forbidden``, which says why instead of "wrong password"."""
    return AuthError(code, "this account is disabled")


class AuthService:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        limiter: Limiter,
        revocations: Revocations | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._limiter = limiter
        self._revocations = revocations
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=RFC_9106_LOW_MEMORY.parallelism,
            hash_len=RFC_9106_LOW_MEMORY.hash_len,
            salt_len=RFC_9106_LOW_MEMORY.salt_len,
        )
        self._failures = Window(settings.login_max_failures, settings.login_window_seconds)
        self._per_address = Window(
            settings.auth_address_limit, settings.auth_address_window_seconds
        )
        # A hash to verify against for unknown users, so timing does not reveal who exists.
        self._decoy = self._hasher.hash("decoy password")

    async def register(
        self, username: str, password: str, display_name: str, client: str
    ) -> Session:
        await self._admit([Hit(f"register|{client}", self._per_address)])
        digest = await asyncio.to_thread(self._hasher.hash, password)
        try:
            user = await self._store.create_user(username, display_name, digest)
        except UsernameTaken:
            raise AuthError("username_taken", "that username is taken") from None
        return await self._session(user, tokens.new_family())

    async def login(self, username: str, password: str, client: str) -> Session:
        lockout = f"login|{username}|{client}"
        ticket = await self._admit(
            [Hit(f"login|{client}", self._per_address), Hit(lockout, self._failures)]
        )
        found = await self._store.credentials(username)
        digest = found[1] if found else None
        ok = await self._verify(digest, password)
        if not ok or found is None:
            logger.info("failed sign-in for %r from %s", username, client)
            raise AuthError("invalid_credentials", "wrong username or password")
        await self._enabled(found[0].id)
        # A success is no failure: its reservation is taken back (the per-address one stays).
        try:
            await self._limiter.release(lockout, ticket)
        except LimiterUnavailable:
            logger.warning("could not release a sign-in reservation for %r", username)
        return await self._session(found[0], tokens.new_family())

    async def sign_in_with(self, account: ExternalAccount, client: str) -> Session:
        """Sign in the user linked to a provider's account, creating them on their first visit.

        Found by the provider's issuer and subject only: the e-mail address or
        name a provider reports is never enough to enter an existing account.
        """
        await self._admit([Hit(f"login|{client}", self._per_address)])
        user = await self._store.identity_user(account.issuer, account.subject)
        if user is None:
            user = await self._create_from(account)
        await self._enabled(user.id)
        return await self._session(user, tokens.new_family())

    async def _create_from(self, account: ExternalAccount) -> User:
        label = names.label(account)
        for _, username in zip(range(USERNAME_TRIES), names.usernames(account), strict=False):
            try:
                return await self._store.create_user_with_identity(
                    username,
                    names.display_name(account, username),
                    account.issuer,
                    account.subject,
                    label,
                )
            except UsernameTaken:
                continue
            except IdentityTaken:
                # The same account signed in at the same moment, in another tab.
                user = await self._store.identity_user(account.issuer, account.subject)
                if user is not None:
                    return user
        raise AuthError("unavailable", "could not create your account; try again")

    async def link(self, user_id: int, account: ExternalAccount) -> None:
        """Link a provider's account to a signed-in user (theirs already: nothing to do)."""
        try:
            await self._store.link_identity(
                user_id, account.issuer, account.subject, names.label(account)
            )
        except IdentityTaken:
            raise AuthError(
                "identity_taken", "that account is linked to another Parley user"
            ) from None

    async def set_password(
        self, user: User, password: str, current: str | None, client: str, family: str | None
    ) -> None:
        """Set a password; changing an existing one takes it, under the sign-in lockout.

        Every other session of the user ends (``family`` is the one asking): whoever
        knew the old password, or had a session open somewhere, is signed out.
        """
        found = await self._store.credentials(user.username)
        if found is None:
            raise AuthError("unauthorized", "the account no longer exists")
        if found[1] is not None:
            lockout = f"login|{user.username}|{client}"
            ticket = await self._admit([Hit(lockout, self._failures)])
            if current is None or not await self._verify(found[1], current):
                raise AuthError("forbidden", "the current password is wrong")
            try:
                await self._limiter.release(lockout, ticket)
            except LimiterUnavailable:
                logger.warning("could not release a password reservation for %r", user.username)
        digest = await asyncio.to_thread(self._hasher.hash, password)
        await self._store.set_password(user.id, digest)
        await self.revoke_all(user.id, keep=family)

    async def _verify(self, digest: str | None, password: str) -> bool:
        """Whether ``password`` matches; without a hash, a decoy costs the same time."""
        try:
            await asyncio.to_thread(self._hasher.verify, digest or self._decoy, password)
        except (VerificationError, InvalidHashError):
            return False
        return digest is not None

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
        if use.outcome == "reused" and use.family is not None and use.user_id is not None:
            logger.warning("refresh token reused; session family %s revoked", use.family)
            await self._revoked(use.user_id, [use.family])
            raise AuthError("unauthorized", "refresh token is invalid, expired or revoked")
        if use.outcome not in ("rotated", "replayed") or use.user_id is None:
            raise AuthError("unauthorized", "refresh token is invalid, expired or revoked")
        found = await self._store.account(use.user_id)
        if found is None:
            raise AuthError("unauthorized", "the account no longer exists")
        if found.disabled_at is not None:
            raise _disabled()
        return self._issue(found.user, successor, use.family)

    async def logout(self, refresh_token: str) -> None:
        ended = await self._store.revoke_refresh_family(
            tokens.fingerprint(refresh_token), now_micros()
        )
        if ended is not None:
            await self._revoked(ended[0], [ended[1]])

    async def revoke_all(self, user_id: int, keep: str | None = None) -> None:
        """End every session of the user but ``keep`` (None: all of them), sockets included."""
        await self._store.revoke_user_families(user_id, now_micros(), keep)
        await self._revoked(user_id, [] if keep is None else [keep], every=True)

    async def session_live(self, family: str | None) -> bool:
        """Whether a token's session may still be used (a token without one: yes)."""
        return family is None or await self._store.refresh_family_live(family)

    async def _revoked(self, user_id: int, families: list[str], *, every: bool = False) -> None:
        if self._revocations is not None:
            await self._revocations.sessions_revoked(user_id, families, every=every)

    async def user_for(self, access_token: str) -> User:
        return (await self.access_for(access_token)).user

    async def access_for(self, access_token: str) -> Access:
        """The user, session and expiry of a valid access token; ``unauthorized`` otherwise."""
        try:
            claims = tokens.verify_access(self._settings.secret_key, access_token)
        except tokens.InvalidToken:
            raise AuthError("unauthorized", "access token is invalid or expired") from None
        # The account row is read on every request anyway (the user's name and role), so a
        # disabled account is refused here at no extra cost: no cache to invalidate.
        found = await self._store.account(claims.user_id)
        if found is None:
            raise AuthError("unauthorized", "the account no longer exists")
        if found.disabled_at is not None:
            raise _disabled()
        return Access(found.user, claims.family, claims.expires_at, found.admin)

    async def set_disabled(self, user_id: int, disabled: bool) -> bool:
        """Disable or enable an account; disabling ends all its sessions and sockets at once.

        False when there is no such user. The mark is stored before the sessions end,
        so a refresh racing the disable is refused by one check or the other.
        """
        found = await self._store.set_disabled(user_id, now_micros() if disabled else None)
        if found is None:
            return False
        if disabled:
            await self.revoke_all(user_id)
        return True

    async def _enabled(self, user_id: int) -> None:
        found = await self._store.account(user_id)
        if found is not None and found.disabled_at is not None:
            raise _disabled("forbidden")

    async def _admit(self, hits: Sequence[Hit]) -> str:
        """Count one attempt against ``hits`` or refuse it; the ticket names the attempt."""
        try:
            admission = await self._limiter.reserve(hits)
        except LimiterUnavailable as exc:
            logger.warning("attempt limits unavailable: %s", exc)
            raise AuthError("unavailable", "sign-in is unavailable; try again shortly") from None
        if not admission.admitted:
            raise AuthError(
                "rate_limited", "too many attempts; try again later", admission.retry_after
            )
        return admission.ticket

    async def _session(self, user: User, family: str) -> Session:
        refresh = tokens.new_refresh_token()
        expires = now_micros() + self._settings.refresh_token_ttl * 1_000_000
        await self._store.start_refresh_family(
            tokens.fingerprint(refresh), family, user.id, expires
        )
        return self._issue(user, refresh, family)

    def _issue(self, user: User, refresh: str, family: str | None) -> Session:
        ttl = self._settings.access_token_ttl
        access = tokens.issue_access(self._settings.secret_key, user.id, ttl, family=family)
        return Session(user=user, access_token=access, refresh_token=refresh, expires_in=ttl)
