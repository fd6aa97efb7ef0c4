"""The web UI under its strict Content-Security-Policy, and where its session lives.

Every browser test fails on a CSP violation (``conftest.CSP_REPORTER``); this
file walks the main screens on purpose, and checks that the 30-day refresh
token is in an HttpOnly cookie that no script can read, not in storage.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import Person, PersonFactory, csp_violations
from tests.support.client import PASSWORD, unique_name
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser

# Everything a script on the page can read: cookies, both storages, every IndexedDB store.
READABLE_BY_SCRIPTS = """async () => {
  const parts = [document.cookie, JSON.stringify({ ...localStorage }),
                 JSON.stringify({ ...sessionStorage })];
  for (const info of await indexedDB.databases()) {
    const db = await new Promise((ok, fail) => {
      const req = indexedDB.open(info.name);
      req.onsuccess = () => ok(req.result);
      req.onerror = () => fail(req.error);
    });
    for (const name of db.objectStoreNames) {
      const all = await new Promise((ok, fail) => {
        const req = db.transaction(name).objectStore(name).getAll();
        req.onsuccess = () => ok(req.result);
        req.onerror = () => fail(req.error);
      });
      parts.push(JSON.stringify(all));
    }
    db.close();
  }
  return parts.join('\\n');
}"""

IDB_NAMES = "async () => (await indexedDB.databases()).map((d) => d.name)"


async def session_cookie(person: Person) -> dict[str, Any]:
    found = [c for c in await person.context.cookies() if c["name"] == "parley_refresh"]
    assert len(found) == 1, found
    return dict(found[0])


async def assert_no_violation(person: Person, page: Page, where: str) -> None:
    # A violation is reported as an event; by the time the page answered a round trip
    # through the console of this evaluate, the events of what it loaded are in.
    await page.evaluate("() => new Promise((ok) => setTimeout(ok, 0))")
    assert csp_violations(person.console) == [], where


async def test_the_main_screens_load_under_the_strict_policy(
    server: ServerProcess, people: PersonFactory
) -> None:
    ben = await (await people(server.url, "ben")).sign_up("Ben Okafor")
    for scheme, viewport in (("light", None), ("dark", {"width": 390, "height": 844})):
        ana = await people(server.url, "ana", viewport, scheme)
        page = ana.page
        await page.goto(server.url)
        await expect(page.get_by_role("heading", name="Sign in to Parley")).to_be_visible()
        await assert_no_violation(ana, page, f"sign-in ({scheme})")
        await page.get_by_role("button", name="Create an account").click()
        await assert_no_violation(ana, page, f"sign-up ({scheme})")
        await ana.sign_up("Ana Lima")
        await ana.start_direct(ben)
        await ana.composer.fill(f"hello in {scheme} with **bold** and https://example.com")
        await ana.composer.press("Enter")
        await expect(ana.message(f"hello in {scheme} with bold").locator("strong")).to_have_count(1)
        await assert_no_violation(ana, page, f"room ({scheme})")
        await page.get_by_role("button", name="Conversation details").click()
        await expect(page.get_by_role("dialog")).to_be_visible()
        await assert_no_violation(ana, page, f"details dialog ({scheme})")
        await page.keyboard.press("Escape")
        if viewport is None:
            await page.get_by_test_id("new-group").click()
            await expect(page.get_by_role("dialog")).to_be_visible()
            await assert_no_violation(ana, page, "new group dialog")
            await page.keyboard.press("Escape")
    docs = await ben.new_page()
    await docs.goto(server.url + "/api/docs")
    await expect(docs.locator("details").first).to_be_visible()  # built by docs.js
    await assert_no_violation(ben, docs, "API docs")


async def test_a_reload_keeps_the_session_and_no_script_can_read_the_refresh_token(
    server: ServerProcess, people: PersonFactory
) -> None:
    ana = await (await people(server.url, "ana")).sign_up("Ana Lima")
    first = await session_cookie(ana)
    assert first["httpOnly"] is True and first["sameSite"] == "Strict"
    assert first["path"] == "/api/auth" and first["secure"] is False  # plain http here

    await ana.page.reload()
    await expect(ana.me_name).to_have_text("Ana Lima")
    await expect(ana.banner).to_have_attribute("data-status", "online")
    rotated = await session_cookie(ana)
    assert rotated["value"] != first["value"], "the reload refreshed through the cookie"
    readable = await ana.page.evaluate(READABLE_BY_SCRIPTS)
    for token in (first["value"], rotated["value"]):
        assert token not in readable

    # The sign-in screen shows at once; the logout request clears the cookie behind it.
    async with ana.page.expect_response(lambda r: r.url.endswith("/api/auth/logout")) as logout:
        await ana.page.get_by_role("button", name="Sign out").click()
    assert (await logout.value).status == 204
    await expect(ana.page.get_by_role("heading", name="Sign in to Parley")).to_be_visible()
    assert [c for c in await ana.context.cookies() if c["name"] == "parley_refresh"] == []
    await ana.page.reload()
    await expect(ana.page.get_by_role("heading", name="Sign in to Parley")).to_be_visible()


async def test_a_session_stored_before_the_cookie_moves_into_it(
    server: ServerProcess, people: PersonFactory, http: aiohttp.ClientSession
) -> None:
    """An earlier client kept the refresh token in IndexedDB and localStorage."""
    username = unique_name("ana")
    async with http.post(
        server.url + "/api/auth/register",
        json={"username": username, "password": PASSWORD, "display_name": "Ana Lima"},
    ) as response:
        stored = (await response.json())["refresh_token"]
    ana = await people(server.url, "ana")
    page = ana.page
    await page.goto(server.url)
    await expect(page.get_by_role("heading", name="Sign in to Parley")).to_be_visible()
    await page.evaluate(
        """async (token) => {
          localStorage.setItem('parley.refresh_token', token);
          await new Promise((ok, fail) => {
            const req = indexedDB.open('parley', 1);
            req.onupgradeneeded = () => req.result.createObjectStore('session');
            req.onsuccess = () => {
              const tx = req.result.transaction('session', 'readwrite');
              tx.objectStore('session').put(token, 'refresh_token');
              tx.oncomplete = () => { req.result.close(); ok(); };
            };
            req.onerror = () => fail(req.error);
          });
        }""",
        stored,
    )
    await page.reload()
    await expect(ana.me_name).to_have_text("Ana Lima")
    assert stored not in await page.evaluate(READABLE_BY_SCRIPTS)
    assert "parley" not in await page.evaluate(IDB_NAMES)
    assert (await session_cookie(ana))["httpOnly"] is True
    await page.reload()
    await expect(ana.me_name).to_have_text("Ana Lima")
