"""The admin API over real HTTP and WebSocket, on SQLite and PostgreSQL: who may use it,
disabling a user (sockets closed, every token refused), the audit log, the rooms list."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from parley.api.admin import PREFIX
from parley.app import build
from parley.config import Settings
from tests.conftest import UserFactory
from tests.integration.test_sessions import closed_with, post, second_session, still_open
from tests.support.client import Client, unique_name
from tests.support.cluster import eventually
from tests.support.server import FAST_HASHING, ServerProcess, inherited_env


def parley_admin(server: ServerProcess, action: str, username: str) -> str:
    """``parley admin ACTION USERNAME`` against the server's own database."""
    result = subprocess.run(
        [sys.executable, "-m", "parley", "admin", action, username],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
async def admin(new_user: UserFactory, server: ServerProcess) -> Client:
    made = await new_user()
    assert "is now an admin" in await asyncio.to_thread(
        parley_admin, server, "grant", made.username
    )
    return made


def admin_routes(tmp_path: Path) -> list[tuple[str, str]]:
    """Every (method, path) the app registers under /api/admin, path parameters as 1."""
    env = {**inherited_env(), **FAST_HASHING, "PARLEY_DATA_DIR": str(tmp_path)}
    app = build(Settings.from_env(env))
    found = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = str(info.get("path") or info.get("formatter") or "")
        if path.startswith(PREFIX) and route.method != "HEAD":
            found.append((route.method, re.sub(r"\{[^}]+\}", "1", path)))
    return found


async def test_every_admin_route_refuses_members_and_anonymous_callers(
    http: aiohttp.ClientSession, new_user: UserFactory, tmp_path: Path
) -> None:
    routes = admin_routes(tmp_path)
    assert len(routes) >= 6, routes
    await new_user()  # whoever registers first on the embedded server is its admin
    member = await new_user()
    for method, path in routes:
        anonymous = await member.call(method, path, auth=False, expect=401)
        assert anonymous["error"]["code"] == "unauthorized", (method, path)
        refused = await member.call(method, path, expect=403)
        assert refused["error"]["code"] == "forbidden", (method, path)


async def test_a_disabled_user_is_signed_out_everywhere_until_enabled(
    http: aiohttp.ClientSession, new_user: UserFactory, admin: Client
) -> None:
    ana, bystander = await new_user(), await new_user()
    other = await second_session(http, ana)
    socks = [await ana.connect(), await other.connect()]
    watching = await bystander.connect()

    disabled = await admin.call("POST", f"{PREFIX}/users/{ana.id}/disable", expect=200)
    assert disabled["disabled"] is True and disabled["username"] == ana.username
    for sock in socks:
        assert await closed_with(sock) == (4401, "session revoked")
    await still_open(watching)
    assert (await ana.call("GET", "/api/me", expect=401))["error"]["code"] == "unauthorized"
    refreshed = await post(
        http, ana.base_url + "/api/auth/refresh", {"refresh_token": ana.refresh_token}
    )
    assert refreshed.status == 401
    login = {"username": ana.username, "password": ana.password}
    refused = await post(http, ana.base_url + "/api/auth/login", login)
    assert refused.status == 403 and refused.code == "forbidden"
    refused_socket = await http.ws_connect(ana.base_url.replace("http", "ws") + "/ws")
    await refused_socket.send_json({"type": "auth", "token": ana.access_token})
    assert (await refused_socket.receive_json(timeout=10))["type"] == "error"
    await refused_socket.close()

    enabled = await admin.call("POST", f"{PREFIX}/users/{ana.id}/enable", expect=200)
    assert enabled["disabled"] is False
    assert (await post(http, ana.base_url + "/api/auth/login", login)).status == 200


async def test_admin_actions_are_refused_on_themselves_and_unknown_users(
    admin: Client,
) -> None:
    mine = await admin.call("POST", f"{PREFIX}/users/{admin.id}/disable", expect=422)
    assert mine["error"]["code"] == "invalid_input"
    for action in ("disable", "enable", "logout-all"):
        await admin.call("POST", f"{PREFIX}/users/999999999/{action}", expect=404)
        await admin.call("POST", f"{PREFIX}/users/nope/{action}", expect=404)
    await admin.call("GET", f"{PREFIX}/users?q=a%00b", expect=422)
    await admin.call("GET", f"{PREFIX}/users?offset=-1", expect=422)
    await admin.call("GET", f"{PREFIX}/audit?before=x", expect=422)


async def test_sign_out_everywhere_by_an_admin_closes_the_users_sockets(
    http: aiohttp.ClientSession, new_user: UserFactory, admin: Client
) -> None:
    ana = await new_user()
    sock = await ana.connect()
    await admin.call("POST", f"{PREFIX}/users/{ana.id}/logout-all", expect=204)
    assert await closed_with(sock) == (4401, "session revoked")
    refreshed = await post(
        http, ana.base_url + "/api/auth/refresh", {"refresh_token": ana.refresh_token}
    )
    assert refreshed.status == 401
    # Not disabled: they may sign in again.
    login = {"username": ana.username, "password": ana.password}
    assert (await post(http, ana.base_url + "/api/auth/login", login)).status == 200


async def test_users_are_searched_and_paged(new_user: UserFactory, admin: Client) -> None:
    stem = unique_name("srch")
    made = [await Client(admin.http, admin.base_url).register(f"{stem}{i}") for i in range(3)]
    first = await admin.call("GET", f"{PREFIX}/users?q={stem.upper()}&limit=2")
    assert [u["username"] for u in first["users"]] == [m.username for m in made[:2]]
    assert first["next_offset"] == 2
    rest = await admin.call("GET", f"{PREFIX}/users?q={stem}&limit=2&offset=2")
    assert [u["username"] for u in rest["users"]] == [made[2].username]
    assert rest["next_offset"] is None
    assert rest["users"][0]["role"] == "member" and rest["users"][0]["disabled"] is False


async def test_every_admin_action_is_in_the_audit_log_with_who_and_where(
    new_user: UserFactory, admin: Client
) -> None:
    ana = await new_user()
    await admin.call("POST", f"{PREFIX}/users/{ana.id}/disable")
    await admin.call("POST", f"{PREFIX}/users/{ana.id}/enable")
    await admin.call("POST", f"{PREFIX}/users/{ana.id}/logout-all", expect=204)
    page = await admin.call("GET", f"{PREFIX}/audit?limit=2")
    mine = [e for e in page["entries"] if e["actor"]["id"] == admin.id]
    assert [e["action"] for e in mine] == ["user.logout_all", "user.enable"]
    assert all(e["target"] == f"user:{ana.id}" and e["client"] == "127.0.0.1" for e in mine)
    assert page["next_before"] is not None
    older = await admin.call("GET", f"{PREFIX}/audit?limit=1&before={page['next_before']}")
    assert older["entries"][0]["action"] == "user.disable"
    assert older["entries"][0]["target"] == f"user:{ana.id}"


async def test_rooms_list_members_messages_and_activity(
    new_user: UserFactory, admin: Client
) -> None:
    ana, bob = await new_user(), await new_user()
    room = await ana.group(unique_name("room"), bob)
    for text in ("one", "two"):
        await ana.call("POST", f"/api/rooms/{room['id']}/messages", {"body": text}, expect=201)
    page = await admin.call("GET", f"{PREFIX}/rooms?limit=100")
    listed = next(r for r in page["rooms"] if r["id"] == room["id"])
    assert listed["members"] == 2 and listed["messages"] == 2 and listed["last_seq"] == 2
    assert listed["kind"] == "group" and listed["last_activity_at"].endswith("Z")


async def test_the_cli_revokes_the_role(
    new_user: UserFactory, server: ServerProcess, admin: Client
) -> None:
    assert "is now a member" in await asyncio.to_thread(
        parley_admin, server, "revoke", admin.username
    )
    await admin.call("GET", f"{PREFIX}/users", expect=403)


async def test_the_first_user_of_an_empty_embedded_install_is_an_admin(
    http: aiohttp.ClientSession, fresh_server: ServerProcess
) -> None:
    first, second = await asyncio.gather(
        *(Client(http, fresh_server.url).register() for _ in range(2))
    )
    # Registered at once: exactly one of the two saw an empty install.
    statuses = []
    for client in (first, second):
        async with http.get(
            fresh_server.url + f"{PREFIX}/users",
            headers={"Authorization": f"Bearer {client.access_token}"},
        ) as response:
            statuses.append(response.status)
    assert sorted(statuses) == [200, 403]


async def test_an_admin_deletes_any_message_and_members_get_the_normal_delete_event(
    new_user: UserFactory, admin: Client
) -> None:
    owner, bob = await new_user(), await new_user()
    room = (await owner.group(unique_name("mod"), bob))["id"]
    watching = await owner.connect()
    await bob.call("POST", f"/api/rooms/{room}/messages", {"body": "spam"}, expect=201)
    assert (await watching.entries(room, 1))[0]["body"] == "spam"

    deleted = await admin.call("DELETE", f"{PREFIX}/rooms/{room}/messages/1", expect=200)
    event = deleted["event"]
    assert (event["kind"], event["target"], event["seq"]) == ("delete", 1, 2)
    assert event["sender"]["id"] == admin.id
    assert (await watching.entries(room, 1))[0] == event
    tomb = (await bob.history(room))["messages"][0]
    assert tomb["deleted"] is True and tomb["body"] == ""
    # The admin is no member: moderation does not let them read or write the room.
    await admin.call("GET", f"/api/rooms/{room}/messages", expect=404)
    await admin.call("DELETE", f"/api/rooms/{room}/messages/1", expect=404)
    # A deleted message or a missing one is not found, and nothing is stored for it.
    for seq in ("1", "99", "x"):
        await admin.call("DELETE", f"{PREFIX}/rooms/{room}/messages/{seq}", expect=404)
    assert (await owner.call("GET", f"/api/rooms/{room}"))["last_seq"] == 2
    audit = await admin.call("GET", f"{PREFIX}/audit?limit=1")
    assert audit["entries"][0]["action"] == "message.delete"
    assert audit["entries"][0]["target"] == f"room:{room}/seq:1"


async def test_the_overview_shows_this_gateways_live_figures(
    new_user: UserFactory, admin: Client
) -> None:
    ana = await new_user()
    sock = await ana.connect()
    room = (await ana.group(unique_name("busy")))["id"]
    await ana.call("POST", f"/api/rooms/{room}/messages", {"body": "hi"}, expect=201)

    async def counted() -> bool:
        overview = await admin.call("GET", f"{PREFIX}/overview")
        [gateway] = overview["gateways"]
        return bool(gateway["connections"] >= 1 and gateway["messages_stored"] >= 1)

    await eventually(counted, what="the socket and the message in the overview")
    overview = await admin.call("GET", f"{PREFIX}/overview")
    assert overview["totals"]["gateways"] == 1 and overview["interval_seconds"] == 2
    assert set(overview["gateways"][0]["ack_ms"]) == {"p50", "p95", "p99"}
    await sock.close()


async def test_the_overview_shows_the_in_process_notifiers_lag(
    new_user: UserFactory, admin: Client
) -> None:
    ana, bob = await new_user(), await new_user()
    room = (await ana.direct(bob))["id"]
    before = await admin.call("GET", f"{PREFIX}/overview")
    [notifier] = before["notifiers"]
    assert notifier["worker"] == before["gateways"][0]["gateway"]
    await ana.call("POST", f"/api/rooms/{room}/messages", {"body": "are you there?"}, expect=201)

    async def decided() -> bool:
        overview = await admin.call("GET", f"{PREFIX}/overview")
        [now] = overview["notifiers"]
        return bool(
            now["messages"] > notifier["messages"]
            and now["notifications"] > notifier["notifications"]
            and now["lag"] == overview["totals"]["notify_lag"] == 0
        )

    await eventually(decided, what="the direct message decided on by the in-process notifier")
    assert (await bob.call("GET", "/api/notifications"))["unread"] == 1
