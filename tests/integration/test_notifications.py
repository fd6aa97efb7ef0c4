"""The in-app inbox and notification settings over HTTP and WebSocket, on SQLite and on
PostgreSQL (the embedded notifier behind the direct log). Notifications are made after a
message is stored, in order: a test waits for a later notification's live event rather
than sleeping to show that an earlier message notified nobody."""

from __future__ import annotations

from typing import Any

from tests.conftest import UserFactory
from tests.support.client import ApiError, Client, Socket


async def post(client: Client, room: str, body: str) -> dict[str, Any]:
    message: dict[str, Any] = await client.call(
        "POST", f"/api/rooms/{room}/messages", {"body": body}, expect=201
    )
    return message


async def next_notification(sock: Socket) -> dict[str, Any]:
    frame = await sock.expect("notification")
    found: dict[str, Any] = frame["notification"]
    return found


async def test_direct_and_mention_reach_the_inbox_live(new_user: UserFactory) -> None:
    ana, bob, cy = await new_user(), await new_user(), await new_user()
    direct = (await ana.direct(bob))["id"]
    group = (await ana.group("plans", bob, cy))["id"]
    sock = await bob.connect()
    try:
        await post(ana, group, "nobody is named here")
        sent = await post(ana, direct, "hello <b>bob</b>")
        live = await next_notification(sock)
        assert (live["room"], live["seq"], live["reason"]) == (direct, sent["seq"], "direct")
        assert live["excerpt"] == "hello <b>bob</b>" and live["read"] is False
        assert live["sender"]["id"] == ana.id and live["room_name"] is None
        mention = await post(ana, group, f"@{bob.username} look")
        live = await next_notification(sock)
        assert (live["room"], live["seq"], live["reason"]) == (group, mention["seq"], "mention")
        assert live["room_name"] == "plans"
    finally:
        await sock.close()
    inbox = await bob.call("GET", "/api/notifications")
    assert inbox["unread"] == 2 and inbox["next_cursor"] is None
    assert [n["reason"] for n in inbox["notifications"]] == ["mention", "direct"]
    assert (await cy.call("GET", "/api/notifications"))["notifications"] == []
    first = inbox["notifications"][1]["id"]
    assert await bob.call("POST", f"/api/notifications/{first}/read") == {"unread": 1}
    assert await bob.call("POST", f"/api/notifications/{first}/read") == {"unread": 1}
    with_error = await cy.call("POST", f"/api/notifications/{first}/read", expect=404)
    assert with_error["error"]["code"] == "not_found"
    await cy.call("POST", "/api/notifications/x1/read", expect=404)
    assert await bob.call("POST", "/api/notifications/read-all") == {"unread": 0}
    inbox = await bob.call("GET", "/api/notifications")
    assert all(n["read"] for n in inbox["notifications"])


async def test_muted_room_and_open_room_notify_nobody(new_user: UserFactory) -> None:
    ana, bob = await new_user(), await new_user()
    muted = (await ana.group("muted", bob))["id"]
    shown = (await ana.direct(bob))["id"]
    other = (await ana.group("other", bob))["id"]
    level = await bob.call("PUT", f"/api/rooms/{muted}/notification-settings", {"level": "nothing"})
    assert level == {"room": muted, "level": "nothing"}
    settings = await bob.call("GET", "/api/me/notification-settings")
    assert settings["rooms"] == {muted: "nothing"}
    sock = await bob.connect()
    try:
        await sock.send({"type": "focus", "room": shown})
        await sock.send({"type": "ping"})
        await sock.expect("pong")
        await post(ana, muted, f"@{bob.username} muted")
        await post(ana, shown, "you are reading this")
        last = await post(ana, other, f"@{bob.username} here")
        live = await next_notification(sock)
        assert (live["room"], live["seq"]) == (other, last["seq"])
        await sock.send({"type": "focus", "room": None})
        again = await post(ana, shown, "now you are not")
        live = await next_notification(sock)
        assert (live["room"], live["seq"]) == (shown, again["seq"])
    finally:
        await sock.close()
    inbox = await bob.call("GET", "/api/notifications")
    assert [(n["room"], n["seq"]) for n in inbox["notifications"]] == [
        (shown, again["seq"]),
        (other, last["seq"]),
    ]


async def test_room_level_needs_membership_and_a_known_level(new_user: UserFactory) -> None:
    ana, eve = await new_user(), await new_user()
    room = (await ana.direct(eve))["id"]
    outsider = await new_user()
    path = f"/api/rooms/{room}/notification-settings"
    await outsider.call("PUT", path, {"level": "nothing"}, expect=404)
    for bad in ({"level": "loud"}, {"level": "all", "x": 1}, {}):
        error = await ana.call("PUT", path, bad, expect=422)
        assert error["error"]["code"] == "invalid_input"
    await ana.call("PUT", "/api/rooms/abc/notification-settings", {"level": "all"}, expect=404)


async def test_settings_list_the_levels_of_rooms_the_user_is_in(new_user: UserFactory) -> None:
    ana, bob = await new_user(), await new_user()
    left = (await ana.group("left", bob))["id"]
    kept = (await ana.group("kept", bob))["id"]
    for room, level in ((left, "nothing"), (kept, "mentions")):
        await bob.call("PUT", f"/api/rooms/{room}/notification-settings", {"level": level})
    path = "/api/me/notification-settings"
    assert (await bob.call("GET", path))["rooms"] == {left: "nothing", kept: "mentions"}
    await bob.call("DELETE", f"/api/rooms/{left}/members/me", expect=204)
    assert (await bob.call("GET", path))["rooms"] == {kept: "mentions"}
    await bob.call("PUT", f"/api/rooms/{left}/notification-settings", {"level": "all"}, expect=404)


async def test_settings_validate_the_address_and_mode(new_user: UserFactory) -> None:
    ana = await new_user()
    path = "/api/me/notification-settings"
    assert await ana.call("GET", path) == {
        "email": None,
        "email_mode": "off",
        "digest_minutes": 60,
        "rooms": {},
    }
    for bad in (
        {"email_mode": "immediately"},
        {"email": "not an address"},
        {"email": "ana@example.com\r\nBcc: eve@example.com"},
        {"email": "ana@example.com", "email_mode": "loud"},
        {"email": "ana@example.com", "digest_minutes": 1},
        {"email": "ana@example.com", "digest_minutes": "60"},
        {"colour": "red"},
    ):
        try:
            await ana.call("PUT", path, bad, expect=422)
        except ApiError as exc:  # pragma: no cover - the message says which case
            raise AssertionError(bad) from exc
    saved = await ana.call(
        "PUT", path, {"email": "ana@example.com", "email_mode": "digest", "digest_minutes": 15}
    )
    assert saved == {
        "email": "ana@example.com",
        "email_mode": "digest",
        "digest_minutes": 15,
        "rooms": {},
    }
    off = await ana.call("PUT", path, {"email_mode": "off"})
    assert off["email"] == "ana@example.com" and off["email_mode"] == "off"
