"""The settings page: reached from the account menu by keyboard, the theme applied at once
and remembered (this device and the server), 12/24-hour times on messages, a new display
name seen live by someone else, "last seen" once they leave; the notification preferences
(e-mail, each conversation's level) kept across a reload and honoured by the server;
axe-core in light and dark."""

from __future__ import annotations

import re

import aiohttp
import pytest
from playwright.async_api import Page, expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import PersonFactory
from tests.browser.test_screens import api_user, as_person, post
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser

IS_DARK = "() => document.documentElement.classList.contains('dark')"
DARK = re.compile(r"\bdark\b")


async def open_settings_by_keyboard(page: Page) -> None:
    await page.get_by_role("button", name="Settings", exact=True).focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Settings", level=1)).to_be_focused()


async def test_settings_page_theme_time_and_display_name(
    server: ServerProcess, people: PersonFactory
) -> None:
    ana = await (await people(server.url, "ana")).sign_up("Ana Lima")
    ben = await (await people(server.url, "ben")).sign_up("Ben Okafor")
    await ben.start_direct(ana)
    await ben.send("what time is it")
    await ana.open_room("Ben Okafor")
    stamp = ana.message("what time is it").locator("time").first
    page = ana.page

    await open_settings_by_keyboard(page)
    await assert_accessible(page, "settings page")  # theme "As the system": light, then dark
    await page.get_by_role("radio", name="Dark").check()
    assert await page.evaluate(IS_DARK)
    await assert_accessible(page, "settings page, dark theme")
    await page.get_by_role("radio", name=re.compile("^24-hour")).check()
    await page.reload()
    await expect(page.get_by_role("radio", name="Dark")).to_be_checked()
    assert await page.evaluate(IS_DARK)  # painted from this device's copy, then the server's
    await page.evaluate("() => localStorage.removeItem('parley.settings')")
    await page.reload()
    await expect(page.get_by_role("radio", name=re.compile("^24-hour"))).to_be_checked()
    await expect(page.locator("html")).to_have_class(DARK)  # the server's copy

    await page.get_by_role("button", name="Back to conversations").click()
    await ana.open_room("Ben Okafor")
    await expect(stamp).to_have_text(re.compile(r"^\d{2}:\d{2}$"))
    await page.get_by_role("button", name="Settings", exact=True).click()
    await page.get_by_role("radio", name=re.compile("^12-hour")).check()
    await page.get_by_role("button", name="Back to conversations").click()
    await ana.open_room("Ben Okafor")
    await expect(stamp).to_have_text(re.compile(r"^\d{1,2}:\d{2}\s(AM|PM)$"))

    await page.get_by_role("button", name="Settings", exact=True).click()
    name = page.get_by_label("Display name")
    await name.fill("Ana Renamed")
    await page.get_by_role("button", name="Save name").click()
    profile = page.get_by_role("region", name="Profile")
    await expect(profile.get_by_role("status")).to_have_text("Display name saved.")
    await expect(ben.room_title).to_have_text("Ana Renamed")  # live, no reload
    await page.get_by_role("button", name="Back to conversations").click()
    await expect(ana.me_name).to_have_text("Ana Renamed")

    await ana.context.close()
    await expect(ben.page.get_by_test_id("peer-status")).to_have_text("last seen just now")


async def test_notification_preferences_are_kept_and_honoured(
    server: ServerProcess, people: PersonFactory, http: aiohttp.ClientSession
) -> None:
    ana = await api_user(http, server, "Ana Lima")
    ben = await api_user(http, server, "Ben Okafor")
    garden = (await ben.group("Garden", ana))["id"]
    direct = (await ben.direct(ana))["id"]
    person = as_person(await people(server.url, "ana"), ana, "Ana Lima")
    page = person.page
    await person.sign_in()

    await open_settings_by_keyboard(page)
    section = page.get_by_role("region", name="Notifications")
    email = section.get_by_role("form", name="E-mail notifications")
    await email.get_by_label("E-mail address").fill("ana@example.org")
    await email.get_by_label("E-mail me").select_option("digest")
    await email.get_by_label("At most every (minutes)").fill("30")
    await email.get_by_role("button", name="Save e-mail settings").click()
    await expect(email.get_by_role("status")).to_have_text("E-mail settings saved.")
    level = section.get_by_role("combobox", name="Notifications from #Garden")
    with_ben = section.get_by_role("combobox", name="Notifications from Ben Okafor")
    await expect(with_ben).to_have_value("all")
    async with page.expect_response(
        lambda r: r.url.endswith(f"/api/rooms/{garden}/notification-settings")
    ) as answered:
        await level.select_option("nothing")
    assert (await answered.value).ok
    await assert_accessible(page, "settings page, notifications")

    await page.reload()
    await expect(email.get_by_label("E-mail address")).to_have_value("ana@example.org")
    await expect(email.get_by_label("E-mail me")).to_have_value("digest")
    await expect(email.get_by_label("At most every (minutes)")).to_have_value("30")
    await expect(level).to_have_value("nothing")
    assert await ana.call("GET", "/api/me/notification-settings") == {
        "email": "ana@example.org",
        "email_mode": "digest",
        "digest_minutes": 30,
        "rooms": {garden: "nothing"},
    }

    # The server honours it: a mention in the muted room notifies nobody, a direct message
    # does (no conversation is open, so none is being read).
    await page.get_by_role("button", name="Back to conversations").click()
    await post(ben, garden, f"@{ana.username} the roses are out")
    await post(ben, direct, "just to you")
    await expect(page.get_by_test_id("notifications-badge")).to_have_text("1")
    inbox = await ana.call("GET", "/api/notifications")
    assert [(n["room"], n["reason"]) for n in inbox["notifications"]] == [(direct, "direct")]

    # The room's own mute button shows and changes the same level.
    await person.open_room("Garden")
    mute = page.get_by_test_id("room-mute")
    await expect(mute).to_have_attribute("aria-pressed", "true")
    await mute.click()
    await expect(mute).to_have_attribute("aria-pressed", "false")
    await page.get_by_role("button", name="Settings", exact=True).click()
    await expect(level).to_have_value("all")
    assert (await ana.call("GET", "/api/me/notification-settings"))["rooms"] == {garden: "all"}

    # Garden was open before the settings page; it is not any more, so a mention notifies.
    await post(ben, garden, f"@{ana.username} the tulips too")
    await page.get_by_role("button", name="Back to conversations").click()
    await expect(page.get_by_test_id("notifications-badge")).to_have_text("2")
