from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from parley.auth import AuthError, AuthService, tokens
from parley.config import Settings
from parley.store import SqlStore

SECRET = "s" * 40


@pytest.fixture
def auth(store: SqlStore) -> AuthService:
    settings = Settings(
        secret_key=SECRET, argon2_time_cost=1, argon2_memory_kib=64, login_max_failures=3
    )
    return AuthService(settings, store)


async def code_of(call: object) -> str:
    with pytest.raises(AuthError) as caught:
        await call  # type: ignore[misc]
    return caught.value.code


async def test_passwords_are_argon2id_hashed(auth: AuthService, store: SqlStore) -> None:
    await auth.register("ana", "password1", "Ana")
    found = await store.credentials("ana")
    assert found is not None and found[1].startswith("$argon2id$")
    assert "password1" not in found[1]


async def test_register_login_and_bad_credentials(auth: AuthService) -> None:
    session = await auth.register("ana", "password1", "Ana")
    assert (await auth.user_for(session.access_token)).username == "ana"
    assert await code_of(auth.register("ana", "password2", "Ana")) == "username_taken"
    assert (await auth.login("ana", "password1", "1.2.3.4")).user.id == session.user.id
    assert await code_of(auth.login("ana", "wrong-pass", "1.2.3.4")) == "invalid_credentials"
    assert await code_of(auth.login("nobody", "password1", "1.2.3.4")) == "invalid_credentials"


async def test_repeated_failures_are_rate_limited(auth: AuthService) -> None:
    await auth.register("ana", "password1", "Ana")
    for _ in range(3):
        await code_of(auth.login("ana", "wrong-pass", "9.9.9.9"))
    assert await code_of(auth.login("ana", "password1", "9.9.9.9")) == "rate_limited"
    assert (await auth.login("ana", "password1", "8.8.8.8")).user.username == "ana"


async def test_refresh_rotates_and_reuse_revokes_the_family(auth: AuthService) -> None:
    first = await auth.register("ana", "password1", "Ana")
    second = await auth.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    third = await auth.refresh(second.refresh_token)
    assert await code_of(auth.refresh(first.refresh_token)) == "unauthorized"
    # The theft was detected: the newest token of that family is dead too.
    assert await code_of(auth.refresh(third.refresh_token)) == "unauthorized"
    other = await auth.login("ana", "password1", "1.1.1.1")
    assert (await auth.refresh(other.refresh_token)).user.username == "ana"


async def test_a_double_submit_within_the_grace_gets_the_same_successor(
    auth: AuthService,
) -> None:
    first = await auth.register("ana", "password1", "Ana")
    one, two = await asyncio.gather(
        auth.refresh(first.refresh_token), auth.refresh(first.refresh_token)
    )
    assert one.refresh_token == two.refresh_token != first.refresh_token
    assert (await auth.user_for(two.access_token)).username == "ana"
    third = await auth.refresh(one.refresh_token)  # the session goes on
    assert (await auth.refresh(third.refresh_token)).user.username == "ana"


async def test_logout_ends_the_session(auth: AuthService) -> None:
    session = await auth.register("ana", "password1", "Ana")
    await auth.logout(session.refresh_token)
    assert await code_of(auth.refresh(session.refresh_token)) == "unauthorized"
    await auth.logout("unknown-token")


async def test_logout_with_any_token_of_the_session_ends_it(auth: AuthService) -> None:
    first = await auth.register("ana", "password1", "Ana")
    second = await auth.refresh(first.refresh_token)
    await auth.logout(first.refresh_token)
    assert await code_of(auth.refresh(second.refresh_token)) == "unauthorized"


async def test_access_tokens_expire_and_are_signed(auth: AuthService) -> None:
    session = await auth.register("ana", "password1", "Ana")
    expired = tokens.issue_access(SECRET, session.user.id, ttl=10, now=time.time() - 60)
    assert await code_of(auth.user_for(expired)) == "unauthorized"
    forged = tokens.issue_access("x" * 40, session.user.id, ttl=60)
    assert await code_of(auth.user_for(forged)) == "unauthorized"
    assert await code_of(auth.user_for("garbage")) == "unauthorized"
    ghost = tokens.issue_access(SECRET, 12345, ttl=60)
    assert await code_of(auth.user_for(ghost)) == "unauthorized"


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().port = 1  # type: ignore[misc]
