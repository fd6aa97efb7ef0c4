"""Layouts, accessibility, notifications and history paging; screenshots of the main screens."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import expect

from tests.browser.conftest import ROOT, Person, PersonFactory, artifact
from tests.support.client import PASSWORD, Client, unique_name
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser

DOCS_SCREENSHOT = ROOT / "docs" / "screenshot-room.png"

# Records notifications and lets a test hide the tab (headless pages are always visible).
FAKE_NOTIFICATIONS = """(() => {
  window.__notes = [];
  let permission = 'default';
  class FakeNotification {
    static get permission() { return permission; }
    static requestPermission() {
      permission = 'granted';
      return Promise.resolve(permission);
    }
    constructor(title, options) { window.__notes.push({ title, body: options.body }); }
    close() {}
  }
  window.Notification = FakeNotification;
  let hidden = false;
  Object.defineProperty(document, 'visibilityState', {
    get: () => (hidden ? 'hidden' : 'visible'),
  });
  window.__setHidden = (h) => {
    hidden = h;
    document.dispatchEvent(new Event('visibilitychange'));
  };
})()"""


async def api_user(
    http: aiohttp.ClientSession, server: ServerProcess, display: str, username: str | None = None
) -> Client:
    client = Client(http, server.url)
    client.password = PASSWORD
    username = username or unique_name(display.split()[0].lower())
    session = await client.call(
        "POST",
        "/api/auth/register",
        {"username": username, "password": PASSWORD, "display_name": display},
        auth=False,
        expect=201,
    )
    client._adopt(session)
    return client


async def post(client: Client, room: str, body: str) -> None:
    await client.call("POST", f"/api/rooms/{room}/messages", {"body": body}, expect=201)


def as_person(person: Person, client: Client, display: str) -> Person:
    person.username = client.username
    person.display_name = display
    return person


@pytest.fixture
async def bulk_server(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    proc = ServerProcess(
        tmp_path / "server", env={"PARLEY_SEND_RATE": "5000", "PARLEY_SEND_BURST": "5000"}
    )
    await proc.start()
    yield proc
    await proc.stop()


def _copy(src: str, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(Path(src).read_bytes())


async def test_room_view_screenshot(
    fresh_server: ServerProcess, people: PersonFactory, http: aiohttp.ClientSession
) -> None:
    """A staged conversation; PARLEY_UPDATE_SCREENSHOT=1 also refreshes docs/screenshot-room.png."""
    server = fresh_server  # its own database, so the usernames can be plain
    ana = await api_user(http, server, "Ana Lima", "ana.lima")
    ben = await api_user(http, server, "Ben Okafor", "ben.okafor")
    cy = await api_user(http, server, "Cy Park", "cy.park")
    dee = await api_user(http, server, "Dee Ruiz", "dee.ruiz")
    room = (await ana.group("Design review", ben, cy, dee))["id"]
    await ana.direct(dee)
    dm = (await ben.direct(ana))["id"]
    await post(ben, dm, "Can you look at the release notes before lunch?")
    script = [
        (ana, "Morning! The new onboarding flow is up on staging."),
        (ana, "Notes and the checklist: https://example.com/onboarding-v2"),
        (ben, "Nice, the empty states read much calmer now."),
        (ben, "One thing: the invite step still jumps when the keyboard opens on phones."),
        (cy, "I can take that one. Probably the fixed footer."),
        (dee, "Copy looks good to me. Shipping Thursday?"),
        (ana, "Thursday works. I'll write the release notes tonight."),
        (cy, "Fixed the footer, preview is deploying now 🚀"),
    ]
    for who, body in script:
        await post(who, room, body)
    # Ben and Cy are online (their own sockets); Ben starts typing.
    ben_socket = await ben.connect()
    cy_socket = await cy.connect()
    try:
        viewer = as_person(await people(server.url, "ana"), ana, "Ana Lima")
        await viewer.sign_in()
        await viewer.open_room("Design review")
        await expect(viewer.messages).to_have_count(len(script))
        await expect(viewer.unread_badge("Ben Okafor")).to_have_text("1")
        await ben_socket.send({"type": "typing", "room": room})
        await expect(viewer.page.get_by_test_id("typing")).to_contain_text("Ben Okafor is typing")
        await viewer.composer.fill("Looks great, thank you all!")
        await viewer.page.mouse.move(0, 0)
        path = artifact("10-room-view")
        await viewer.page.screenshot(path=path)
        if os.environ.get("PARLEY_UPDATE_SCREENSHOT") == "1":
            _copy(path, DOCS_SCREENSHOT)
    finally:
        await ben_socket.close()
        await cy_socket.close()


async def test_phone_layout_and_dark_mode(
    server: ServerProcess, people: PersonFactory, http: aiohttp.ClientSession
) -> None:
    ana = await api_user(http, server, "Ana Lima")
    ben = await api_user(http, server, "Ben Okafor")
    dm = (await ben.direct(ana))["id"]
    await post(ben, dm, "Are we still on for 6pm?")
    phone = {"width": 390, "height": 844}
    person = as_person(await people(server.url, "ana", phone, "dark"), ana, "Ana Lima")
    await person.sign_in()
    page = person.page
    # The sidebar takes the whole screen; no room pane.
    await expect(person.sidebar).to_be_visible()
    box = await person.sidebar.bounding_box()
    assert box is not None and box["width"] >= 380
    await person.shot("11-phone-sidebar-dark")
    await person.open_room("Ben Okafor")
    # In a room the sidebar collapses, a back button brings it back.
    await expect(person.sidebar).to_be_hidden()
    background = await page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(255, 255, 255)", "dark mode should follow the system"
    await person.send("Yes! See you there")
    await person.shot("12-phone-room-dark")
    await page.get_by_role("button", name="Back to conversations").click()
    await expect(person.sidebar).to_be_visible()
    await expect(page).to_have_url(re.compile(r"/$"))


async def test_keyboard_navigation_and_labels(server: ServerProcess, people: PersonFactory) -> None:
    ana = await (await people(server.url, "ana")).sign_up("Ana Lima")
    ben = await (await people(server.url, "ben")).sign_up("Ben Okafor")
    await ana.start_direct(ben)
    await ana.send("keyboard check")
    page = ana.page

    unlabelled = await page.evaluate(
        """() => [...document.querySelectorAll('button, a[href], input, textarea, select')]
            .filter(el => el.offsetParent !== null)
            .filter(el => {
              const label = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
                || (el.labels && el.labels.length) || (el.textContent || '').trim()
                || el.getAttribute('title');
              return !label;
            })
            .map(el => el.outerHTML.slice(0, 120))"""
    )
    assert unlabelled == []

    # Keyboard only: open the new-message dialog, search, start a DM with Enter, send with Enter.
    cy = await (await people(server.url, "cy")).sign_up("Cy Park")
    await page.get_by_test_id("new-dm").focus()
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    await expect(dialog.get_by_role("combobox")).to_be_focused()
    await page.keyboard.type(cy.username)
    option = dialog.get_by_role("button", name="Message Cy Park")
    await expect(option).to_be_visible()
    await page.keyboard.press("Tab")
    await expect(option).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(ana.room_title).to_have_text("Cy Park")
    await expect(ana.composer).to_be_focused()
    await page.keyboard.type("sent from the keyboard")
    await page.keyboard.press("Enter")
    await expect(cy.room_link("Ana Lima")).to_contain_text("sent from the keyboard")
    # Escape closes dialogs.
    await page.get_by_role("button", name="Conversation details").click()
    await expect(page.get_by_role("dialog")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_have_count(0)


async def test_desktop_notification_while_the_tab_is_hidden(
    server: ServerProcess, people: PersonFactory
) -> None:
    ana = await (await people(server.url, "ana")).sign_up("Ana Lima")
    ben = await people(server.url, "ben")
    # Record notifications and let the test hide the tab (headless pages are always visible).
    await ben.context.add_init_script(FAKE_NOTIFICATIONS)
    await ben.sign_up("Ben Okafor")
    await ana.start_direct(ben)
    await ana.send("visible: no notification")
    await expect(ben.room_link("Ana Lima")).to_be_visible()

    await ben.page.get_by_role("button", name="Settings", exact=True).click()
    switch = ben.page.get_by_role("switch", name="Desktop notifications")
    await expect(switch).to_have_attribute("aria-checked", "false")
    await switch.click()  # asks the browser for permission, which the fake grants
    await expect(switch).to_have_attribute("aria-checked", "true")
    await ben.page.get_by_role("button", name="Back to conversations").click()
    await ben.page.evaluate("() => window.__setHidden(true)")
    await ana.send("hidden: please notify")
    await expect(ben.room_link("Ana Lima")).to_contain_text("hidden: please notify")
    notes: list[dict[str, Any]] = await ben.page.evaluate("() => window.__notes")
    assert notes == [{"title": "Ana Lima", "body": "hidden: please notify"}]

    # Switched off on this device: the permission stays, the pop-ups stop.
    await ben.page.evaluate("() => window.__setHidden(false)")
    await ben.page.get_by_role("button", name="Settings", exact=True).click()
    await switch.click()
    await expect(switch).to_have_attribute("aria-checked", "false")
    await ben.page.get_by_role("button", name="Back to conversations").click()
    await ben.page.evaluate("() => window.__setHidden(true)")
    await ana.send("switched off: quiet")
    await expect(ben.room_link("Ana Lima")).to_contain_text("switched off: quiet")
    assert await ben.page.evaluate("() => window.__notes") == notes


async def test_older_history_loads_on_scroll_without_jumping(
    bulk_server: ServerProcess, people: PersonFactory, http: aiohttp.ClientSession
) -> None:
    ana = await api_user(http, bulk_server, "Ana Lima")
    ben = await api_user(http, bulk_server, "Ben Okafor")
    dm = (await ana.direct(ben))["id"]
    total = 160
    for i in range(1, total + 1):
        await post(ana if i % 3 else ben, dm, f"history line {i:03d}")
    person = as_person(await people(bulk_server.url, "ben"), ben, "Ben Okafor")
    await person.sign_in()
    await person.open_room("Ana Lima")
    await expect(person.message(f"history line {total:03d}")).to_be_in_viewport()
    await expect(person.messages).to_have_count(50)

    scroller = person.page.get_by_test_id("message-list")
    for loaded in (100, 150, total):
        # Scroll to the top; note where the first loaded message sits in the viewport.
        first_seq, top_before = await scroller.evaluate(
            """el => {
                el.scrollTop = 0;
                const first = el.querySelector('[data-seq]');
                return [Number(first.dataset.seq),
                        first.getBoundingClientRect().top - el.getBoundingClientRect().top];
            }"""
        )
        await expect(person.messages).to_have_count(loaded)
        # Older messages were inserted above it, and it did not move on screen: no jump.
        top_after = await scroller.evaluate(
            """(el, seq) => el.querySelector(`[data-seq="${seq}"]`).getBoundingClientRect().top
                - el.getBoundingClientRect().top""",
            first_seq,
        )
        assert abs(top_after - top_before) <= 2, (first_seq, top_before, top_after)
    await expect(scroller).to_contain_text("Today · start of the conversation")
    seqs = await person.messages.evaluate_all("els => els.map(e => Number(e.dataset.seq))")
    assert seqs == list(range(1, total + 1))
