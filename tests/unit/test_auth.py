from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterable

import jwt
import pytest

from parley.auth import AuthError, AuthService, tokens
from parley.auth.oauth import ExternalAccount
from parley.config import Settings
from parley.ratelimit import MemoryLimiter
from parley.ratelimit.redis import RedisLimiter
from parley.store import SqlStore
from tests.support.server import free_port

SECRET = "s" * 40
FAST = Settings(secret_key=SECRET, argon2_time_cost=1, argon2_memory_kib=64)
HERE = "1.2.3.4"


@pytest.fixture
def auth(store: SqlStore) -> AuthService:
    return AuthService(dataclasses.replace(FAST, login_max_failures=3), store, MemoryLimiter())


async def code_of(call: object) -> str:
    with pytest.raises(AuthError) as caught:
        await call  # type: ignore[misc]
    return caught.value.code


async def test_passwords_are_argon2id_hashed(auth: AuthService, store: SqlStore) -> None:
    await auth.register("ana", "password1", "Ana", HERE)
    found = await store.credentials("ana")
    assert found is not None and found[1] is not None and found[1].startswith("$argon2id$")
    assert "password1" not in found[1]


async def test_register_login_and_bad_credentials(auth: AuthService) -> None:
    session = await auth.register("ana", "password1", "Ana", HERE)
    assert (await auth.user_for(session.access_token)).username == "ana"
    assert await code_of(auth.register("ana", "password2", "Ana", HERE)) == "username_taken"
    assert (await auth.login("ana", "password1", "1.2.3.4")).user.id == session.user.id
    assert await code_of(auth.login("ana", "wrong-pass", "1.2.3.4")) == "invalid_credentials"
    assert await code_of(auth.login("nobody", "password1", "1.2.3.4")) == "invalid_credentials"


async def test_repeated_failures_are_rate_limited(auth: AuthService) -> None:
    await auth.register("ana", "password1", "Ana", HERE)
    for _ in range(3):
        await code_of(auth.login("ana", "wrong-pass", "9.9.9.9"))
    assert await code_of(auth.login("ana", "password1", "9.9.9.9")) == "rate_limited"
    assert (await auth.login("ana", "password1", "8.8.8.8")).user.username == "ana"


async def test_concurrent_guesses_are_held_to_the_limit(auth: AuthService) -> None:
    """Each attempt is counted before its hash, not after: a burst cannot outrun the count."""
    await auth.register("ana", "password1", "Ana", HERE)
    codes = await asyncio.gather(
        *(code_of(auth.login("ana", f"guess-{i}", "9.9.9.9")) for i in range(12))
    )
    assert sorted(codes) == ["invalid_credentials"] * 3 + ["rate_limited"] * 9


async def test_a_success_takes_back_its_own_attempt_only(auth: AuthService) -> None:
    await auth.register("ana", "password1", "Ana", HERE)
    for _ in range(2):
        await code_of(auth.login("ana", "wrong-pass", HERE))
    await auth.login("ana", "password1", HERE)  # counted while hashing, then released
    assert await code_of(auth.login("ana", "wrong-pass", HERE)) == "invalid_credentials"
    assert await code_of(auth.login("ana", "password1", HERE)) == "rate_limited"


async def test_sign_ups_and_sign_ins_are_limited_per_address(store: SqlStore) -> None:
    auth = AuthService(dataclasses.replace(FAST, auth_address_limit=2), store, MemoryLimiter())
    await auth.register("ana", "password1", "Ana", HERE)
    assert await code_of(auth.register("ana", "password1", "Ana", HERE)) == "username_taken"
    with pytest.raises(AuthError) as caught:
        await auth.register("bob", "password1", "Bob", HERE)
    assert caught.value.code == "rate_limited" and caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 60
    await auth.register("bob", "password1", "Bob", "5.6.7.8")
    await auth.login("ana", "password1", HERE)
    await auth.login("bob", "password1", HERE)  # successes count per address too
    assert await code_of(auth.login("ana", "password1", HERE)) == "rate_limited"


async def test_sign_ins_are_refused_while_the_shared_limits_are_unreachable(
    store: SqlStore,
) -> None:
    """Fail closed: no hash runs that no limit counted."""
    nothing_listens = RedisLimiter(f"redis://127.0.0.1:{free_port()}/0")
    try:
        auth = AuthService(FAST, store, nothing_listens)
        assert await code_of(auth.register("ana", "password1", "Ana", HERE)) == "unavailable"
        assert await code_of(auth.login("ana", "password1", HERE)) == "unavailable"
    finally:
        await nothing_listens.close()


async def test_refresh_rotates_and_reuse_revokes_the_family(auth: AuthService) -> None:
    first = await auth.register("ana", "password1", "Ana", HERE)
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
    first = await auth.register("ana", "password1", "Ana", HERE)
    one, two = await asyncio.gather(
        auth.refresh(first.refresh_token), auth.refresh(first.refresh_token)
    )
    assert one.refresh_token == two.refresh_token != first.refresh_token
    assert (await auth.user_for(two.access_token)).username == "ana"
    third = await auth.refresh(one.refresh_token)  # the session goes on
    assert (await auth.refresh(third.refresh_token)).user.username == "ana"


async def test_logout_ends_the_session(auth: AuthService) -> None:
    session = await auth.register("ana", "password1", "Ana", HERE)
    await auth.logout(session.refresh_token)
    assert await code_of(auth.refresh(session.refresh_token)) == "unauthorized"
    await auth.logout("unknown-token")


