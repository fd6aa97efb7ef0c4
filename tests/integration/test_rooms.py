"""Running a group over real sockets and HTTP: roles, removals, settings, the directory,
joining, hiding a direct conversation. Each permission is tried as the owner, an admin, a
member and an outsider.

Each test runs on the embedded server with SQLite and with PostgreSQL.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import UserFactory
from tests.support.client import ApiError, Client


async def status(call: Any) -> int:
    """The status of a call expected to fail; a success is the test's failure."""
    with pytest.raises(ApiError) as refused:
        await call
    return refused.value.status


async def team(new_user: UserFactory, name: str = "team") -> tuple[str, list[Client]]:
    """A group of owner, admin, member and a fourth member, and an outsider (last)."""
    owner, admin, member, extra, outsider = [await new_user() for _ in range(5)]
    room = (await owner.group(name, admin, member, extra))["id"]
    await owner.call(
        "PUT", f"/api/rooms/{room}/members/{admin.id}/role", {"role": "admin"}, expect=200
    )
    return room, [owner, admin, member, extra, outsider]


async def test_roles_are_in_the_room_and_only_the_owner_changes_them(
    new_user: UserFactory,
) -> None:
    room, (owner, admin, member, extra, outsider) = await team(new_user)
    seen = await member.call("GET", f"/api/rooms/{room}")
    assert seen["roles"] == {owner.id: "owner", admin.id: "admin"}
    path = f"/api/rooms/{room}/members/{extra.id}/role"
    assert await status(admin.call("PUT", path, {"role": "admin"})) == 403
    assert await status(member.call("PUT", path, {"role": "admin"})) == 403
    assert await status(outsider.call("PUT", path, {"role": "admin"})) == 404
    owners_own = f"/api/rooms/{room}/members/{owner.id}/role"
    assert await status(owner.call("PUT", owners_own, {"role": "member"})) == 403
    assert await status(owner.call("PUT", path, {"role": "owner"})) == 422
    assert await status(owner.call("PUT", path, {"role": 1})) == 422
    missing = f"/api/rooms/{room}/members/{outsider.id}/role"
    assert await status(owner.call("PUT", missing, {"role": "admin"})) == 404
    demoted = await owner.call(
        "PUT", f"/api/rooms/{room}/members/{admin.id}/role", {"role": "member"}
    )
    assert demoted["roles"] == {owner.id: "owner"}


async def test_owners_and_admins_change_the_settings_live_for_every_member(
    new_user: UserFactory,
) -> None:
    room, (owner, admin, member, _extra, outsider) = await team(new_user)
    sock = await member.connect()
    changed = await admin.call(
        "PATCH", f"/api/rooms/{room}", {"name": "Core", "topic": " Ship it ", "public": True}
    )
    assert (changed["name"], changed["topic"], changed["public"]) == ("Core", "Ship it", True)
    event = await sock.expect("room_updated", room=room)
    assert (event["name"], event["topic"], event["public"]) == ("Core", "Ship it", True)
    assert event["by"]["id"] == admin.id and event["roles"][owner.id] == "owner"
    cleared = await owner.call("PATCH", f"/api/rooms/{room}", {"topic": ""})
    assert cleared["topic"] is None and cleared["name"] == "Core"
    assert (await sock.expect("room_updated", room=room))["topic"] is None
    assert await status(member.call("PATCH", f"/api/rooms/{room}", {"name": "Mine"})) == 403
    assert await status(outsider.call("PATCH", f"/api/rooms/{room}", {"name": "X"})) == 404
    for bad in ({"name": "a\x00b"}, {"topic": "x\u202e"}, {"topic": "t" * 251}, {"public": 1}):
        assert await status(owner.call("PATCH", f"/api/rooms/{room}", bad)) == 422
    assert (await member.call("GET", f"/api/rooms/{room}"))["name"] == "Core"
    direct = (await owner.direct(member))["id"]
    assert await status(owner.call("PATCH", f"/api/rooms/{direct}", {"name": "x"})) == 403


