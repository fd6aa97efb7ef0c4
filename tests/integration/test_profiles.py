"""Profiles and settings over HTTP and the socket, on SQLite and PostgreSQL: a new display
name heard live, "last seen" after the last connection closes and only by people who share
a room, the settings' round trip and what they refuse."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from parley.protocol import schema
from tests.conftest import UserFactory
from tests.support.client import ApiError, Client

DEFS = schema.document()["$defs"]
PROFILE = Draft202012Validator({"$defs": DEFS, "$ref": "#/$defs/Profile"})


async def profile(viewer: Client, user: Client) -> dict[str, Any]:
    found: dict[str, Any] = await viewer.call("GET", f"/api/users/{user.id}")
    PROFILE.validate(found)
    return found


async def test_a_new_display_name_is_heard_live_by_room_mates_and_own_tabs(
    new_user: UserFactory,
) -> None:
    ana, bob, eve = await new_user(), await new_user(), await new_user()
    await ana.group("names", bob)
    b, mine, e = await bob.connect(), await ana.connect(), await eve.connect()
    renamed = await ana.call("PATCH", "/api/me", {"display_name": "  Ana the Second "})
    assert renamed == {**ana.user, "display_name": "Ana the Second"}
    for sock in (b, mine):
        heard = await sock.expect("user_updated")
        assert heard["user"] == renamed
    assert (await ana.call("GET", "/api/me"))["display_name"] == "Ana the Second"
    await e.send({"type": "ping"})
    await e.expect("pong")
    assert not [f for f in e.backlog if f["type"] == "user_updated"]  # shares no room


@pytest.mark.parametrize(
    "body",
    [
        {"display_name": "nul\u0000here"},
        {"display_name": "\u202eevil"},
        {"display_name": "   "},
        {"display_name": "x" * 65},
        {"display_name": 7},
        {"display_name": None},
        {},
    ],
)
async def test_a_bad_display_name_is_refused_and_changes_nothing(
    new_user: UserFactory, body: dict[str, Any]
) -> None:
    ana = await new_user()
    with pytest.raises(ApiError) as refused:
        await ana.call("PATCH", "/api/me", body)
    assert refused.value.status == 422
    assert (await ana.call("GET", "/api/me")) == ana.user


async def test_last_seen_after_the_last_connection_closes_only_for_room_mates(
    new_user: UserFactory,
) -> None:
    ana, bob, eve = await new_user(), await new_user(), await new_user()
    await ana.direct(bob)
    a = await ana.connect()
    first, second = await bob.connect(), await bob.connect()
    await a.expect("presence", status="online")
    assert await profile(ana, bob) == {"user": bob.user, "online": True, "last_seen": None}
    await first.close()
    assert (await profile(ana, bob))["online"] is True  # one connection is still open
    await second.close()
    offline = await a.expect("presence", status="offline")
    seen = await profile(ana, bob)
    assert seen["online"] is False and seen["last_seen"] == offline["last_seen"]
    assert (await profile(bob, bob))["last_seen"] == offline["last_seen"]
    for stranger, target in ((eve, bob), (eve, ana)):
        with pytest.raises(ApiError) as hidden:
            await profile(stranger, target)
        assert hidden.value.status == 404
    for bad in ("999999999", "0", "abc", "1e3"):
        with pytest.raises(ApiError) as missing:
            await ana.call("GET", f"/api/users/{bad}")
        assert missing.value.status == 404


async def test_settings_round_trip_and_refusals(new_user: UserFactory) -> None:
    ana, bob = await new_user(), await new_user()
    assert await ana.call("GET", "/api/me/settings") == {"theme": "system", "hour_cycle": "auto"}
    saved = await ana.call("PUT", "/api/me/settings", {"theme": "dark", "hour_cycle": "12h"})
    assert saved == {"theme": "dark", "hour_cycle": "12h"}
    assert await ana.call("GET", "/api/me/settings") == saved
    assert await bob.call("GET", "/api/me/settings") == {"theme": "system", "hour_cycle": "auto"}
    for bad in (
        {"theme": "neon", "hour_cycle": "12h"},
        {"theme": "dark", "hour_cycle": 12},
        {"theme": "dark"},
        {"theme": "dark", "hour_cycle": "24h", "font": "huge"},
        {"theme": "dark\u0000", "hour_cycle": "24h"},
    ):
        with pytest.raises(ApiError) as refused:
            await ana.call("PUT", "/api/me/settings", bad)
        assert refused.value.status == 422
    assert await ana.call("GET", "/api/me/settings") == saved