async def test_logout_with_any_token_of_the_session_ends_it(auth: AuthService) -> None:
    first = await auth.register("ana", "password1", "Ana", HERE)
    second = await auth.refresh(first.refresh_token)
    await auth.logout(first.refresh_token)
    assert await code_of(auth.refresh(second.refresh_token)) == "unauthorized"


async def test_access_tokens_expire_and_are_signed(auth: AuthService) -> None:
    session = await auth.register("ana", "password1", "Ana", HERE)
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


def external(subject: str, username: str | None = "ana") -> ExternalAccount:
    return ExternalAccount("https://id.example.com", subject, username, "Ana Lima", None)


async def test_a_provider_account_signs_in_as_one_user_even_twice_at_once(
    auth: AuthService, store: SqlStore
) -> None:
    await auth.register("ana", "password1", "Ana", HERE)  # a password user of the same name
    sessions = await asyncio.gather(*(auth.sign_in_with(external("s-1"), HERE) for _ in range(4)))
    assert len({s.user.id for s in sessions}) == 1
    assert sessions[0].user.username == "ana-2"
    assert sessions[0].user.display_name == "Ana Lima"
    again = await auth.sign_in_with(external("s-1", username="someone-else"), HERE)
    assert again.user == sessions[0].user
    other = await auth.sign_in_with(external("s-2"), HERE)
    assert other.user.username == "ana-3"
    assert await auth.user_for(other.access_token) == other.user


async def test_linking_an_account_someone_else_has_is_refused(auth: AuthService) -> None:
    owner = await auth.sign_in_with(external("s-1"), HERE)
    bob = await auth.register("bob", "password1", "Bob", HERE)
    assert await code_of(auth.link(bob.user.id, external("s-1"))) == "identity_taken"
    await auth.link(owner.user.id, external("s-1"))  # already theirs: nothing to do


async def test_setting_and_changing_a_password(auth: AuthService) -> None:
    session = await auth.sign_in_with(external("s-1"), HERE)
    user = session.user
    await auth.set_password(user, "first password", None, HERE, None)
    assert (await auth.login(user.username, "first password", HERE)).user == user
    for _ in range(3):  # login_max_failures: wrong current passwords are guesses too
        wrong = auth.set_password(user, "x" * 8, "wrong one", HERE, None)
        assert await code_of(wrong) == "forbidden"
    limited = auth.set_password(user, "x" * 8, "first password", HERE, None)
    assert await code_of(limited) == "rate_limited"


class Recorded:
    """Stands in for the announcer: the revocations AuthService tells, in order."""

    def __init__(self) -> None:
        self.told: list[tuple[int, list[str], bool]] = []

    async def sessions_revoked(
        self, user_id: int, families: Iterable[str], *, every: bool = False
    ) -> None:
        self.told.append((user_id, sorted(families), every))


@pytest.fixture
def told() -> Recorded:
    return Recorded()


@pytest.fixture
def telling(store: SqlStore, told: Recorded) -> AuthService:
    return AuthService(
        dataclasses.replace(FAST, refresh_grace_seconds=0), store, MemoryLimiter(), told
    )


async def test_access_tokens_name_their_session(telling: AuthService) -> None:
    session = await telling.register("ana", "password1", "Ana", HERE)
    access = await telling.access_for(session.access_token)
    again = await telling.access_for((await telling.refresh(session.refresh_token)).access_token)
    assert access.family is not None and again.family == access.family
    assert access.expires_at == pytest.approx(time.time() + FAST.access_token_ttl, abs=2)
    assert await telling.session_live(access.family)
    assert await telling.session_live(None)  # a token from before sessions had ids


async def test_logout_and_reuse_tell_which_session_ended(
    telling: AuthService, told: Recorded
) -> None:
    one = await telling.register("ana", "password1", "Ana", HERE)
    two = await telling.login("ana", "password1", HERE)
    first, second = [(await telling.access_for(s.access_token)).family for s in (one, two)]
    assert first is not None and second is not None
    await telling.logout(one.refresh_token)
    await telling.logout(one.refresh_token)  # nothing left to end: nothing told
    await telling.refresh(two.refresh_token)
    assert await code_of(telling.refresh(two.refresh_token)) == "unauthorized"  # reused
    assert told.told == [(one.user.id, [first], False), (one.user.id, [second], False)]
    assert not await telling.session_live(second)


async def test_password_change_and_logout_all_end_the_other_sessions(
    telling: AuthService, told: Recorded
) -> None:
    here = await telling.register("ana", "password1", "Ana", HERE)
    there = await telling.login("ana", "password1", HERE)
    mine = (await telling.access_for(here.access_token)).family
    await telling.set_password(here.user, "password2", "password1", HERE, mine)
    assert told.told == [(here.user.id, [mine], True)]
    assert await code_of(telling.refresh(there.refresh_token)) == "unauthorized"
    kept = await telling.refresh(here.refresh_token)
    await telling.revoke_all(here.user.id)
    assert told.told[-1] == (here.user.id, [], True)
    assert await code_of(telling.refresh(kept.refresh_token)) == "unauthorized"


def test_a_non_string_session_claim_is_refused() -> None:
    claims = {"sub": "1", "iat": int(time.time()), "exp": int(time.time()) + 60, "aud": "parley"}
    token = jwt.encode({**claims, "sid": 5}, SECRET, algorithm="HS256")
    with pytest.raises(tokens.InvalidToken):
        tokens.verify_access(SECRET, token)