async def test_who_adds_and_removes_members(new_user: UserFactory) -> None:
    room, (owner, admin, member, extra, outsider) = await team(new_user)
    add = f"/api/rooms/{room}/members"
    assert await status(member.call("POST", add, {"username": outsider.username})) == 403
    assert await status(outsider.call("POST", add, {"username": outsider.username})) == 404
    await admin.call("POST", add, {"username": outsider.username}, expect=201)
    # An admin removes members, not the owner or another admin; a member removes nobody.
    assert await status(member.call("DELETE", f"{add}/{extra.id}")) == 403
    assert await status(admin.call("DELETE", f"{add}/{owner.id}")) == 403
    await owner.call("PUT", f"{add}/{extra.id}/role", {"role": "admin"})
    assert await status(admin.call("DELETE", f"{add}/{extra.id}")) == 403
    await admin.call("DELETE", f"{add}/{outsider.id}", expect=204)
    assert await status(admin.call("DELETE", f"{add}/{outsider.id}")) == 404
    assert await status(owner.call("DELETE", f"{add}/{owner.id}")) == 403
    await owner.call("DELETE", f"{add}/{extra.id}", expect=204)
    assert await status(outsider.call("DELETE", f"{add}/{member.id}")) == 404
    left = await owner.call("GET", f"/api/rooms/{room}")
    assert {m["id"] for m in left["members"]} == {owner.id, admin.id, member.id}


async def test_a_removed_member_hears_left_and_can_no_longer_read_send_or_fetch(
    new_user: UserFactory,
) -> None:
    room, (owner, admin, member, _extra, _outsider) = await team(new_user)
    gone, stays = await member.connect(), await owner.connect()
    await admin.call("DELETE", f"/api/rooms/{room}/members/{member.id}", expect=204)
    assert (await gone.expect("left", room=room))["room"] == room
    update = (await stays.expect("room"))["room"]
    assert update["id"] == room and member.id not in {m["id"] for m in update["members"]}
    await owner.call("POST", f"/api/rooms/{room}/messages", {"body": "after"}, expect=201)
    assert (await stays.messages(room, 1))[0]["body"] == "after"
    for call in (
        member.call("GET", f"/api/rooms/{room}"),
        member.call("GET", f"/api/rooms/{room}/messages"),
        member.call("POST", f"/api/rooms/{room}/messages", {"body": "still here?"}),
    ):
        assert await status(call) == 404
    await gone.send({"type": "send", "room": room, "body": "x", "client_id": "c"})
    assert (await gone.expect("error", client_id="c"))["code"] == "not_found"
    assert all(f.get("type") != "message" for f in gone.backlog)


async def test_an_admin_deletes_anyones_message_a_member_only_their_own(
    new_user: UserFactory,
) -> None:
    room, (owner, admin, member, extra, outsider) = await team(new_user)
    for who in (owner, member, extra):
        await who.call("POST", f"/api/rooms/{room}/messages", {"body": "hi"}, expect=201)
    assert await status(member.call("DELETE", f"/api/rooms/{room}/messages/3")) == 403
    assert await status(outsider.call("DELETE", f"/api/rooms/{room}/messages/3")) == 404
    deleted = await admin.call("DELETE", f"/api/rooms/{room}/messages/1")
    assert deleted["event"]["kind"] == "delete"
    await admin.call("DELETE", f"/api/rooms/{room}/messages/2")
    await extra.call("DELETE", f"/api/rooms/{room}/messages/3")


async def test_the_owner_hands_over_and_two_hand_overs_at_once_leave_one_owner(
    new_user: UserFactory,
) -> None:
    room, (owner, admin, member, extra, outsider) = await team(new_user)
    path = f"/api/rooms/{room}/owner"
    assert await status(admin.call("POST", path, {"user": admin.id})) == 403
    assert await status(member.call("POST", path, {"user": member.id})) == 403
    assert await status(outsider.call("POST", path, {"user": outsider.id})) == 404
    assert await status(owner.call("POST", path, {"user": outsider.id})) == 404
    assert await status(owner.call("POST", path, {"user": 4})) == 422
    sock = await extra.connect()
    results = await asyncio.gather(
        owner.call("POST", path, {"user": member.id}),
        owner.call("POST", path, {"user": extra.id}),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, dict)]
    lost = [r for r in results if isinstance(r, ApiError)]
    assert len(won) == 1 and [e.status for e in lost] == [403]
    roles = (await owner.call("GET", f"/api/rooms/{room}"))["roles"]
    assert list(roles.values()).count("owner") == 1
    assert roles[owner.id] == "admin" and roles == won[0]["roles"]
    assert (await sock.expect("room_updated", room=room))["roles"] == roles


async def test_a_leaving_owner_hands_the_group_to_the_longest_standing_admin_else_member(
    new_user: UserFactory,
) -> None:
    room, (owner, admin, member, extra, _outsider) = await team(new_user)
    watcher = await member.connect()
    await owner.call("DELETE", f"/api/rooms/{room}/members/me", expect=204)
    assert (await watcher.expect("room"))["room"]["roles"] == {admin.id: "owner"}
    assert (await member.call("GET", f"/api/rooms/{room}"))["roles"] == {admin.id: "owner"}
    await admin.call("DELETE", f"/api/rooms/{room}/members/me", expect=204)
    # No admin left: the longest-standing member (both joined at creation; the first listed).
    roles = (await member.call("GET", f"/api/rooms/{room}"))["roles"]
    assert roles == {min(member.id, extra.id, key=int): "owner"}


