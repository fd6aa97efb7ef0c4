"""Running a group in the browser: settings seen live, roles, removing a member who is told
`left`, the directory of public rooms, hiding a direct conversation until its next message.
Each screen is axe-checked light and dark."""

from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import PersonFactory
from tests.browser.test_screens import api_user, as_person, post
from tests.support.client import unique_name
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser


async def test_the_owner_renames_sets_a_topic_promotes_and_removes_a_member(
    server: ServerProcess, people: PersonFactory, http: aiohttp.ClientSession
) -> None:
    ana = await api_user(http, server, "Ana Lima")
    ben = await api_user(http, server, "Ben Okafor")
    cyd = await api_user(http, server, "Cyd Park")
    name = unique_name("Crew")
    await ana.group(name, ben, cyd)
    owner = as_person(await people(server.url, "ana"), ana, "Ana Lima")
    member = as_person(await people(server.url, "ben"), ben, "Ben Okafor")
    await owner.sign_in()
    await member.sign_in()
    await member.open_room(name)
    # A plain member is offered no way to change the group.
    await member.page.get_by_test_id("room-header").click()
    details = member.page.get_by_role("dialog")
    await expect(details.get_by_text("Invite-only.")).to_be_visible()
    await expect(details.get_by_role("button", name="Save settings")).to_have_count(0)
    await expect(details.get_by_role("button", name="Remove Cyd Park")).to_have_count(0)
    await details.get_by_role("button", name="Close dialog").click()

    await owner.open_room(name)
    await owner.page.get_by_test_id("room-header").click()
    dialog = owner.page.get_by_role("dialog")
    await dialog.get_by_label("Name").fill(f"{name} HQ")
    await dialog.get_by_label("Topic").fill("Ship on Friday")
    await dialog.get_by_role("button", name="Save settings").click()
    await expect(dialog.get_by_text("Saved.")).to_be_visible()
    # Live for the member: the new name in the sidebar and the header, the topic under it.
    await expect(member.room_title).to_have_text(f"{name} HQ")
    await expect(member.page.get_by_test_id("room-header")).to_contain_text("Ship on Friday")

    await dialog.get_by_role("button", name="Make admin: Cyd Park").click()
    cyd_row = dialog.get_by_role("listitem").filter(has_text="@" + cyd.username)
    await expect(cyd_row.get_by_text("Admin", exact=True)).to_be_visible()
    await assert_accessible(owner.page, "group settings")

    await dialog.get_by_role("button", name="Remove Ben Okafor").click()
    await expect(dialog.get_by_text("Remove Ben Okafor?")).to_be_visible()
    await dialog.get_by_role("button", name="Remove", exact=True).click()
    await expect(dialog.get_by_role("button", name="Remove Ben Okafor")).to_have_count(0)
    # Ben's client hears `left`: the room leaves his sidebar and his screen.
    await expect(member.room_link(f"{name} HQ")).to_have_count(0)
    await expect(member.room_title).to_have_count(0)


async def test_browse_rooms_joins_a_public_group(
    server: ServerProcess, people: PersonFactory, http: aiohttp.ClientSession
) -> None:
    ana = await api_user(http, server, "Ana Lima")
    cyd = await api_user(http, server, "Cyd Park")
    name = unique_name("Lobby")
    await cyd.call(
        "POST",
        "/api/rooms",
        {"kind": "group", "name": name, "members": [], "public": True, "topic": "Say hi"},
        expect=201,
    )
    await cyd.call("POST", "/api/rooms", {"kind": "group", "name": f"{name} closed", "members": []})
    person = as_person(await people(server.url, "ana"), ana, "Ana Lima")
    await person.sign_in()
    page = person.page
    await page.get_by_role("button", name="Browse rooms").click()
    dialog = page.get_by_role("dialog", name="Browse rooms")
    await dialog.get_by_role("searchbox", name="Search rooms").fill(name)
    listed = dialog.get_by_role("list", name="Public rooms").get_by_role("listitem")
    await expect(listed).to_have_count(1)
    await expect(listed.first).to_contain_text("1 member · Say hi")
    await assert_accessible(page, "room directory")
    await listed.first.get_by_role("button", name=f"Join {name}").click()
    await expect(person.room_title).to_have_text(name)
    await expect(person.room_link(name)).to_have_count(1)
    await expect(page.get_by_test_id("room-header")).to_contain_text("2 members")


async def test_a_hidden_direct_conversation_comes_back_with_a_new_message(
    server: ServerProcess, people: PersonFactory, http: aiohttp.ClientSession
) -> None:
    ana = await api_user(http, server, "Ana Lima")
    ben = await api_user(http, server, "Ben Okafor")
    room = (await ben.direct(ana))["id"]
    await post(ben, room, "first")
    person = as_person(await people(server.url, "ana"), ana, "Ana Lima")
    await person.sign_in()
    await person.open_room("Ben Okafor")
    await person.page.get_by_test_id("room-header").click()
    await person.page.get_by_role("dialog").get_by_role("button", name="Hide conversation").click()
    await expect(person.room_link("Ben Okafor")).to_have_count(0)
    await post(ben, room, "back again")
    await expect(person.room_link("Ben Okafor")).to_contain_text("back again")
    # After a reload too: the server lists it again.
    await person.page.reload()
    await expect(person.room_link("Ben Okafor")).to_have_count(1)
