"""Notifications in the browser: the bell's badge on a mention, the panel that opens the
message, marking read, and muting a room; axe-checked."""

from __future__ import annotations

import re

import aiohttp
import pytest
from playwright.async_api import expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import PersonFactory
from tests.browser.test_screens import api_user, as_person, bulk_server, post  # noqa: F401
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser


async def test_bell_badge_panel_and_mute(
    bulk_server: ServerProcess,  # noqa: F811
    people: PersonFactory,
    http: aiohttp.ClientSession,
) -> None:
    ana = await api_user(http, bulk_server, "Ana Lima")
    ben = await api_user(http, bulk_server, "Ben Okafor")
    group = (await ben.group("Garden", ana))["id"]
    quiet = (await ben.group("Quiet", ana))["id"]

    person = as_person(await people(bulk_server.url, "ana"), ana, "Ana Lima")
    page = person.page
    await person.sign_in()
    bell = page.get_by_test_id("notifications-bell")
    await expect(bell).to_have_accessible_name("Notifications")

    await post(ben, group, f"@{ana.username} the <i>roses</i> are out")
    await expect(page.get_by_test_id("notifications-badge")).to_have_text("1")
    await expect(bell).to_have_accessible_name("Notifications, 1 unread")

    await bell.click()
    dialog = page.get_by_role("dialog", name="Notifications")
    items = dialog.get_by_role("list", name="Notifications").get_by_role("link")
    await expect(items).to_have_count(1)
    await expect(items.first).to_contain_text("Ben Okafor mentioned you in #Garden")
    await expect(items.first).to_contain_text("the <i>roses</i> are out")
    await assert_accessible(page, "notifications panel")
    await items.first.click()
    await expect(dialog).to_have_count(0)
    await expect(page).to_have_url(re.compile(rf"/rooms/{group}/messages/1$"))
    await expect(person.room_title).to_have_text("Garden")
    await expect(page.get_by_test_id("notifications-badge")).to_have_count(0)

    # Mute "Quiet", then show "Garden": a mention in Quiet notifies nobody, a direct message does.
    await person.open_room("Quiet")
    await expect(person.room_title).to_have_text("Quiet")
    mute = page.get_by_test_id("room-mute")
    await mute.click()
    await expect(mute).to_have_attribute("aria-pressed", "true")
    await person.open_room("Garden")
    await expect(person.room_title).to_have_text("Garden")
    await post(ben, quiet, f"@{ana.username} muted news")
    direct = (await ben.direct(ana))["id"]
    await post(ben, direct, "just to you")
    await expect(page.get_by_test_id("notifications-badge")).to_have_text("1")
    await bell.click()
    await expect(items).to_have_count(2)
    await expect(items.first).to_contain_text("Ben Okafor sent you a message")
    await dialog.get_by_role("button", name="Mark all read").click()
    await expect(page.get_by_test_id("notifications-badge")).to_have_count(0)
