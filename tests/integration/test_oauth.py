"""Signing in with OpenID Connect and GitHub, against a real provider, over plain HTTP.

The provider is npm's certified ``oidc-provider`` (``tests/oidc``), which
``make test`` installs and starts; its ``tamper_*`` clients get ID tokens that
are wrong in one way each, so every refusal below goes through the server's
real verification path. GitHub is a local fake of its OAuth endpoints
(``tests/support/fake_github.py``): GitHub is no OpenID provider and is out of
reach here. The browser flow is in ``tests/browser/test_oauth.py``, the
cluster's in ``tests/cluster/test_oauth_on_cluster.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import aiohttp
import pytest
from yarl import URL

from tests.support.client import PASSWORD, unique_name
from tests.support.fake_github import FakeGitHub
from tests.support.oidc import (
    DISPLAY_NAME,
    PROVIDER_NAME,
    TAMPER_MODES,
    OidcProvider,
    fragment,
    provider_server,
    server_env,
    through_provider,
)
from tests.support.server import ServerProcess, free_port

COOKIE_SESSION = {"X-Parley-Session": "cookie"}


class Visitor:
    """One browser, cookies and all, spoken to over HTTP."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        # IP-address hosts keep their cookies only in an "unsafe" jar.
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def close(self) -> None:
        await self.http.close()

    async def start(self, provider: str = PROVIDER_NAME, next_path: str | None = None) -> str:
        """Click "Sign in with …": where Parley sends the browser."""
        query = "" if next_path is None else "?" + urlencode({"next": next_path})
        url = f"{self.server.url}/api/auth/oauth/{provider}/start{query}"
        async with self.http.get(url, allow_redirects=False) as response:
            assert response.status == 302
            assert response.headers["Cache-Control"] == "no-store"
            return response.headers["Location"]

    async def arrive(self, callback: str) -> str:
        """Follow the provider's redirect back into Parley: where Parley sends the browser."""
        async with self.http.get(callback, allow_redirects=False) as response:
            assert response.status == 302, await response.text()
            return response.headers["Location"]

    async def sign_in(self, login: str, provider: str = PROVIDER_NAME) -> dict[str, str]:
        callback = await through_provider(self.http, await self.start(provider), login)
        return fragment(await self.arrive(callback))

    async def session(self) -> dict[str, Any] | None:
        """What the web client gets on boot: the cookie's session, or None."""
        async with self.http.post(
            self.server.url + "/api/auth/refresh", json={}, headers=COOKIE_SESSION
        ) as response:
            if response.status == 401:
                return None
            assert response.status == 200, await response.text()
            body: dict[str, Any] = await response.json()
            assert "refresh_token" not in body
            return body

    async def call(
        self, method: str, path: str, body: Any = None, expect: int = 200
    ) -> dict[str, Any]:
        session = await self.session()
        assert session is not None
        headers = {"Authorization": f"Bearer {session['access_token']}"}
        async with self.http.request(
            method, self.server.url + path, json=body, headers=headers
        ) as response:
            assert response.status == expect, await response.text()
            found: dict[str, Any] = await response.json() if response.status != 204 else {}
            return found


async def socket_of(visitor: Visitor, access_token: str) -> aiohttp.ClientWebSocketResponse:
    ws = await visitor.http.ws_connect(visitor.server.ws_url)
    await ws.send_json({"type": "auth", "token": access_token})
    assert (await ws.receive(timeout=10)).json()["type"] == "ready"
    return ws


async def closed_with(ws: aiohttp.ClientWebSocketResponse) -> tuple[int | None, str]:
    """The close code and reason the server ends the socket with (frames before it skipped)."""
    while True:
        msg = await ws.receive(timeout=10)
        if msg.type is aiohttp.WSMsgType.TEXT:
            continue
        if msg.type is aiohttp.WSMsgType.CLOSE:
            return int(msg.data), str(msg.extra or "")
        return ws.close_code, str(msg.extra or "")


@pytest.fixture(scope="module")
async def oauth_server(
    oidc_provider: OidcProvider, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerProcess]:
    root = tmp_path_factory.mktemp("oauth")
    proc = await provider_server(oidc_provider, root, tampered=True)
    yield proc
    await proc.stop()


@pytest.fixture
async def visitor(oauth_server: ServerProcess) -> AsyncIterator[Visitor]:
    made = Visitor(oauth_server)
    yield made
    await made.close()


@pytest.fixture
async def another(oauth_server: ServerProcess) -> AsyncIterator[Visitor]:
    made = Visitor(oauth_server)
    yield made
    await made.close()


