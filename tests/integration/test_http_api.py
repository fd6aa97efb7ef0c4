"""The HTTP API over real HTTP against a real server process."""

from __future__ import annotations

import aiohttp
import pytest

from tests.conftest import UserFactory
from tests.support.client import ApiError, Client, unique_name
from tests.support.server import OPERATOR, ServerProcess


async def status_of(call: object) -> tuple[int, str]:
    with pytest.raises(ApiError) as caught:
        await call  # type: ignore[misc]
    return caught.value.status, caught.value.body["error"]["code"]


async def test_register_validates_and_refuses_taken_names(
    http: aiohttp.ClientSession, server: ServerProcess
) -> None:
    anon = Client(http, server.url)
    name = unique_name()
    session = await anon.call(
        "POST",
        "/api/auth/register",
        {
            "username": name.upper(),
            "password": "password1",
            "display_name": "Ana B",
        },
        auth=False,
        expect=201,
    )
    assert session["user"]["username"] == name
    assert session["user"]["display_name"] == "Ana B"
    assert session["expires_in"] > 0 and session["access_token"] and session["refresh_token"]
    again = anon.call(
        "POST", "/api/auth/register", {"username": name, "password": "password1"}, auth=False
    )
    assert await status_of(again) == (409, "username_taken")
    for bad in (
        {"username": "ab", "password": "password1"},
        {"username": unique_name(), "password": "short"},
        {"username": "has space", "password": "password1"},
        {"password": "password1"},
    ):
        assert await status_of(anon.call("POST", "/api/auth/register", bad, auth=False)) == (
            422,
            "invalid_input",
        )


async def test_malformed_and_oversized_bodies(
    http: aiohttp.ClientSession, server: ServerProcess
) -> None:
    async with http.post(server.url + "/api/auth/login", data=b"{nope") as response:
        assert response.status == 422
        assert (await response.json())["error"]["code"] == "invalid_input"
    async with http.post(server.url + "/api/auth/login", data=b"x" * 70_000) as response:
        assert response.status == 413
        assert (await response.json())["error"]["code"] == "invalid_input"
    async with http.get(server.url + "/api/nothing-here") as response:
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "not_found"


async def test_login_refresh_logout(new_user: UserFactory) -> None:
    ana = await new_user()
    login = await ana.call(
        "POST",
        "/api/auth/login",
        {"username": ana.username, "password": ana.password},
        auth=False,
        expect=200,
    )
    assert login["user"]["id"] == ana.id
    assert await status_of(
        ana.call(
            "POST",
            "/api/auth/login",
            {"username": ana.username, "password": "wrong password"},
            auth=False,
        )
    ) == (401, "invalid_credentials")

    async def refresh(token: str) -> dict[str, str]:
        answer: dict[str, str] = await ana.call(
            "POST", "/api/auth/refresh", {"refresh_token": token}, auth=False
        )
        return answer

    rotated = await refresh(login["refresh_token"])
    assert rotated["refresh_token"] != login["refresh_token"]
    newer = await refresh(rotated["refresh_token"])
    # login's token came back after its successor was used: theft; the session is revoked.
    assert await status_of(refresh(login["refresh_token"])) == (401, "unauthorized")
    assert await status_of(refresh(newer["refresh_token"])) == (401, "unauthorized")

    await ana.call(
        "POST", "/api/auth/logout", {"refresh_token": ana.refresh_token}, auth=False, expect=204
    )
    gone = ana.call("POST", "/api/auth/refresh", {"refresh_token": ana.refresh_token}, auth=False)
    assert await status_of(gone) == (401, "unauthorized")


async def test_repeated_login_failures_are_rate_limited(new_user: UserFactory) -> None:
    ana = await new_user()
    codes = []
    for _ in range(6):
        with pytest.raises(ApiError) as caught:
            await ana.call(
                "POST",
                "/api/auth/login",
                {"username": ana.username, "password": "nope nope"},
                auth=False,
            )
        codes.append(caught.value.status)
    assert codes == [401] * 5 + [429]


async def test_me_and_user_search(new_user: UserFactory) -> None:
    ana = await new_user()
    assert await ana.call("GET", "/api/me") == ana.user
    found = await ana.call("GET", f"/api/users?q={ana.username[:8]}")
    assert ana.user in found["users"]
    ana.access_token = "not-a-token"
    assert await status_of(ana.call("GET", "/api/me")) == (401, "unauthorized")


