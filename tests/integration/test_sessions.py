"""Sessions under attack, over real HTTP: sign-in limits, refresh races, the cookie, headers.

The tests on the shared ``server`` run again on PostgreSQL (``tests/cluster/
test_core_on_postgres.py``); the cluster-wide limits are in ``tests/cluster``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from http.cookies import Morsel
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from tests.conftest import UserFactory
from tests.support.client import PASSWORD, RECEIVE_TIMEOUT, Client, Socket, unique_name
from tests.support.server import OPERATOR, ServerProcess
from tests.support.services import Databases

COOKIE = "parley_refresh"
WEB = {"X-Parley-Session": "cookie"}
"""The web client's opt-in to the cookie session (and its CSRF proof)."""


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]
    cookie: Morsel[str] | None

    @property
    def code(self) -> str | None:
        return (
            self.body["error"]["code"]
            if isinstance(self.body, dict) and "error" in self.body
            else None
        )


async def post(
    http: aiohttp.ClientSession,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    cookie: str | None = None,
) -> Answer:
    """One POST with the cookie given by hand (aiohttp's jar ignores IP-address hosts)."""
    sent = dict(headers or {})
    if cookie is not None:
        sent["Cookie"] = f"{COOKIE}={cookie}"
    data = None if body is None else orjson.dumps(body)
    async with http.post(url, data=data, headers=sent) as response:
        raw = await response.read()
        return Answer(
            response.status,
            orjson.loads(raw) if raw else None,
            dict(response.headers),
            response.cookies.get(COOKIE),
        )


async def sign_in_as_web(http: aiohttp.ClientSession, url: str) -> tuple[Answer, str]:
    """Register through the web client's flow: the new session's answer and its cookie."""
    body = {"username": unique_name(), "password": PASSWORD}
    answer = await post(http, url + "/api/auth/register", body, WEB)
    assert answer.status == 201 and answer.cookie is not None, answer
    return answer, answer.cookie.value


async def wrong_logins(
    http: aiohttp.ClientSession,
    url: str,
    username: str,
    count: int,
    headers: dict[str, str] | None = None,
) -> list[Answer]:
    body = {"username": username, "password": "not the password"}
    return await asyncio.gather(
        *(post(http, url + "/api/auth/login", body, headers) for _ in range(count))
    )


def outcomes(answers: list[Answer]) -> list[tuple[int, str | None]]:
    return sorted((a.status, a.code) for a in answers)


FIVE_OF_TWELVE = [(401, "invalid_credentials")] * 5 + [(429, "rate_limited")] * 7


# Sign-in limits


async def test_concurrent_wrong_logins_are_held_to_the_limit(
    http: aiohttp.ClientSession, server: ServerProcess, new_user: UserFactory
) -> None:
    """Each guess is counted before its hash: twelve at once get five checks, not twelve."""
    ana = await new_user()
    answers = await wrong_logins(http, server.url, ana.username, 12)
    assert outcomes(answers) == FIVE_OF_TWELVE
    for refused in (a for a in answers if a.status == 429):
        assert 1 <= int(refused.headers["Retry-After"]) <= 300
    right = {"username": ana.username, "password": ana.password}
    assert (await post(http, server.url + "/api/auth/login", right)).status == 429


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(
    http: aiohttp.ClientSession, server: ServerProcess, new_user: UserFactory
) -> None:
    ana = await new_user()
    for i in range(5):
        spoofed = {"X-Forwarded-For": f"203.0.113.{i}"}
        [answer] = await wrong_logins(http, server.url, ana.username, 1, spoofed)
        assert answer.status == 401
    [answer] = await wrong_logins(
        http, server.url, ana.username, 1, {"X-Forwarded-For": "198.51.100.9"}
    )
    assert (answer.status, answer.code) == (429, "rate_limited")


