"""axe-core on every screen and dialog, light and dark: no serious or critical violation."""

from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import PersonFactory
from tests.browser.test_screens import api_user, as_person, post
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser


async def test_sign_in_and_sign_up_screens(server: ServerProcess, people: PersonFactory) -> None:
    person = await people(server.url, "visitor")
    page = person.page
    await page.goto(server.url)
    await expect(page.get_by_role("heading", name="Sign in to Parley")).to_be_visible()
    await assert_accessible(page, "sign-in")
    await page.get_by_role("button", name="Create an account").click()
    await expect(page.get_by_label("Display name")).to_be_visible()
    await assert_accessible(page, "sign-up")


@pytest.mark.parametrize(
    "viewport",
    [{"width": 1280, "height": 800}, {"width": 390, "height": 844}],
    ids=["desktop", "phone"],
)
async def test_room_list_room_view_and_every_dialog(
    server: ServerProcess,
    people: PersonFactory,
    http: aiohttp.ClientSession,
    viewport: dict[str, int],
) -> None:
    ana = await api_user(http, server, "Ana Lima")
    ben = await api_user(http, server, "Ben Okafor")
    group = (await ana.group("Weekend plans", ben))["id"]
    dm = (await ben.direct(ana))["id"]
    await post(ben, dm, "Are we still on for 6pm? https://example.com/plan")
    await post(
        ana,
        group,
        "Hello **everyone**, bring `snacks`\n> quoted\n"
        "```python\n# plan\ndef go(n=1):\n    return 'now'\n```",
    )
    await post(ben, group, "Sure thing")
    # Every state a message can be in: edited, reacted to, replied to, mentioning me, deleted.
    base = f"/api/rooms/{group}/messages"
    await ben.call("PATCH", f"{base}/2", {"body": "Sure thing, **see you**"})
    await ben.call("PUT", f"{base}/1/reactions/👍")
    await ana.call("PUT", f"{base}/1/reactions/👍")
    await ben.call("POST", base, {"body": f"Yes @{ana.username}", "reply_to": 1}, expect=201)
    await ben.call("POST", base, {"body": "oops"}, expect=201)
    await ben.call("DELETE", f"{base}/7")
    person = as_person(await people(server.url, "ana", viewport), ana, "Ana Lima")
    page = person.page
    await person.sign_in()
    await expect(person.unread_badge("Ben Okafor")).to_have_text("1")
    await assert_accessible(page, "room list")

    await person.open_room("Ben Okafor")
    await expect(person.messages).to_have_count(1)
    await assert_accessible(page, "direct room with an unread marker")
    await page.goto(f"{server.url}/r/{group}")
    await expect(person.messages).to_have_count(4)
    await expect(person.messages.get_by_test_id("tombstone")).to_have_count(1)
    await expect(person.page.get_by_test_id("mention-badge")).to_have_count(0)
    await assert_accessible(page, "group room")
    # The actions of a message (hover) and who reacted (focus).
    await person.message("Sure thing").hover()
    await expect(person.page.get_by_role("toolbar", name="Message actions")).to_be_visible()
    await assert_accessible(page, "message actions")
    await person.message("snacks").get_by_test_id("reactions").get_by_role("button").focus()
    await expect(person.message("snacks").get_by_role("tooltip")).to_be_visible()
    await assert_accessible(page, "who reacted")

    dialogs = [
        ("Conversation details", "details"),
        ("Add people", "add people"),
    ]
    for button, where in dialogs:
        await page.get_by_role("button", name=button).click()
        await expect(page.get_by_role("dialog")).to_be_visible()
        await assert_accessible(page, f"{where} dialog")
        await page.keyboard.press("Escape")
        await expect(page.get_by_role("dialog")).to_have_count(0)

    if viewport["width"] < 768:
        await page.get_by_role("button", name="Back to conversations").click()
    for test_id, where in [("new-dm", "new message"), ("new-group", "new group")]:
        await page.get_by_test_id(test_id).click()
        await expect(page.get_by_role("dialog")).to_be_visible()
        await page.get_by_role("dialog").get_by_role("combobox").fill("ben")
        await expect(
            page.get_by_role("dialog").get_by_role("button", name="Ben Okafor")
        ).not_to_have_count(0)
        await assert_accessible(page, f"{where} dialog")
        await page.get_by_role("button", name="Close dialog").click()
        await expect(page.get_by_role("dialog")).to_have_count(0)

    await page.get_by_role("button", name="Settings", exact=True).click()
    await expect(page.get_by_role("heading", name="Settings", level=1)).to_be_focused()
    await assert_accessible(page, "settings page")
