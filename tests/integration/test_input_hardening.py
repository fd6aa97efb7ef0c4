"""Hostile input over real HTTP and real WebSockets: every bad value gets a 4xx.

Each text field refuses NUL and the other control characters, and the one-line
ones the bidirectional formatting characters too, with ``invalid_input`` (422);
numbers are ASCII digits within a BIGINT. ``tests/cluster/test_core_on_postgres``
runs this module again on PostgreSQL, which cannot store a NUL: there the same
requests must meet the same answers, never a 500 or a 503.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
import pytest

from parley.protocol.validation import MAX_ID
from tests.conftest import UserFactory
from tests.support.client import ApiError, Client, unique_name
from tests.support.server import ServerProcess

CONTROLS = ["nul\x00x", "esc\x1b[31m", "del\x7f", "c1\x85x", "sep\u2028x"]
"""Refused in every text field."""
ONE_LINE = [*CONTROLS, "tab\tx", "new\nline", "\u202eevil", "iso\u2066late"]
"""Refused in names, ids, tokens and search prefixes."""
NUMBERS = ["\u00b2", "\u0661\u0662", "\uff11", "9" * 5000, str(MAX_ID + 1), "-1", "+1", "1.0"]
"""What ``isdigit()`` then ``int()`` let through or choke on."""


async def refused(call: Any, status: int = 422) -> dict[str, Any]:
    """The error object of a call that must fail with ``status`` in the documented shape."""
    with pytest.raises(ApiError) as caught:
        await call
    assert caught.value.status == status, caught.value.body
    error: dict[str, Any] = caught.value.body["error"]
    assert set(error) == {"code", "message"}
    assert error["code"] == ("invalid_input" if status == 422 else "not_found")
    return error


def anonymous(user: Client) -> Client:
    return Client(user.http, user.base_url)


async def test_register_refuses_controls_in_every_field(new_user: UserFactory) -> None:
    anon = anonymous(await new_user())
    for bad in ONE_LINE:
        for body in (
            {"username": unique_name(), "password": "password1", "display_name": bad},
            {"username": bad, "password": "password1"},
        ):
            await refused(anon.call("POST", "/api/auth/register", body, auth=False))
    for bad in CONTROLS:
        body = {"username": unique_name(), "password": f"password1{bad}"}
        await refused(anon.call("POST", "/api/auth/register", body, auth=False))
    name = unique_name()
    signed_up = await anon.call(
        "POST",
        "/api/auth/register",
        {"username": name, "password": "pass \u202e word ☃", "display_name": " \u05d0 \u2603 "},
        auth=False,
        expect=201,
    )
    assert signed_up["user"]["display_name"] == "\u05d0 \u2603"


async def test_login_refuses_malformed_usernames_and_passwords(new_user: UserFactory) -> None:
    ana = await new_user()
    anon = anonymous(ana)
    for bad in [*ONE_LINE, ana.username + "\x00", "\u212a" + ana.username[1:]]:
        body = {"username": bad, "password": ana.password}
        await refused(anon.call("POST", "/api/auth/login", body, auth=False))
    body = {"username": ana.username, "password": ana.password + "\x00"}
    await refused(anon.call("POST", "/api/auth/login", body, auth=False))


async def test_a_kelvin_sign_does_not_sign_in_as_k(new_user: UserFactory) -> None:
    """ "\u212a".lower() is "k": a username must be ASCII before it is lowered."""
    kate = await anonymous(await new_user()).register("k" + unique_name())
    body = {"username": "\u212a" + kate.username[1:], "password": kate.password}
    await refused(kate.call("POST", "/api/auth/login", body, auth=False))


async def test_refresh_and_logout_refuse_malformed_tokens(new_user: UserFactory) -> None:
    ana = await new_user()
    for bad in [*ONE_LINE, "", "x" * 1025, 7]:
        for path in ("/api/auth/refresh", "/api/auth/logout"):
            await refused(ana.call("POST", path, {"refresh_token": bad}, auth=False))
    await ana.call(  # the session is still alive
        "POST", "/api/auth/refresh", {"refresh_token": ana.refresh_token}, auth=False, expect=200
    )


async def test_user_search_refuses_controls_and_long_prefixes(new_user: UserFactory) -> None:
    ana = await new_user()
    for bad in [*ONE_LINE, "x" * 33]:
        await refused(ana.call("GET", "/api/users?" + _query(q=bad)))
    found = await ana.call("GET", "/api/users?" + _query(q=f" {ana.username.upper()} "))
    assert [u["id"] for u in found["users"]] == [ana.id]


async def test_rooms_refuse_bad_names_and_members(new_user: UserFactory) -> None:
    ana, bob = await new_user(), await new_user()
    for bad in ONE_LINE:
        group = {"kind": "group", "name": bad, "members": [bob.username]}
        await refused(ana.call("POST", "/api/rooms", group))
        group = {"kind": "group", "name": "Team", "members": [bob.username, bad]}
        await refused(ana.call("POST", "/api/rooms", group))
        await refused(ana.call("POST", "/api/rooms", {"kind": "direct", "members": [bad]}))
    twice = {"kind": "direct", "members": [bob.username, bob.username.upper()]}
    await refused(ana.call("POST", "/api/rooms", twice))
    room = await ana.group("Team", bob)
    for bad in [*ONE_LINE, bob.username + "\x00"]:
        await refused(ana.call("POST", f"/api/rooms/{room['id']}/members", {"username": bad}))
    assert len((await ana.call("GET", "/api/rooms"))["rooms"]) == 1


async def test_messages_refuse_controls_in_body_and_client_id(new_user: UserFactory) -> None:
    ana = await new_user()
    room = (await ana.group("posts"))["id"]
    path = f"/api/rooms/{room}/messages"
    for bad in ONE_LINE:
        await refused(ana.call("POST", path, {"body": "hi", "client_id": bad}))
    for bad in CONTROLS:
        await refused(ana.call("POST", path, {"body": bad}))
    await refused(ana.call("POST", path, {"body": "trailing unit separator\x1f"}))
    sent = await ana.call("POST", path, {"body": "fine\n\tline", "client_id": "c ☃"}, expect=201)
    assert (sent["body"], sent["client_id"]) == ("fine\n\tline", "c ☃")
    assert [m["seq"] for m in (await ana.history(room))["messages"]] == [1]


async def test_room_ids_in_paths_are_ascii_digits(new_user: UserFactory) -> None:
    ana = await new_user()
    room = (await ana.group("numbers"))["id"]
    arabic = "".join(chr(0x0660 + int(d)) for d in room)  # the same id in Arabic-Indic digits
    for bad in [*NUMBERS, arabic, "0", "\x00", "1\x00"]:
        for method, suffix in (("GET", ""), ("GET", "/messages"), ("DELETE", "/members/me")):
            await refused(ana.call(method, f"/api/rooms/{_path(bad)}{suffix}"), 404)
        await refused(ana.call("POST", f"/api/rooms/{_path(bad)}/messages", {"body": "x"}), 404)
    assert (await ana.call("GET", f"/api/rooms/{room}"))["id"] == room


async def test_history_numbers_are_ascii_digits_in_range(new_user: UserFactory) -> None:
    ana = await new_user()
    room = (await ana.group("paging"))["id"]
    path = f"/api/rooms/{room}/messages?"
    for bad in NUMBERS:
        for name in ("before", "after", "limit"):
            await refused(ana.call("GET", path + _query(**{name: bad})))
    for query in ({"limit": "0"}, {"limit": "101"}, {"before": "", "limit": "1"}):
        await refused(ana.call("GET", path + _query(**query)))
    page = await ana.call("GET", path + _query(before=str(MAX_ID), limit="100"))
    assert page == {"messages": [], "has_more": False}


async def test_a_method_the_path_does_not_take_is_405_with_allow(
    http: aiohttp.ClientSession, server: ServerProcess
) -> None:
    for method, path, allowed in (
        ("POST", "/api/me", {"GET", "HEAD", "PATCH"}),
        ("GET", "/api/auth/login", {"POST"}),
        ("PUT", "/api/rooms/1/messages", {"GET", "HEAD", "POST"}),
    ):
        async with http.request(method, server.url + path) as response:
            assert response.status == 405
            assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed
            error = (await response.json())["error"]
            assert error["code"] == "invalid_input"


async def test_websocket_send_refuses_controls_in_client_id_and_body(
    new_user: UserFactory,
) -> None:
    ana = await new_user()
    room = (await ana.group("frames"))["id"]
    sock = await ana.connect()
    for bad in ONE_LINE:
        await sock.send({"type": "send", "room": room, "body": "hi", "client_id": bad})
        error = await sock.expect("error")
        assert error["code"] == "invalid_input" and "client_id" in error["message"]
    for bad in [*CONTROLS, "trailing unit separator\x1f"]:
        await sock.send({"type": "send", "room": room, "body": bad, "client_id": "ok"})
        error = await sock.expect("error", client_id="ok")
        assert error["code"] == "invalid_input"
    await sock.send({"type": "send", "room": room, "body": "stored", "client_id": "ok"})
    assert (await sock.expect("ack", client_id="ok"))["message"]["seq"] == 1
    assert [m["body"] for m in (await ana.history(room))["messages"]] == ["stored"]


async def test_websocket_numbers_are_strict(new_user: UserFactory) -> None:
    ana = await new_user()
    room = (await ana.group("frames"))["id"]
    sock = await ana.connect()
    bad_frames: list[dict[str, Any]] = [
        *({"type": "typing", "room": n} for n in NUMBERS),
        *({"type": "resume", "rooms": {n: 0}} for n in NUMBERS),
        *({"type": "read", "room": room, "seq": s} for s in (True, 1.0, -1, MAX_ID + 1, "1")),
        *({"type": "resume", "rooms": {room: s}} for s in (False, 0.0, MAX_ID + 1)),
        {"type": "send", "room": int(room), "body": "x", "client_id": "n"},
    ]
    for frame in bad_frames:
        await sock.send(frame)
        assert (await sock.expect("error"))["code"] == "invalid_input", frame
    await sock.send({"type": "read", "room": room, "seq": 0})
    await sock.send({"type": "ping"})
    await sock.expect("pong")


async def test_websocket_auth_refuses_a_token_with_controls(
    http: aiohttp.ClientSession, server: ServerProcess
) -> None:
    ws = await http.ws_connect(server.ws_url)
    await ws.send_str(orjson.dumps({"type": "auth", "token": "eyJ\x00"}).decode())
    error = orjson.loads((await ws.receive(timeout=10)).data)
    assert error["code"] == "unauthorized" and "control" in error["message"]
    await ws.receive(timeout=10)
    assert ws.close_code == 4401


async def test_static_paths_that_no_file_can_have_are_404(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    web = tmp_path / "web"
    (web / "assets").mkdir(parents=True)
    (web / "index.html").write_text("<!doctype html><title>Parley</title>")
    proc = ServerProcess(tmp_path / "srv", env={"PARLEY_WEB_DIR": str(web)})
    await proc.start()
    try:
        for path in ("/%00", "/assets/%00.js", "/" + "a" * 300, "/assets/" + "a" * 300):
            async with http.get(proc.url + path) as response:
                assert response.status == 404, path
                assert (await response.json())["error"]["code"] == "not_found"
        async with http.get(proc.url + "/rooms/42") as response:  # a client-side route
            assert response.status == 200 and "Parley" in await response.text()
    finally:
        await proc.stop()


def _query(**params: str) -> str:
    return "&".join(f"{k}={_path(v)}" for k, v in params.items())


def _path(value: str) -> str:
    """Percent-encoded, so the server decodes exactly ``value``."""
    return quote(value, safe="")