async def test_the_providers_are_listed(visitor: Visitor) -> None:
    async with visitor.http.get(visitor.server.url + "/api/auth/providers") as response:
        providers = (await response.json())["providers"]
    assert providers[0] == {"name": PROVIDER_NAME, "display_name": DISPLAY_NAME, "kind": "oidc"}
    assert [p["name"] for p in providers[1:]] == [f"tamper_{m}" for m in TAMPER_MODES]


async def test_the_first_sign_in_creates_the_user_and_the_next_finds_them(
    visitor: Visitor, another: Visitor
) -> None:
    login = unique_name("ana.lima")
    assert await visitor.session() is None
    assert await visitor.sign_in(login) == {"oauth": "signed_in", "provider": PROVIDER_NAME}
    first = await visitor.session()
    assert first is not None
    assert first["user"]["username"] == login
    assert first["user"]["display_name"].startswith("Ana Lima")

    assert await another.sign_in(login) == {"oauth": "signed_in", "provider": PROVIDER_NAME}
    second = await another.session()
    assert second is not None and second["user"] == first["user"]

    methods = await visitor.call("GET", "/api/me/identities")
    assert methods["has_password"] is False
    [identity] = methods["identities"]
    assert identity["provider"] == PROVIDER_NAME
    assert identity["display_name"] == DISPLAY_NAME
    assert identity["label"] == login


async def test_an_existing_username_is_never_entered_by_name(
    visitor: Visitor, http: aiohttp.ClientSession
) -> None:
    """A provider account called like a password user gets a user of its own."""
    login = unique_name("bo")
    body = {"username": login, "password": PASSWORD}
    async with http.post(visitor.server.url + "/api/auth/register", json=body) as response:
        assert response.status == 201
        owner = (await response.json())["user"]
    assert (await visitor.sign_in(login))["oauth"] == "signed_in"
    session = await visitor.session()
    assert session is not None
    assert session["user"]["id"] != owner["id"]
    assert session["user"]["username"] == f"{login}-2"


async def test_a_tampered_state_is_refused(visitor: Visitor) -> None:
    callback = await through_provider(visitor.http, await visitor.start(), unique_name("eve"))
    parts = urlsplit(callback)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["state"] = query["state"][:-2] + ("AA" if not query["state"].endswith("AA") else "BB")
    forged = urlunsplit(parts._replace(query=urlencode(query)))
    assert fragment(await visitor.arrive(forged)) == {
        "oauth_error": "state_mismatch",
        "provider": PROVIDER_NAME,
    }
    assert await visitor.session() is None


async def test_a_callback_in_another_browser_is_refused(visitor: Visitor, another: Visitor) -> None:
    """Without the flow cookie of the browser that started it: the login CSRF case."""
    callback = await through_provider(visitor.http, await visitor.start(), unique_name("eve"))
    assert fragment(await another.arrive(callback))["oauth_error"] == "state_invalid"
    assert await another.session() is None


async def test_a_state_is_used_once(visitor: Visitor, another: Visitor) -> None:
    callback = await through_provider(visitor.http, await visitor.start(), unique_name("cy"))
    flow_cookie = next(c for c in visitor.http.cookie_jar if c.key == "parley_oauth")
    assert (fragment(await visitor.arrive(callback)))["oauth"] == "signed_in"
    # The same cookie and answer again (a copy of both): the state is spent.
    another.http.cookie_jar.update_cookies(
        {"parley_oauth": flow_cookie.value}, URL(visitor.server.url)
    )
    assert fragment(await another.arrive(callback))["oauth_error"] == "state_used"


WHY = {
    "nonce": "Invalid claim: 'nonce'",
    "expired": "The token is expired",
    "key": "bad_signature",
    "audience": "Invalid claim: 'aud'",
    "issuer": "Invalid claim: 'iss'",
}
"""What the server logs for each bad token: refused for the flaw it has, not another one."""


@pytest.mark.parametrize("mode", TAMPER_MODES)
async def test_a_bad_id_token_is_refused(mode: str, visitor: Visitor, another: Visitor) -> None:
    login = unique_name(f"t.{mode}")
    assert await visitor.sign_in(login, f"tamper_{mode}") == {
        "oauth_error": "token_invalid",
        "provider": f"tamper_{mode}",
    }
    assert f"'tamper_{mode}' refused: token_invalid" in visitor.server.log()
    assert WHY[mode] in visitor.server.log().rsplit(f"'tamper_{mode}' refused", 1)[1]
    assert await visitor.session() is None
    # Nobody was created: the same account later signs in under its own name.
    await another.sign_in(login)
    session = await another.session()
    assert session is not None and session["user"]["username"] == login


