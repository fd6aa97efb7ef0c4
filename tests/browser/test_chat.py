"""End-to-end chat in a real browser: sign-up, direct messages, groups, reloads."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import expect

from tests.browser.conftest import Person, PersonFactory
from tests.support.client import PASSWORD
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser


async def test_two_users_sign_up_and_chat_both_ways_in_real_time(
    server: ServerProcess, people: PersonFactory
) -> None:
    ana: Person = await people(server.url, "ana")
    ben: Person = await people(server.url, "ben")

    await ana.page.goto(server.url)
    await expect(ana.page.get_by_role("heading", name="Sign in to Parley")).to_be_visible()
    await ana.shot("01-sign-in")
    await ana.sign_up("Ana Lima")
    await ben.sign_up("Ben Okafor")
    await ana.shot("02-empty-sidebar")

    await ana.start_direct(ben)
    await ana.send("Hi Ben! The notes are at https://example.com/notes.")

    # Ben is told about the new room and the message live, with an unread badge.
    await expect(ben.unread_badge("Ana Lima")).to_have_text("1")
    await expect(ben.room_link("Ana Lima")).to_contain_text("Hi Ben!")
    await ben.shot("03-sidebar-unread")
    await ben.open_room("Ana Lima")
    await expect(ben.message("Hi Ben!")).to_have_count(1)
    link = ben.message("Hi Ben!").get_by_role("link", name="https://example.com/notes")
    await expect(link).to_have_attribute("href", "https://example.com/notes")
    await expect(link).to_have_attribute("target", "_blank")
    await expect(ben.unread_badge("Ana Lima")).to_have_count(0)

    # Typing indicator on the other side, then the reply arrives in real time.
    await ben.composer.press_sequentially("Thanks")
    await expect(ana.page.get_by_test_id("typing")).to_have_text(re.compile("Ben Okafor is typing"))
    await ana.shot("04-typing")
    await ben.composer.fill("Thanks Ana!\nReading them now.")
    await ben.composer.press("Enter")
    await expect(ben.message("Reading them now.")).to_have_count(1)
    await expect(ana.message("Reading them now.")).to_have_count(1)
    await expect(ana.page.get_by_test_id("typing")).to_have_text("")

    # Shift+Enter makes a new line instead of sending.
    await ana.composer.fill("first line")
    await ana.composer.press("Shift+Enter")
    await ana.composer.press_sequentially("second line")
    await expect(ana.composer).to_have_value("first line\nsecond line")
    await ana.composer.press("Enter")
    await expect(ben.message("second line")).to_have_count(1)
    await expect(ben.message("second line")).to_contain_text("first line")

    # Everyone sees every message exactly once, in the same order.
    expected = ["Hi Ben!", "Reading them now.", "second line"]
    for person in (ana, ben):
        await expect(person.messages).to_have_count(3)
        for i, text in enumerate(expected):
            await expect(person.messages.nth(i)).to_contain_text(text)
        await expect(person.pending).to_have_count(0)
    await ana.shot("05-room-direct")


async def test_a_group_of_three(server: ServerProcess, people: PersonFactory) -> None:
    ana = await (await people(server.url, "ana")).sign_up("Ana Lima")
    ben = await (await people(server.url, "ben")).sign_up("Ben Okafor")
    cy = await (await people(server.url, "cy")).sign_up("Cy Park")
    dee = await (await people(server.url, "dee")).sign_up("Dee Ruiz")

    await ana.create_group("Weekend trip", ben, cy)
    for person in (ben, cy):
        await expect(person.room_link("Weekend trip")).to_be_visible()
        await person.open_room("Weekend trip")

    await ana.send("Who is in for Saturday?")
    await ben.send("Me!")
    await cy.send("Count me in")
    for person in (ana, ben, cy):
        await expect(person.messages).to_have_count(3)
        await expect(person.messages.nth(0)).to_contain_text("Who is in for Saturday?")
        await expect(person.messages.nth(1)).to_contain_text("Me!")
        await expect(person.messages.nth(2)).to_contain_text("Count me in")
    # Grouped by sender: each of the three messages starts a group with its avatar and name.
    await expect(ana.messages.nth(1)).to_contain_text("Ben Okafor")

    # Add a member from the header; the new member gets the room live.
    await ana.page.get_by_role("button", name="Add people").click()
    dialog = ana.page.get_by_role("dialog")
    await dialog.get_by_role("combobox").fill(dee.username)
    await dialog.get_by_role("button", name="Add Dee Ruiz").click()
    await expect(dialog).to_contain_text("Added Dee Ruiz")
    await dialog.get_by_role("button", name="Done").click()
    await expect(dee.room_link("Weekend trip")).to_be_visible()
    await dee.open_room("Weekend trip")
    await expect(dee.messages).to_have_count(3)
    await dee.send("Hi all, thanks for the invite")
    await expect(ben.message("thanks for the invite")).to_have_count(1)
    await ana.shot("06-room-group")

    # Cy leaves the group: it disappears from Cy's sidebar; the others keep chatting.
    await cy.page.get_by_role("button", name="Conversation details").click()
    details = cy.page.get_by_role("dialog")
    await details.get_by_role("button", name="Leave group").click()
    await details.get_by_role("button", name="Leave", exact=True).click()
    await expect(cy.room_link("Weekend trip")).to_have_count(0)
    await ana.send("See you Saturday")
    await expect(ben.message("See you Saturday")).to_have_count(1)
    await expect(ana.page.get_by_test_id("room-header")).to_contain_text("3 members")


async def test_reload_keeps_history_and_unread_counts(
    server: ServerProcess, people: PersonFactory
) -> None:
    ana = await (await people(server.url, "ana")).sign_up("Ana Lima")
    ben = await (await people(server.url, "ben")).sign_up("Ben Okafor")
    cy = await (await people(server.url, "cy")).sign_up("Cy Park")

    await ana.create_group("Book club", ben, cy)
    await ana.send("Chapter 3 for next week")
    await ben.start_direct(ana)
    for i in range(1, 4):
        await ben.send(f"unread note {i}")
    await expect(ana.unread_badge("Ben Okafor")).to_have_text("3")

    # A reload keeps the session, the open room's history and the other room's badge.
    await ana.page.reload()
    await expect(ana.me_name).to_have_text("Ana Lima")
    await expect(ana.room_title).to_have_text("Book club")
    await expect(ana.message("Chapter 3 for next week")).to_have_count(1)
    await expect(ana.unread_badge("Ben Okafor")).to_have_text("3")
    await expect(ana.page).to_have_title("(3) Parley")
    await ana.shot("07-after-reload")

    # Opening the room shows the "new messages" marker at the first unread, then marks read.
    await ana.open_room("Ben Okafor")
    marker = ana.page.locator("[data-unread-marker]")
    await expect(marker).to_have_count(1)
    first_unread = ana.page.get_by_test_id("message-list").locator(
        "[data-unread-marker] + *, [data-key]:has([data-unread-marker]) + [data-key]"
    )
    await expect(first_unread.first).to_contain_text("unread note 1")
    await expect(ana.unread_badge("Ben Okafor")).to_have_count(0)
    await expect(ana.page).to_have_title("Parley")

    # The read marker is stored on the server: after another reload nothing is unread.
    await ana.page.reload()
    await expect(ana.room_title).to_have_text("Ben Okafor")
    await expect(ana.messages).to_have_count(3)
    await ana.open_room("Book club")
    await expect(ana.unread_badge("Ben Okafor")).to_have_count(0)

    # Signing out ends the session for good; signing in brings everything back.
    await ana.page.get_by_role("button", name="Sign out").click()
    await expect(ana.page.get_by_role("heading", name="Sign in to Parley")).to_be_visible()
    await ana.page.reload()
    await expect(ana.page.get_by_role("heading", name="Sign in to Parley")).to_be_visible()
    await ana.sign_in()
    await expect(ana.room_link("Ben Okafor")).to_be_visible()
    await expect(ana.room_link("Book club")).to_be_visible()


async def test_message_bodies_are_text_not_html(
    server: ServerProcess, people: PersonFactory
) -> None:
    ana = await (await people(server.url, "ana")).sign_up("Ana Lima")
    ben = await (await people(server.url, "ben")).sign_up("Ben Okafor")
    await ana.start_direct(ben)
    evil = '<img src=x onerror="window.__pwned=1"> <b>bold</b> javascript:alert(1)'
    await ana.send(evil)
    await ben.open_room("Ana Lima")
    message = ben.message("<b>bold</b>")
    await expect(message).to_have_count(1)
    await expect(message.locator("img, b")).to_have_count(0)
    await expect(message.get_by_role("link")).to_have_count(0)
    assert await ben.page.evaluate("() => window.__pwned === undefined")


async def test_a_rejected_message_shows_failed_with_retry_and_discard(
    server: ServerProcess, people: PersonFactory
) -> None:
    ana = await (await people(server.url, "ana")).sign_up("Ana Lima")
    ben = await (await people(server.url, "ben")).sign_up("Ben Okafor")
    await ana.start_direct(ben)
    # The server refuses control characters: the send comes back as invalid_input.
    await ana.composer.fill("ring the \u0007 bell")
    await ana.composer.press("Enter")
    failed = ana.pending.filter(has_text="ring the")
    await expect(failed).to_have_attribute("data-status", "failed")
    await expect(failed).to_contain_text("Not sent")
    await ana.shot("13-failed-message")
    await failed.get_by_role("button", name="Retry").click()
    await expect(failed).to_have_attribute("data-status", "failed")
    await failed.get_by_role("button", name="Discard unsent message").click()
    await expect(ana.pending).to_have_count(0)
    await ana.send("a fine message")
    await expect(ben.room_link("Ana Lima")).to_contain_text("a fine message")
    await ben.open_room("Ana Lima")
    await expect(ben.messages).to_have_count(1)


async def test_tabs_share_one_session_refresh_safely_and_sign_out_together(
    server: ServerProcess, people: PersonFactory
) -> None:
    ana = await (await people(server.url, "ana")).sign_up("Ana Lima")
    ben = await (await people(server.url, "ben")).sign_up("Ben Okafor")
    await ben.start_direct(ana)
    first = ana.page
    second = await ana.new_page()
    await second.goto(server.url)
    await expect(second.get_by_test_id("me-name")).to_have_text("Ana Lima")

    # Both tabs reload at once: each must refresh its token without replaying the
    # other's (rotated) refresh token, which would revoke the session.
    await asyncio.gather(first.reload(), second.reload())
    for page in (first, second):
        await expect(page.get_by_test_id("me-name")).to_have_text("Ana Lima")
    await first.reload()
    await expect(first.get_by_test_id("me-name")).to_have_text("Ana Lima")

    await ben.send("to both of your tabs")
    for page in (first, second):
        link = page.get_by_role("navigation", name="Conversations").get_by_role(
            "link", name=re.compile("^Ben Okafor")
        )
        await expect(link).to_contain_text("to both of your tabs")

    # Signing out in one tab signs the other out too.
    await second.get_by_role("button", name="Sign out").click()
    for page in (first, second):
        await expect(page.get_by_role("heading", name="Sign in to Parley")).to_be_visible()
    await expect(first.get_by_role("status").filter(has_text="another tab")).to_be_visible()


async def test_a_draft_dies_with_the_session_and_never_reaches_the_next_user(
    server: ServerProcess, people: PersonFactory
) -> None:
    """Ana leaves a draft and signs out; Ben signs in in the same tab and finds nothing of it."""
    ana = await (await people(server.url, "ana")).sign_up("Ana Lima")
    ben = await (await people(server.url, "ben")).sign_up("Ben Okafor")
    await ana.start_direct(ben)
    await ana.send("hello Ben")
    await ana.composer.fill("a draft only Ana may see")
    tab = ana.page
    # Marks this page's JavaScript, to show that no reload wipes the old state below.
    await tab.evaluate("() => { window.__sameApp = true; }")
    await tab.get_by_role("button", name="Sign out").click()
    await expect(tab.get_by_role("heading", name="Sign in to Parley")).to_be_visible()

    # Ben signs in where Ana was, and the same conversation opens.
    await tab.get_by_label("Username").fill(ben.username)
    await tab.get_by_label("Password").fill(PASSWORD)
    await tab.get_by_role("button", name="Sign in", exact=True).click()
    await expect(ana.me_name).to_have_text("Ben Okafor")
    assert await tab.evaluate("() => window.__sameApp === true")
    await ana.open_room("Ana Lima")
    await expect(ana.composer).to_have_value("")

    # Enter on the empty composer sends nothing; a message sent next lands right after
    # Ana's (sends are stored in order), so a draft sent in Ben's name would show between.
    await ana.composer.press("Enter")
    await ana.send("Ben here")
    for person in (ana, ben):
        await person.open_room("Ana Lima")
        await expect(person.messages).to_have_count(2)
        await expect(person.messages.nth(0)).to_contain_text("hello Ben")
        await expect(person.messages.nth(1)).to_contain_text("Ben here")
        await expect(person.pending).to_have_count(0)