async def test_rooms_direct_and_group(new_user: UserFactory) -> None:
    ana, bob, cy = await new_user(), await new_user(), await new_user()
    direct = await ana.call(
        "POST", "/api/rooms", {"kind": "direct", "members": [bob.username]}, expect=201
    )
    assert direct["kind"] == "direct" and {m["id"] for m in direct["members"]} == {ana.id, bob.id}
    assert direct["roles"] == {}
    same = await bob.call(
        "POST", "/api/rooms", {"kind": "direct", "members": [ana.username]}, expect=200
    )
    assert same["id"] == direct["id"]

    group = await ana.group("Team", bob)
    assert group["name"] == "Team" and group["last_seq"] == 0 and group["last_message"] is None
    assert group["roles"] == {ana.id: "owner"}  # the creator owns it, whoever looks
    assert (await bob.call("GET", f"/api/rooms/{group['id']}"))["roles"] == {ana.id: "owner"}
    assert await status_of(cy.call("GET", f"/api/rooms/{group['id']}")) == (404, "not_found")
    assert await status_of(cy.call("GET", "/api/rooms/999999")) == (404, "not_found")
    assert await status_of(cy.call("GET", "/api/rooms/abc")) == (404, "not_found")
    bad = ana.call("POST", "/api/rooms", {"kind": "group", "name": "x", "members": ["nobody_x"]})
    assert await status_of(bad) == (422, "invalid_input")
    assert await status_of(ana.call("POST", "/api/rooms", {"kind": "chat", "members": []})) == (
        422,
        "invalid_input",
    )

    added = await ana.call(
        "POST", f"/api/rooms/{group['id']}/members", {"username": cy.username}, expect=201
    )
    assert {m["id"] for m in added["members"]} == {ana.id, bob.id, cy.id}
    assert (await cy.call("GET", f"/api/rooms/{group['id']}"))["id"] == group["id"]
    no_add = ana.call("POST", f"/api/rooms/{direct['id']}/members", {"username": cy.username})
    assert await status_of(no_add) == (422, "invalid_input")

    await cy.call("DELETE", f"/api/rooms/{group['id']}/members/me", expect=204)
    assert await status_of(cy.call("GET", f"/api/rooms/{group['id']}")) == (404, "not_found")
    rooms = (await ana.call("GET", "/api/rooms"))["rooms"]
    assert [r["id"] for r in rooms][:2] == [group["id"], direct["id"]]


async def test_messages_history_paging_and_unread(new_user: UserFactory) -> None:
    ana, bob, eve = await new_user(), await new_user(), await new_user()
    room = await ana.group("History", bob)
    sent = [
        await ana.call(
            "POST",
            f"/api/rooms/{room['id']}/messages",
            {"body": f"m{i}", "client_id": f"c{i}"},
            expect=201,
        )
        for i in range(1, 8)
    ]
    assert [m["seq"] for m in sent] == list(range(1, 8))
    retry = await ana.call(
        "POST",
        f"/api/rooms/{room['id']}/messages",
        {"body": "m1 again", "client_id": "c1"},
        expect=201,
    )
    assert retry == sent[0]

    latest = await bob.history(room["id"], limit=3)
    assert [m["seq"] for m in latest["messages"]] == [5, 6, 7] and latest["has_more"]
    older = await bob.history(room["id"], before=5, limit=3)
    assert [m["seq"] for m in older["messages"]] == [2, 3, 4] and older["has_more"]
    newer = await bob.history(room["id"], after=5, limit=3)
    assert [m["seq"] for m in newer["messages"]] == [6, 7] and not newer["has_more"]
    assert latest["messages"][-1]["sender"] == ana.user
    assert latest["messages"][-1]["created_at"].endswith("Z")

    view = await bob.call("GET", f"/api/rooms/{room['id']}")
    assert view["unread"] == 7 and view["last_message"]["seq"] == 7
    assert (await ana.call("GET", f"/api/rooms/{room['id']}"))["unread"] == 0

    for query in ("limit=0", "limit=101", "before=x", "before=2&after=1"):
        bad = bob.call("GET", f"/api/rooms/{room['id']}/messages?{query}")
        assert await status_of(bad) == (422, "invalid_input")
    assert await status_of(eve.history(room["id"])) == (404, "not_found")
    eve_post = eve.call("POST", f"/api/rooms/{room['id']}/messages", {"body": "let me in"})
    assert await status_of(eve_post) == (404, "not_found")
    for body in ("", "   ", "x" * 4001, "bell\x07"):
        bad_post = ana.call("POST", f"/api/rooms/{room['id']}/messages", {"body": body})
        assert await status_of(bad_post) == (422, "invalid_input")
    assert (await bob.history(room["id"]))["messages"][-1]["seq"] == 7


async def test_operational_endpoints(http: aiohttp.ClientSession, server: ServerProcess) -> None:
    async with http.get(server.url + "/healthz") as response:
        assert response.status == 200
    async with http.get(server.url + "/readyz", headers=OPERATOR) as response:
        body = await response.json()
        assert response.status == 200 and body["checks"]["store"] == "ok"
    async with http.get(server.url + "/metrics", headers=OPERATOR) as response:
        text = await response.text()
        for name in (
            "parley_connections",
            "parley_frames_in_total",
            "parley_frames_out_total",
            "parley_socket_writes_total",
            "parley_messages_stored_total",
            "parley_send_to_ack_seconds_bucket",
            'parley_gc_pause_seconds_bucket{generation="2"',
            "parley_gc_sweeps_total",
            "parley_notify_lag ",  # the in-process notifier's, on the gateway's own /metrics
            "parley_notify_messages_total",
            "parley_notify_notifications_total",
        ):
            assert name in text
    async with http.get(server.url + "/openapi.json") as response:
        doc = await response.json()
        assert doc["openapi"].startswith("3.") and "/api/rooms/{room}/messages" in doc["paths"]
    async with http.get(server.url + "/api/docs") as response:
        assert "openapi.json" in await response.text()