async def test_the_directory_lists_public_groups_to_search_page_and_join(
    new_user: UserFactory,
) -> None:
    ana, bob = await new_user(), await new_user()
    word = bob.username  # unique per run, so other tests' rooms stay out of the pages
    made = []
    for i in range(3):
        made.append(
            await ana.call(
                "POST",
                "/api/rooms",
                {
                    "kind": "group",
                    "name": f"Lobby {i}",
                    "members": [],
                    "public": True,
                    "topic": f"about {word}",
                },
                expect=201,
            )
        )
    closed = await ana.call(
        "POST",
        "/api/rooms",
        {"kind": "group", "name": f"Secret {word}", "members": []},
        expect=201,
    )
    first = await bob.call("GET", f"/api/rooms/directory?q={word.upper()}&limit=2")
    assert [r["id"] for r in first["rooms"]] == [made[0]["id"], made[1]["id"]]
    assert first["rooms"][0] == {
        "id": made[0]["id"],
        "name": "Lobby 0",
        "topic": f"about {word}",
        "members": 1,
    }
    rest = await bob.call(
        "GET", f"/api/rooms/directory?q={word}&limit=2&cursor={first['next_cursor']}"
    )
    assert [r["id"] for r in rest["rooms"]] == [made[2]["id"]] and rest["next_cursor"] is None
    assert (await bob.call("GET", f"/api/rooms/directory?q={word}%25"))["rooms"] == []
    for bad in ("q=a%00", "limit=0", "limit=51", "cursor=-1"):
        assert await status(bob.call("GET", f"/api/rooms/directory?{bad}")) == 422
    assert await status(bob.call("GET", "/api/rooms/directory", auth=False)) == 401
    sock = await ana.connect()
    joined = await bob.call("POST", f"/api/rooms/{made[0]['id']}/join", expect=201)
    assert bob.id in {m["id"] for m in joined["members"]} and joined["roles"] == {ana.id: "owner"}
    assert bob.id in {m["id"] for m in (await sock.expect("room"))["room"]["members"]}
    await bob.call("POST", f"/api/rooms/{made[0]['id']}/join", expect=200)
    assert await status(bob.call("POST", f"/api/rooms/{closed['id']}/join")) == 403
    assert await status(bob.call("POST", "/api/rooms/999999999/join")) == 404
    direct = (await ana.direct(await new_user()))["id"]
    assert await status(bob.call("POST", f"/api/rooms/{direct}/join")) == 404
    # Made invite-only by an admin: out of the directory, closed to new joins.
    await ana.call("PATCH", f"/api/rooms/{made[1]['id']}", {"public": False})
    listed = await bob.call("GET", f"/api/rooms/directory?q={word}")
    assert [r["id"] for r in listed["rooms"]] == [made[0]["id"], made[2]["id"]]
    assert listed["rooms"][0]["members"] == 2
    assert await status(bob.call("POST", f"/api/rooms/{made[1]['id']}/join")) == 403


async def test_a_hidden_direct_conversation_comes_back_with_its_next_message(
    new_user: UserFactory,
) -> None:
    ana, bob = await new_user(), await new_user()
    room = (await ana.direct(bob))["id"]
    await bob.call("POST", f"/api/rooms/{room}/messages", {"body": "hi"}, expect=201)
    sock = await ana.connect()
    await ana.call("POST", f"/api/rooms/{room}/hide", expect=204)
    assert room not in {r["id"] for r in (await ana.call("GET", "/api/rooms"))["rooms"]}
    assert room in {r["id"] for r in (await bob.call("GET", "/api/rooms"))["rooms"]}
    assert (await ana.call("GET", f"/api/rooms/{room}"))["id"] == room
    await bob.call("POST", f"/api/rooms/{room}/messages", {"body": "back"}, expect=201)
    assert (await sock.messages(room, 1))[0]["body"] == "back"
    assert room in {r["id"] for r in (await ana.call("GET", "/api/rooms"))["rooms"]}
    group = (await ana.group("g", bob))["id"]
    assert await status(ana.call("POST", f"/api/rooms/{group}/hide")) == 422
    outsider = await new_user()
    assert await status(outsider.call("POST", f"/api/rooms/{room}/hide")) == 404
