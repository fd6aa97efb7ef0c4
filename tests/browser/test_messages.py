"""What people do with a message in the browser: edit, delete, react, reply, mention, link."""

from __future__ import annotations

import re

import aiohttp
import pytest
from playwright.async_api import Locator, expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import Person, PersonFactory
from tests.browser.test_screens import api_user, as_person, bulk_server, post  # noqa: F401
from tests.support.client import Client
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser


async def action(person: Person, message: Locator, name: str) -> None:
    """Reach a message action by hovering the message, as a mouse user does."""
    await message.hover()
    await (
        message.get_by_role("toolbar", name="Message actions")
        .get_by_role("button", name=name, exact=True)
        .click()
    )


async def pair(server: ServerProcess, people: PersonFactory) -> tuple[Person, Person]:
    ana = await (await people(server.url, "ana")).sign_up("Ana Lima")
    ben = await (await people(server.url, "ben")).sign_up("Ben Okafor")
    await ana.start_direct(ben)
    return ana, ben


async def long_dm(
    http: aiohttp.ClientSession, server: ServerProcess, first: str, count: int
) -> tuple[Client, Client, str]:
    """Ana and Ben (API clients) with a DM whose first message is `first`, then `count` more."""
    ana = await api_user(http, server, "Ana Lima")
    ben = await api_user(http, server, "Ben Okafor")
    dm: str = (await ana.direct(ben))["id"]
    await post(ana, dm, first)
    for i in range(2, count + 2):
        await post(ana if i % 2 else ben, dm, f"later {i:03d}")
    return ana, ben, dm


async def test_edit_and_delete_reach_the_other_side_live(
    server: ServerProcess, people: PersonFactory
) -> None:
    ana, ben = await pair(server, people)
    await ana.send("See you at 6pm, helo")
    await ben.open_room("Ana Lima")
    await expect(ben.message("helo")).to_have_count(1)

    await action(ana, ana.message("helo"), "Edit")
    editor = ana.page.get_by_role("textbox", name="Edit message")
    await expect(editor).to_be_focused()
    await editor.fill("See you at 6pm, hello")
    await editor.press("Enter")
    for person in (ana, ben):
        edited = person.message("See you at 6pm, hello")
        await expect(edited).to_have_count(1)
        await expect(edited.get_by_test_id("edited")).to_have_text("(edited)")
    # Escape leaves an edit without changing anything.
    await action(ana, ana.message("hello"), "Edit")
    await ana.page.get_by_role("textbox", name="Edit message").press("Escape")
    await expect(ana.page.get_by_role("textbox", name="Edit message")).to_have_count(0)

    # Ben cannot edit or delete Ana's message: no such actions on it.
    await ben.message("hello").hover()
    toolbar = ben.message("hello").get_by_role("toolbar", name="Message actions")
    await expect(toolbar.get_by_role("button", name="Reply")).to_be_visible()
    await expect(toolbar.get_by_role("button", name="Edit")).to_have_count(0)

    await action(ana, ana.message("hello"), "Delete")
    dialog = ana.page.get_by_role("dialog", name="Delete message?")
    await assert_accessible(ana.page, "delete dialog")
    await dialog.get_by_role("button", name="Delete").click()
    for person in (ana, ben):
        await expect(person.messages.get_by_test_id("tombstone")).to_have_text(
            "This message was deleted."
        )
        await expect(person.message("hello")).to_have_count(0)
    await expect(ben.room_link("Ana Lima")).to_contain_text("Message deleted")
    # History holds the current state: a reload shows the tombstone, not the text.
    await ben.page.reload()
    await expect(ben.messages.get_by_test_id("tombstone")).to_have_count(1)


async def test_reactions_counts_who_and_the_emoji_picker(
    server: ServerProcess, people: PersonFactory
) -> None:
    ana, ben = await pair(server, people)
    await ana.send("Shipped the release")
    await ben.open_room("Ana Lima")
    await action(ben, ben.message("Shipped"), "React with 👍")
    await action(ana, ana.message("Shipped"), "React with 👍")
    for person in (ana, ben):
        chip = person.message("Shipped").get_by_test_id("reactions").get_by_role("button")
        await expect(chip).to_have_count(1)
        await expect(chip).to_contain_text("👍2")
    # Who reacted: on focus (keyboard) as well as on hover.
    chip = ben.message("Shipped").get_by_test_id("reactions").get_by_role("button").first
    await chip.focus()
    tooltip = ben.message("Shipped").get_by_role("tooltip")
    await expect(tooltip).to_be_visible()
    await expect(tooltip).to_contain_text("Ana Lima")
    await expect(chip).to_have_attribute("aria-pressed", "true")
    # Pressing my own reaction takes it back, live on the other side.
    await chip.click()
    await expect(
        ana.message("Shipped").get_by_test_id("reactions").get_by_role("button")
    ).to_contain_text("👍1")

    # The picker: searchable and keyboard-driven, its data served by the app.
    await action(ben, ben.message("Shipped"), "React")
    dialog = ben.page.get_by_role("dialog", name="Add a reaction")
    search = dialog.get_by_role("searchbox", name="Search emoji")
    await search.fill("party popper")
    await expect(dialog.get_by_role("gridcell", name="Party popper")).to_be_visible()
    await assert_accessible(ben.page, "emoji picker")
    await search.press("ArrowDown")
    await ben.page.keyboard.press("Enter")
    await expect(dialog).to_have_count(0)
    for person in (ana, ben):
        await expect(person.message("Shipped").get_by_test_id("reactions")).to_contain_text("🎉1")


