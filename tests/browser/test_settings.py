"""The settings page: reached from the account menu by keyboard, the theme applied at once
and remembered (this device and the server), 12/24-hour times on messages, a new display
name seen live by someone else, "last seen" once they leave, axe-core in light and dark."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import PersonFactory
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
