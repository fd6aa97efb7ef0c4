"""Scoped events in the browser (issue 15): "seen by" fetched on demand under my last
message in a group, typing still shown in a small group, and a read in one tab clearing
the unread badge in another (read markers travel to the reader's own sessions)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import PersonFactory
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser


async def test_seen_by_typing_and_a_read_across_tabs(
    server: ServerProcess, people: PersonFactory
) -> None:
    ana = await (await people(server.url, "ana")).sign_up("Ana Lima")
    ben = await (await people(server.url, "ben")).sign_up("Ben Okafor")
    cy = await (await people(server.url, "cy")).sign_up("Cy Park")

    await ana.create_group("Seen test", ben, cy)
    await ana.send("Did everyone get the plan?")
    seen_by = ana.page.get_by_test_id("seen-by")
    await expect(seen_by).to_have_count(1)  # under my own last message

    # Typing is still shown in a small group.
    await expect(ben.room_link("Seen test")).to_be_visible()
    await ben.open_room("Seen test")
    await ben.composer.press_sequentially("Got")
    await expect(ana.page.get_by_test_id("typing")).to_have_text(re.compile("Ben Okafor is typing"))

    # Ben opened the room, so his marker moved; Ana asks who has seen it.
    await expect(ben.unread_badge("Seen test")).to_have_count(0)
    button = seen_by.get_by_role("button", name="Seen by…")
    await expect(button).to_have_attribute("aria-expanded", "false")
    await button.click()
    await expect(button).to_have_attribute("aria-expanded", "true")
    await expect(seen_by.get_by_role("status")).to_have_text(re.compile("^Seen by Ben Okafor$"))
    await assert_accessible(ana.page, "seen by")
    await ana.page.keyboard.press("Escape")
    await expect(seen_by.get_by_role("status")).to_have_count(0)

    # A message from someone else: the seen-by line moves off Ana's last message.
    await ben.send("Got it")
    await expect(ana.message("Got it")).to_have_count(1)
    await expect(seen_by).to_have_count(0)

    # Cy has two tabs on the room list; a read in one clears the badge in both.
    first = cy.page
    await expect(cy.unread_badge("Seen test")).to_have_text("2")
    second = await cy.new_page()
    await second.goto(server.url)
    badge = (
        second.get_by_role("navigation", name="Conversations")
        .get_by_role("link", name=re.compile("^Seen test"))
        .get_by_test_id("unread-badge")
    )
    await expect(badge).to_have_text("2")
    await cy.open_room("Seen test")  # in the second tab, now cy.page
    await expect(cy.messages).to_have_count(2)
    first_badge = (
        first.get_by_role("navigation", name="Conversations")
        .get_by_role("link", name=re.compile("^Seen test"))
        .get_by_test_id("unread-badge")
    )
    await expect(first_badge).to_have_count(0)