async def test_a_trusted_proxy_names_the_client(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with ServerProcess(
        tmp_path / "server", env={"PARLEY_TRUSTED_PROXIES": "127.0.0.0/8"}
    ) as server:
        anon = await post(
            http,
            server.url + "/api/auth/register",
            {"username": (name := unique_name()), "password": PASSWORD},
        )
        assert anon.status == 201
        client = {"X-Forwarded-For": "203.0.113.7"}
        assert outcomes(await wrong_logins(http, server.url, name, 12, client)) == FIVE_OF_TWELVE
        # Another client behind the same proxy is not locked out of the account...
        [other] = await wrong_logins(http, server.url, name, 1, {"X-Forwarded-For": "203.0.113.8"})
        assert other.status == 401
        # ...and a client cannot escape its own lock by prepending addresses.
        prepended = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
        [same] = await wrong_logins(http, server.url, name, 1, prepended)
        assert same.status == 429
        # The proxy's X-Forwarded-Proto makes the session cookie Secure.
        https = {**WEB, "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
        body = {"username": unique_name(), "password": PASSWORD}
        signed = await post(http, server.url + "/api/auth/register", body, https)
        assert signed.cookie is not None and signed.cookie["secure"] is True


async def test_sign_ups_are_limited_per_address(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with ServerProcess(tmp_path / "server", env={"PARLEY_AUTH_ADDRESS_LIMIT": "3"}) as server:
        answers = await asyncio.gather(
            *(
                post(
                    http,
                    server.url + "/api/auth/register",
                    {"username": unique_name(), "password": PASSWORD},
                )
                for _ in range(5)
            )
        )
        assert outcomes(answers) == [(201, None)] * 3 + [(429, "rate_limited")] * 2
        assert all(1 <= int(a.headers["Retry-After"]) <= 60 for a in answers if a.status == 429)


# Refresh races


async def test_a_double_submit_gets_one_successor(
    http: aiohttp.ClientSession, server: ServerProcess, new_user: UserFactory
) -> None:
    """Two tabs refreshing with the same token at once: both get the same new token."""
    ana = await new_user()
    url = server.url + "/api/auth/refresh"
    answers = await asyncio.gather(
        *(post(http, url, {"refresh_token": ana.refresh_token}) for _ in range(4))
    )
    assert [a.status for a in answers] == [200] * 4
    successors = {a.body["refresh_token"] for a in answers}
    assert len(successors) == 1 and ana.refresh_token not in successors
    [successor] = successors
    later = await post(http, url, {"refresh_token": successor})
    assert later.status == 200
    # The successor has moved on: the first token coming back is theft, and ends the session.
    theft = await post(http, url, {"refresh_token": ana.refresh_token})
    assert (theft.status, theft.code) == (401, "unauthorized")
    after = await post(http, url, {"refresh_token": later.body["refresh_token"]})
    assert after.status == 401


async def test_concurrent_reuse_leaves_no_live_token(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """With no grace, all but one concurrent refresh are reuses: nothing of the family lives."""
    async with ServerProcess(tmp_path / "server", env={"PARLEY_REFRESH_GRACE": "0"}) as server:
        await assert_no_token_survives_a_reuse(http, server.url)


async def assert_no_token_survives_a_reuse(http: aiohttp.ClientSession, *urls: str) -> None:
    """Concurrent refreshes of one token (spread over ``urls``), a few rounds."""
    for _ in range(5):
        body = {"username": unique_name(), "password": PASSWORD}
        session = (await post(http, urls[0] + "/api/auth/register", body)).body
        token = session["refresh_token"]
        answers = await asyncio.gather(
            *(
                post(http, urls[i % len(urls)] + "/api/auth/refresh", {"refresh_token": token})
                for i in range(6)
            )
        )
        won = [a for a in answers if a.status == 200]
        assert len(won) == 1 and all(a.status == 401 for a in answers if a.status != 200)
        late = await post(
            http, urls[0] + "/api/auth/refresh", {"refresh_token": won[0].body["refresh_token"]}
        )
        assert (late.status, late.code) == (401, "unauthorized")


# The web client's cookie


async def test_the_web_session_lives_in_a_strict_http_only_cookie(
    http: aiohttp.ClientSession, server: ServerProcess
) -> None:
    signed, cookie = await sign_in_as_web(http, server.url)
    assert "refresh_token" not in signed.body and signed.body["access_token"]
    morsel = signed.cookie
    assert morsel is not None
    assert (morsel["httponly"], morsel["samesite"], morsel["path"]) == (True, "Strict", "/api/auth")
    assert morsel["secure"] == "" and int(morsel["max-age"]) == 30 * 24 * 3600  # plain http

    url = server.url + "/api/auth/refresh"
    rotated = await post(http, url, {}, WEB, cookie)
    assert rotated.status == 200 and "refresh_token" not in rotated.body
    assert rotated.cookie is not None and rotated.cookie.value != cookie
    async with http.get(
        server.url + "/api/me", headers={"Authorization": f"Bearer {rotated.body['access_token']}"}
    ) as response:
        assert (await response.json())["id"] == signed.body["user"]["id"]

    logged_in = await post(
        http,
        server.url + "/api/auth/login",
        {"username": signed.body["user"]["username"], "password": PASSWORD},
        WEB,
    )
    assert logged_in.status == 200 and "refresh_token" not in logged_in.body
    assert logged_in.cookie is not None and logged_in.cookie["httponly"] is True


async def test_the_cookie_is_refused_without_the_header_or_from_another_origin(
    http: aiohttp.ClientSession, server: ServerProcess
) -> None:
    _, cookie = await sign_in_as_web(http, server.url)
    url = server.url + "/api/auth/refresh"
    # A cross-site form or a script without our header: refused, the cookie is not used.
    bare = await post(http, url, {}, None, cookie)
    assert (bare.status, bare.code) == (403, "forbidden")
    evil = await post(http, url, {}, {**WEB, "Origin": "https://evil.example"}, cookie)
    assert (evil.status, evil.code) == (403, "forbidden")
    logout = await post(http, server.url + "/api/auth/logout", {}, None, cookie)
    assert (logout.status, logout.code) == (403, "forbidden")
    # The refusals changed nothing: the session goes on from the same origin.
    mine = await post(http, url, {}, {**WEB, "Origin": server.url}, cookie)
    assert mine.status == 200
    missing = await post(http, url, {}, WEB)
    assert (missing.status, missing.code) == (401, "unauthorized")


async def test_logout_revokes_the_session_and_clears_the_cookie(
    http: aiohttp.ClientSession, server: ServerProcess
) -> None:
    _, cookie = await sign_in_as_web(http, server.url)
    out = await post(http, server.url + "/api/auth/logout", {}, WEB, cookie)
    assert out.status == 204 and out.cookie is not None
    assert out.cookie.value == "" and out.cookie["max-age"] == "0"
    assert (out.cookie["path"], out.cookie["httponly"]) == ("/api/auth", True)
    again = await post(http, server.url + "/api/auth/refresh", {}, WEB, cookie)
    assert (again.status, again.code) == (401, "unauthorized")


async def test_a_stored_token_moves_into_the_cookie(
    http: aiohttp.ClientSession, server: ServerProcess, new_user: UserFactory
) -> None:
    """The web client's upgrade path: an old JSON token, presented once, becomes a cookie."""
    ana = await new_user()
    url = server.url + "/api/auth/refresh"
    moved = await post(http, url, {"refresh_token": ana.refresh_token}, WEB)
    assert moved.status == 200 and "refresh_token" not in moved.body
    assert moved.cookie is not None and moved.cookie["httponly"] is True
    assert (await post(http, url, {}, WEB, moved.cookie.value)).status == 200


# Headers


async def test_every_response_carries_the_security_headers(
    http: aiohttp.ClientSession, server: ServerProcess
) -> None:
    for path in ("/", "/some/client/route", "/api/me", "/api/nothing", "/healthz", "/api/docs"):
        async with http.get(server.url + path) as response:
            csp = response.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
            assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["X-Frame-Options"] == "DENY"
            assert response.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/api/docs.js", "/api/docs.css"])
async def test_the_api_page_loads_its_code_from_files(
    http: aiohttp.ClientSession, server: ServerProcess, path: str
) -> None:
    async with http.get(server.url + path) as response:
        assert response.status == 200 and len(await response.text()) > 100


# The operational endpoints


async def test_metrics_and_readiness_detail_need_the_operator_token(
    http: aiohttp.ClientSession, server: ServerProcess
) -> None:
    async with http.get(server.url + "/metrics") as response:
        assert response.status == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = {"Authorization": "Bearer " + "x" * 33}
    async with http.get(server.url + "/metrics", headers=wrong) as response:
        assert response.status == 401
    async with http.get(server.url + "/metrics", headers=OPERATOR) as response:
        assert response.status == 200 and "parley_connections" in await response.text()
    async with http.get(server.url + "/readyz") as response:
        assert (response.status, await response.json()) == (200, {"status": "ok"})
    async with http.get(server.url + "/readyz", headers=OPERATOR) as response:
        assert (await response.json())["checks"]["store"] == "ok"


async def test_metrics_are_off_without_a_token(http: aiohttp.ClientSession, tmp_path: Path) -> None:
    off = ServerProcess(tmp_path / "server", env={"PARLEY_METRICS_TOKEN": ""})
    async with off, http.get(off.url + "/metrics", headers=OPERATOR) as response:
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "not_found"


# Sockets live no longer than their session


async def closed_with(sock: Socket) -> tuple[int | None, str]:
    """The close code and reason the server ends the socket with; frames before it are kept."""
    while True:
        msg = await sock.ws.receive(timeout=RECEIVE_TIMEOUT)
        if msg.type is aiohttp.WSMsgType.CLOSE:
            # The code in the close frame: answering it can fail once the server hangs up,
            # which aiohttp records in close_code as 1006.
            return int(msg.data), str(msg.extra or "")
        if msg.type is not aiohttp.WSMsgType.TEXT:
            return sock.ws.close_code, str(msg.extra or "")
        sock.backlog.append(orjson.loads(msg.data))


async def still_open(sock: Socket) -> None:
    await sock.send({"type": "ping"})
    await sock.expect("pong")


async def second_session(http: aiohttp.ClientSession, user: Client) -> Client:
    """The same user signed in again: another session (refresh family) of theirs."""
    again = Client(http, user.base_url)
    again._adopt(
        await user.call(
            "POST",
            "/api/auth/login",
            {"username": user.username, "password": user.password},
            auth=False,
        )
    )
    return again


async def test_logout_closes_the_sessions_sockets_and_no_other(
    http: aiohttp.ClientSession, new_user: UserFactory
) -> None:
    ana = await new_user()
    other = await second_session(http, ana)
    ended = [await ana.connect(), await ana.connect()]
    kept = await other.connect()
    await ana.call("POST", "/api/auth/logout", {"refresh_token": ana.refresh_token}, expect=204)
    for sock in ended:
        assert await closed_with(sock) == (4401, "session revoked")
    await still_open(kept)
    # Its access token is still unexpired, but its session is over: no new socket either.
    late = await ana.connect()
    assert await closed_with(late) == (4401, "session revoked")


async def test_a_reused_refresh_token_closes_its_familys_sockets(
    http: aiohttp.ClientSession, new_user: UserFactory
) -> None:
    ana = await new_user()
    sock = await ana.connect()
    first = ana.refresh_token
    second = await ana.call("POST", "/api/auth/refresh", {"refresh_token": first}, auth=False)
    await ana.call(
        "POST", "/api/auth/refresh", {"refresh_token": second["refresh_token"]}, auth=False
    )
    stolen = await post(http, ana.base_url + "/api/auth/refresh", {"refresh_token": first})
    assert stolen.status == 401
    assert await closed_with(sock) == (4401, "session revoked")


async def test_sign_out_everywhere_closes_every_socket_of_the_user(
    http: aiohttp.ClientSession, new_user: UserFactory
) -> None:
    ana, bob = await new_user(), await new_user()
    other = await second_session(http, ana)
    socks = [await ana.connect(), await other.connect()]
    bystander = await bob.connect()
    await ana.call("POST", "/api/auth/logout-all", expect=204)
    for sock in socks:
        assert await closed_with(sock) == (4401, "session revoked")
    for token in (ana.refresh_token, other.refresh_token):
        refused = await post(http, ana.base_url + "/api/auth/refresh", {"refresh_token": token})
        assert refused.status == 401
    await still_open(bystander)
    assert (await post(http, ana.base_url + "/api/auth/logout-all")).status == 401


async def test_sign_out_everywhere_clears_the_web_clients_cookie(
    http: aiohttp.ClientSession, server: ServerProcess
) -> None:
    signed_in, cookie = await sign_in_as_web(http, server.url)
    bearer = {"Authorization": f"Bearer {signed_in.body['access_token']}"}
    answer = await post(http, server.url + "/api/auth/logout-all", None, {**WEB, **bearer})
    assert answer.status == 204 and answer.cookie is not None
    assert answer.cookie.value == "" and answer.cookie["max-age"] == "0"
    refused = await post(http, server.url + "/api/auth/refresh", {}, WEB, cookie=cookie)
    assert refused.status == 401


async def test_a_password_change_ends_every_other_session(
    http: aiohttp.ClientSession, new_user: UserFactory
) -> None:
    ana = await new_user()
    other = await second_session(http, ana)
    mine, theirs = await ana.connect(), await other.connect()
    await ana.call(
        "POST",
        "/api/me/password",
        {"password": "a new password", "current_password": ana.password},
        expect=204,
    )
    assert await closed_with(theirs) == (4401, "session revoked")
    await still_open(mine)
    refresh = ana.base_url + "/api/auth/refresh"
    assert (await post(http, refresh, {"refresh_token": ana.refresh_token})).status == 200
    ended = await post(
        http, ana.base_url + "/api/auth/refresh", {"refresh_token": other.refresh_token}
    )
    assert ended.status == 401


SHORT_TTL_SECONDS = 5
"""The shortest access token lifetime Parley accepts (PARLEY_ACCESS_TOKEN_TTL)."""


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.cluster)]
)
async def short_lived(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerProcess]:
    """A server whose access tokens last five seconds, on SQLite and on PostgreSQL."""
    env = {"PARLEY_ACCESS_TOKEN_TTL": str(SHORT_TTL_SECONDS)}
    if request.param == "postgres":
        databases: Databases = request.getfixturevalue("databases")
        env["PARLEY_DATABASE_URL"] = await databases.new()
    async with ServerProcess(tmp_path_factory.mktemp("short_lived"), env) as proc:
        yield proc


async def test_a_socket_closes_when_its_token_expires(
    http: aiohttp.ClientSession, short_lived: ServerProcess
) -> None:
    ana = await Client(http, short_lived.url).register()
    sock = await ana.connect()
    opened = time.monotonic()
    assert await closed_with(sock) == (4401, "token expired")
    assert SHORT_TTL_SECONDS - 2 <= time.monotonic() - opened <= SHORT_TTL_SECONDS + 2
    notice = await sock.expect("error")
    assert notice["code"] == "unauthorized"


async def test_a_fresh_token_on_the_open_socket_keeps_it_open(
    http: aiohttp.ClientSession, short_lived: ServerProcess
) -> None:
    ana, bob = (
        await Client(http, short_lived.url).register(),
        await Client(http, short_lived.url).register(),
    )
    sock = await ana.connect()
    first_expiry = time.monotonic() + SHORT_TTL_SECONDS
    await sock.send({"type": "auth", "token": bob.access_token})  # another user's
    assert (await sock.expect("error"))["code"] == "unauthorized"
    await sock.send({"type": "auth", "token": ana.access_token, "resume": {"1": 0}})
    assert (await sock.expect("error"))["code"] == "invalid_input"
    ended = await second_session(http, ana)
    await ended.call("POST", "/api/auth/logout", {"refresh_token": ended.refresh_token})
    await sock.send({"type": "auth", "token": ended.access_token})  # a revoked session's
    assert (await sock.expect("error"))["code"] == "unauthorized"
    await asyncio.sleep(2)  # a later token: the server's clock counts whole seconds
    fresh = await ana.call(
        "POST", "/api/auth/refresh", {"refresh_token": ana.refresh_token}, auth=False
    )
    await sock.send({"type": "auth", "token": fresh["access_token"]})
    assert (await sock.expect("reauthed"))["expires_in"] in range(
        SHORT_TTL_SECONDS - 1, SHORT_TTL_SECONDS + 1
    )
    await asyncio.sleep(max(0.0, first_expiry + 1 - time.monotonic()))
    await still_open(sock)  # past the first token's expiry
    assert await closed_with(sock) == (4401, "token expired")  # the second one's