async def test_reply_quotes_the_original_and_jumps_to_it_far_back(
    bulk_server: ServerProcess,  # noqa: F811 - the fixture imported above
    people: PersonFactory,
    http: aiohttp.ClientSession,
) -> None:
    _, ben, dm = await long_dm(http, bulk_server, "The very first plan", 129)
    await ben.call(
        "POST", f"/api/rooms/{dm}/messages", {"body": "Agreed with that", "reply_to": 1}, expect=201
    )
    person = as_person(await people(bulk_server.url, "ben"), ben, "Ben Okafor")
    await person.sign_in()
    await person.open_room("Ana Lima")
    reply = person.message("Agreed with that")
    quote = reply.get_by_test_id("reply-quote")
    await expect(quote).to_contain_text("The very first plan")
    # The original itself (not the quote of it) is not loaded yet.
    first = person.message("The very first plan").filter(
        has_not=person.page.get_by_test_id("reply-quote")
    )
    await expect(first).to_have_count(0)
    await quote.click()
    await expect(first).to_be_in_viewport()
    await expect(first).to_have_attribute("data-highlighted", "true")

    # Reply from the UI: the composer says to what, the sent message quotes it.
    await action(person, person.message("later 010"), "Reply")
    await expect(person.page.get_by_test_id("replying-to")).to_contain_text("later 010")
    await person.composer.fill("Answering ten")
    await person.composer.press("Enter")
    answered = person.message("Answering ten")
    await expect(answered).to_have_count(1)
    await expect(answered.get_by_test_id("reply-quote")).to_contain_text("later 010")
    await expect(person.page.get_by_test_id("replying-to")).to_have_count(0)


async def test_mention_autocomplete_highlight_and_badge(
    server: ServerProcess, people: PersonFactory
) -> None:
    ana = await (await people(server.url, "ana")).sign_up("Ana Lima")
    ben = await (await people(server.url, "ben")).sign_up("Ben Okafor")
    cy = await (await people(server.url, "cy")).sign_up("Cy Park")
    await ana.create_group("Planning", ben, cy)
    await ana.send("Kick-off")
    await ana.composer.fill("Can you check this @" + ben.username[:4])
    options = ana.page.get_by_role("listbox", name="People to mention").get_by_role("option")
    await expect(options.filter(has_text="Ben Okafor")).to_have_count(1)
    await assert_accessible(ana.page, "mention suggestions")
    await ana.composer.press("Enter")  # picks the suggestion, does not send
    await expect(ana.composer).to_have_value(f"Can you check this @{ben.username} ")
    await ana.composer.press("Enter")
    await expect(ana.message("Can you check this")).to_have_count(1)

    # Ben is mentioned: a mention badge apart from the unread count; Cy only has unread.
    await expect(ben.room_link("Planning").get_by_test_id("mention-badge")).to_have_text("@1")
    await expect(ben.unread_badge("Planning")).to_have_text("2")
    await expect(cy.unread_badge("Planning")).to_have_text("2")
    await expect(cy.room_link("Planning").get_by_test_id("mention-badge")).to_have_count(0)
    await ben.open_room("Planning")
    mentioned = ben.message("Can you check this")
    await expect(mentioned).to_have_attribute("data-mentions-me", "true")
    await expect(mentioned.locator("[data-mention='me']")).to_have_text(f"@{ben.username}")
    await cy.open_room("Planning")
    await expect(cy.message("Can you check this").locator("[data-mention='other']")).to_have_count(
        1
    )
    await expect(ben.room_link("Planning").get_by_test_id("mention-badge")).to_have_count(0)


async def test_copy_link_and_open_it_at_the_message(
    bulk_server: ServerProcess,  # noqa: F811 - the fixture imported above
    people: PersonFactory,
    http: aiohttp.ClientSession,
) -> None:
    ana, ben, dm = await long_dm(http, bulk_server, "Remember this one", 119)
    person = as_person(await people(bulk_server.url, "ana"), ana, "Ana Lima")
    await person.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=bulk_server.url
    )
    await person.sign_in()
    await person.open_room("Ben Okafor")
    await action(person, person.message("later 120"), "Copy link")
    await expect(person.page.get_by_role("alert")).to_contain_text("Link copied")
    link = await person.page.evaluate("() => navigator.clipboard.readText()")
    assert re.fullmatch(rf"{re.escape(bulk_server.url)}/rooms/{dm}/messages/\d+", link), link

    # Someone opens a link to the first message, far before the latest page.
    reader = as_person(await people(bulk_server.url, "ben"), ben, "Ben Okafor")
    await reader.sign_in()
    await reader.page.goto(f"{bulk_server.url}/rooms/{dm}/messages/1")
    await expect(reader.room_title).to_have_text("Ana Lima")
    first = reader.message("Remember this one")
    await expect(first).to_be_in_viewport()
    await expect(first).to_have_attribute("data-highlighted", "true")
    # The copied link opens its message too.
    await reader.page.goto(link)
    await expect(reader.message("later 120")).to_have_attribute("data-highlighted", "true")


