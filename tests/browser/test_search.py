"""Search and the quick switcher in the browser: keyboard only, axe-checked light and dark."""

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


async def test_search_opens_the_conversation_at_the_message(
    bulk_server: ServerProcess,  # noqa: F811
    people: PersonFactory,
    http: aiohttp.ClientSession,
) -> None:
    ana = await api_user(http, bulk_server, "Ana Lima")
    ben = await api_user(http, bulk_server, "Ben Okafor")
    cyd = await api_user(http, bulk_server, "Cyd Park")
    group = (await ana.group("Launch", ben))["id"]
    await post(ben, group, "the <b>marmalade</b> plan is ready")
    for i in range(120):  # the hit is far above the latest page
        await post(ana if i % 2 else ben, group, f"filler {i:03d}")
    left = (await cyd.group("Old team", ana))["id"]
    await post(cyd, left, "marmalade in a room Ana left")
    await ana.call("DELETE", f"/api/rooms/{left}/members/me", expect=204)
    other = (await cyd.group("Not Ana's", ben))["id"]
    await post(cyd, other, "marmalade where Ana never was")

    person = as_person(await people(bulk_server.url, "ana"), ana, "Ana Lima")
    page = person.page
    await person.sign_in()
    await page.get_by_role("button", name="Search messages").click()
    dialog = page.get_by_role("dialog", name="Search messages")
    field = dialog.get_by_role("searchbox", name="Search messages")
    await expect(field).to_be_focused()
    await field.fill("marmalade")
    await field.press("Enter")
    results = dialog.get_by_role("list", name="Search results").get_by_role("link")
    await expect(results).to_have_count(1)
    # The body's text, markup characters included, with the hit marked and nothing rendered.
    await expect(results.first).to_contain_text("the <b>marmalade</b> plan is ready")
    await expect(results.first.locator("mark")).to_have_text("marmalade")
    await expect(results.first.locator("b")).to_have_count(0)
    await assert_accessible(page, "search results")

    # A date filter that leaves nothing, then back to any date.
    await dialog.get_by_label("Before").fill("2000-01-01")
    await field.press("Enter")
    await expect(dialog.get_by_text("No messages found.")).to_be_visible()
    await dialog.get_by_label("Before").fill("")
    await field.press("Enter")
    await expect(results).to_have_count(1)

    await results.first.focus()
    await page.keyboard.press("Enter")
    await expect(dialog).to_have_count(0)
    await expect(page).to_have_url(re.compile(rf"/rooms/{group}/messages/1$"))
    await expect(person.room_title).to_have_text("Launch")
    await expect(person.message("marmalade")).to_have_attribute("data-highlighted", "true")


async def test_quick_switcher_and_room_keys(
    server: ServerProcess, people: PersonFactory, http: aiohttp.ClientSession
) -> None:
    ana = await api_user(http, server, "Ana Lima")
    ben = await api_user(http, server, "Ben Okafor")
    cyd = await api_user(http, server, "Cyd Park")
    weekend = (await ana.group("Weekend plans", ben))["id"]
    await post(ana, weekend, "first")
    ops = (await ana.group("Ops", ben))["id"]
    await post(ana, ops, "second")
    person = as_person(await people(server.url, "ana"), ana, "Ana Lima")
    page = person.page
    await person.sign_in()
    await person.open_room("Ops")

    await page.keyboard.press("Control+k")
    dialog = page.get_by_role("dialog", name="Jump to")
    box = dialog.get_by_role("combobox", name="Conversation or person")
    await expect(box).to_be_focused()
    await box.fill("week")
    options = dialog.get_by_role("option")
    await expect(options).to_have_count(1)
    await expect(options.first).to_have_attribute("aria-selected", "true")
    await assert_accessible(page, "quick switcher")
    await box.press("Enter")
    await expect(person.room_title).to_have_text("Weekend plans")

    # A person with no conversation yet: Enter starts one.
    await page.keyboard.press("Control+k")
    await box.fill(cyd.username)
    person_option = dialog.get_by_role("option", name=re.compile("Cyd Park"))
    await expect(person_option).to_have_count(1)
    await box.press("ArrowDown")  # wraps around a one-item list: still Cyd
    await expect(person_option).to_have_attribute("aria-selected", "true")
    await box.press("Enter")
    await expect(person.room_title).to_have_text("Cyd Park")

    # Alt+↑/↓ walk the list (newest activity first: Cyd Park, Ops, Weekend plans).
    await person.composer.focus()
    await page.keyboard.press("Alt+ArrowDown")
    await expect(person.room_title).to_have_text("Ops")
    await page.keyboard.press("Alt+ArrowDown")
    await expect(person.room_title).to_have_text("Weekend plans")
    await page.keyboard.press("Alt+ArrowUp")
    await expect(person.room_title).to_have_text("Ops")
    # Alt+Shift+↓: the next conversation with unread messages.
    await post(ben, weekend, "news for Ana")
    await expect(person.unread_badge("Weekend plans")).to_have_text("1")
    await page.keyboard.press("Alt+Shift+ArrowDown")
    await expect(person.room_title).to_have_text("Weekend plans")