async def test_denying_at_the_provider_is_a_clear_refusal(visitor: Visitor) -> None:
    callback = await through_provider(
        visitor.http, await visitor.start(), unique_name("dan"), deny=True
    )
    assert fragment(await visitor.arrive(callback))["oauth_error"] == "denied"
    assert await visitor.session() is None


@pytest.mark.parametrize(
    ("asked", "landed"),
    [
        ("/r/5", "/r/5"),
        ("/r/5?x=1", "/r/5?x=1"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/r/5#frag", "/"),
        ("/r/\u0000", "/"),
    ],
)
async def test_next_stays_on_this_site(asked: str, landed: str, visitor: Visitor) -> None:
    authorization = await visitor.start(next_path=asked)
    callback = await through_provider(visitor.http, authorization, unique_name("nx"))
    location = await visitor.arrive(callback)
    assert location.split("#")[0] == landed


async def test_an_unknown_provider_goes_back_with_an_error(visitor: Visitor) -> None:
    assert await visitor.start("nobody") == "/#oauth_error=unknown_provider"
    location = await visitor.arrive(visitor.server.url + "/api/auth/oauth/nobody/callback?state=x")
    assert location == "/#oauth_error=unknown_provider"


async def test_link_sign_in_and_unlink(visitor: Visitor, another: Visitor) -> None:
    name, login = unique_name("pat"), unique_name("pat.gh")
    async with visitor.http.post(
        visitor.server.url + "/api/auth/register",
        json={"username": name, "password": PASSWORD},
        headers=COOKIE_SESSION,
    ) as response:
        assert response.status == 201
    started = await visitor.call(
        "POST", f"/api/auth/oauth/{PROVIDER_NAME}/link", {"next": "/settings"}
    )
    callback = await through_provider(visitor.http, started["url"], login)
    location = await visitor.arrive(callback)
    assert location == f"/settings#oauth=linked&provider={PROVIDER_NAME}"
    methods = await visitor.call("GET", "/api/me/identities")
    assert methods["has_password"] is True
    [identity] = methods["identities"]
    assert identity["label"] == login

    await another.sign_in(login)
    entered = await another.session()
    assert entered is not None and entered["user"]["username"] == name
    theirs = await socket_of(another, entered["access_token"])
    mine = await visitor.session()
    assert mine is not None
    kept = await socket_of(visitor, mine["access_token"])

    # Unlinking ends every other session: whoever signed in with that account is out.
    await visitor.call("DELETE", f"/api/me/identities/{identity['id']}", expect=204)
    assert await closed_with(theirs) == (4401, "session revoked")
    assert await another.session() is None
    await kept.send_str('{"type":"ping"}')
    assert (await kept.receive(timeout=10)).json() == {"type": "pong"}
    await kept.close()
    await visitor.call("DELETE", f"/api/me/identities/{identity['id']}", expect=404)
    assert (await visitor.call("GET", "/api/me/identities"))["identities"] == []


async def test_an_account_linked_elsewhere_cannot_be_linked_again(
    visitor: Visitor, another: Visitor
) -> None:
    taken = unique_name("kim")
    await visitor.sign_in(taken)
    await another.sign_in(unique_name("lee"))
    started = await another.call("POST", f"/api/auth/oauth/{PROVIDER_NAME}/link", {})
    # The provider remembers ``another``'s login: sign in there as ``taken`` instead.
    another.http.cookie_jar.clear(lambda c: c.key.startswith("_"))
    callback = await through_provider(another.http, started["url"], taken)
    assert fragment(await another.arrive(callback)) == {
        "oauth_error": "identity_taken",
        "provider": PROVIDER_NAME,
    }


async def test_the_last_way_to_sign_in_cannot_be_removed(visitor: Visitor) -> None:
    await visitor.sign_in(unique_name("sol"))
    [identity] = (await visitor.call("GET", "/api/me/identities"))["identities"]
    refused = await visitor.call("DELETE", f"/api/me/identities/{identity['id']}", expect=409)
    assert refused["error"]["code"] == "last_sign_in_method"

    await visitor.call("POST", "/api/me/password", {"password": PASSWORD}, expect=204)
    await visitor.call("DELETE", f"/api/me/identities/{identity['id']}", expect=204)

    # Changing the password now takes the current one.
    wrong = {"password": "a new password", "current_password": "not the password"}
    assert (await visitor.call("POST", "/api/me/password", wrong, expect=403))["error"][
        "code"
    ] == "forbidden"
    right = {"password": "a new password", "current_password": PASSWORD}
    await visitor.call("POST", "/api/me/password", right, expect=204)


async def test_two_unlinks_at_once_leave_one_way_to_sign_in(
    visitor: Visitor, another: Visitor
) -> None:
    await visitor.sign_in(unique_name("two"))
    started = await visitor.call("POST", f"/api/auth/oauth/{PROVIDER_NAME}/link", {})
    visitor.http.cookie_jar.clear(lambda c: c.key.startswith("_"))
    await visitor.arrive(await through_provider(visitor.http, started["url"], unique_name("two")))
    both = (await visitor.call("GET", "/api/me/identities"))["identities"]
    assert len(both) == 2
    session = await visitor.session()
    assert session is not None
    headers = {"Authorization": f"Bearer {session['access_token']}"}

    async def unlink(identity: dict[str, Any]) -> int:
        url = f"{visitor.server.url}/api/me/identities/{identity['id']}"
        async with visitor.http.delete(url, headers=headers) as response:
            return response.status

    assert sorted(await asyncio.gather(*(unlink(i) for i in both))) == [204, 409]
    assert len((await visitor.call("GET", "/api/me/identities"))["identities"]) == 1


async def test_a_user_without_a_password_cannot_log_in_with_one(
    visitor: Visitor, http: aiohttp.ClientSession
) -> None:
    login = unique_name("np")
    await visitor.sign_in(login)
    body = {"username": login, "password": PASSWORD}
    async with http.post(visitor.server.url + "/api/auth/login", json=body) as response:
        assert response.status == 401
        assert (await response.json())["error"]["code"] == "invalid_credentials"


@pytest.fixture
async def github(tmp_path: Path) -> AsyncIterator[tuple[FakeGitHub, ServerProcess]]:
    fake = FakeGitHub()
    await fake.start()
    port = free_port()
    env = {"PARLEY_PUBLIC_URL": f"http://127.0.0.1:{port}", **fake.env()}
    server = ServerProcess(tmp_path / "server", env, port=port)
    await server.start()
    yield fake, server
    await server.stop()
    await fake.stop()


async def test_github_signs_in_by_account_id_not_login(
    github: tuple[FakeGitHub, ServerProcess],
) -> None:
    """Against the local fake of GitHub's OAuth endpoints (GitHub is not OpenID Connect)."""
    fake, server = github
    fake.user = {"id": 4242, "login": "Octo-Cat", "name": "Octo Cat", "email": None}
    first = Visitor(server)
    try:
        authorization = await first.start("github")
        assert authorization.startswith(fake.url + "/login/oauth/authorize?")
        assert parse_qs(urlsplit(authorization).query)["code_challenge_method"] == ["S256"]
        async with first.http.get(authorization, allow_redirects=False) as response:
            callback = response.headers["Location"]
        assert fragment(await first.arrive(callback)) == {
            "oauth": "signed_in",
            "provider": "github",
        }
        session = await first.session()
        assert session is not None
        assert session["user"]["username"] == "octo-cat"
        assert session["user"]["display_name"] == "Octo Cat"
        methods = await first.call("GET", "/api/me/identities")
        assert methods["identities"][0]["display_name"] == "GitHub"
    finally:
        await first.close()

    fake.user = {"id": 4242, "login": "renamed", "name": None}
    again = Visitor(server)
    try:
        async with again.http.get(await again.start("github"), allow_redirects=False) as r:
            await again.arrive(r.headers["Location"])
        renamed = await again.session()
        assert renamed is not None and renamed["user"]["id"] == session["user"]["id"]
    finally:
        await again.close()


async def test_explicit_endpoints_work_without_discovery(
    oidc_provider: OidcProvider, tmp_path: Path
) -> None:
    """A provider configured by its endpoints (as for one without discovery)."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(oidc_provider.issuer + "/.well-known/openid-configuration") as response,
    ):
        found = await response.json()
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    env = await server_env(oidc_provider, public_url)
    prefix = f"PARLEY_OIDC_{PROVIDER_NAME.upper()}_"
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        env[prefix + key.upper()] = found[key]
    env[prefix + "ISSUER"] = oidc_provider.issuer
    server = ServerProcess(tmp_path / "server", env, port=port)
    await server.start()
    visitor = Visitor(server)
    try:
        login = unique_name("ex.plicit")
        assert (await visitor.sign_in(login))["oauth"] == "signed_in"
        session = await visitor.session()
        assert session is not None
        assert session["user"]["username"] == login  # names from the userinfo endpoint
    finally:
        await visitor.close()
        await server.stop()