async def test_changes_made_offline_are_sent_once_when_back(
    server: ServerProcess, people: PersonFactory
) -> None:
    ana, ben = await pair(server, people)
    await ana.send("Offline check, typo")
    await ben.open_room("Ana Lima")
    await expect(ben.message("typo")).to_have_count(1)
    await ana.context.set_offline(True)
    await expect(ana.banner).to_have_attribute("data-status", "offline")
    await action(ana, ana.message("typo"), "React with 👍")
    await action(ana, ana.message("typo"), "Edit")
    editor = ana.page.get_by_role("textbox", name="Edit message")
    await editor.fill("Offline check, fixed")
    await editor.press("Enter")
    await expect(ben.message("fixed")).to_have_count(0)
    await ana.context.set_offline(False)
    for person in (ana, ben):
        message = person.message("Offline check, fixed")
        await expect(message.get_by_test_id("edited")).to_have_count(1)
        await expect(message.get_by_test_id("reactions").get_by_role("button")).to_have_text(
            re.compile(r"^👍\s*1")
        )
    # Once each: a reload shows one reaction by one person and one edit.
    await ben.page.reload()
    chip = ben.message("Offline check, fixed").get_by_test_id("reactions").get_by_role("button")
    await expect(chip).to_have_text(re.compile(r"^👍\s*1"))


async def test_on_a_touch_phone_a_long_press_shows_the_actions(
    server: ServerProcess, people: PersonFactory, http: aiohttp.ClientSession
) -> None:
    ana = await api_user(http, server, "Ana Lima")
    ben = await api_user(http, server, "Ben Okafor")
    dm = (await ben.direct(ana))["id"]
    await post(ben, dm, "First of two")
    await post(ben, dm, "Second of two")
    phone = {"width": 390, "height": 844}
    person = as_person(await people(server.url, "ana", phone, touch=True), ana, "Ana Lima")
    await person.sign_in()
    await person.open_room("Ben Okafor")
    page = person.page
    assert await page.evaluate("() => matchMedia('(pointer: coarse)').matches")
    # A follow-up message's time is shown without hovering, which touch cannot do.
    await expect(person.message("Second of two").locator("time")).to_be_visible()
    await expect(person.message("Second of two").locator("time")).to_have_css("opacity", "1")
    # Controls are a finger's size.
    back = page.get_by_role("button", name="Back to conversations")
    box = await back.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 44, box

    message = person.message("Second of two")
    toolbar = message.get_by_role("toolbar", name="Message actions")
    await expect(toolbar).to_be_hidden()
    target = await message.bounding_box()
    assert target is not None
    x, y = target["x"] + target["width"] / 2, target["y"] + target["height"] / 2
    cdp = await person.context.new_cdp_session(page)
    await cdp.send(
        "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]}
    )
    await expect(toolbar).to_be_visible()  # while the finger is still down
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    await toolbar.get_by_role("button", name="React with 👍").tap()
    await expect(message.get_by_test_id("reactions")).to_contain_text("👍1")


async def test_a_groups_owner_deletes_a_members_message_and_a_member_cannot(
    server: ServerProcess, people: PersonFactory
) -> None:
    ana = await (await people(server.url, "ana")).sign_up("Ana Lima")
    ben = await (await people(server.url, "ben")).sign_up("Ben Okafor")
    await ana.create_group("Launch", ben)  # ana created it: she owns it
    await ben.open_room("Launch")
    await ben.send("an off-topic remark")
    await ana.send("the plan")
    await expect(ana.message("off-topic")).to_have_count(1)

    # Ben may not delete Ana's message, nor edit it.
    await ben.message("the plan").hover()
    toolbar = ben.message("the plan").get_by_role("toolbar", name="Message actions")
    await expect(toolbar.get_by_role("button", name="Reply")).to_be_visible()
    await expect(toolbar.get_by_role("button", name="Delete")).to_have_count(0)

    # Ana may delete Ben's message (but not edit it).
    await ana.message("off-topic").hover()
    toolbar = ana.message("off-topic").get_by_role("toolbar", name="Message actions")
    await expect(toolbar.get_by_role("button", name="Edit")).to_have_count(0)
    await action(ana, ana.message("off-topic"), "Delete")
    await (
        ana.page.get_by_role("dialog", name="Delete message?")
        .get_by_role("button", name="Delete")
        .click()
    )
    for person in (ana, ben):
        await expect(person.messages.get_by_test_id("tombstone")).to_have_count(1)
        await expect(person.message("off-topic")).to_have_count(0)
        await expect(person.message("the plan")).to_have_count(1)
