"""The admin pages in a browser: an admin disables a user, sees it in the audit log, and
the overview's live charts (the notifications worker's lag among them) draw under the
strict CSP, light and dark."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from playwright.async_api import expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import PersonFactory, csp_violations
from tests.browser.test_screens import api_user, as_person
from tests.integration.test_admin import parley_admin
from tests.support.server import ServerProcess


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_an_admin_disables_a_user_and_sees_the_audit_entry(
    server: ServerProcess, people: PersonFactory, http: aiohttp.ClientSession, scheme: str
) -> None:
    boss = await api_user(http, server, "Ada Admin")
    victim = await api_user(http, server, "Vic Tim")
    await asyncio.to_thread(parley_admin, server, "grant", boss.username)
    victim_socket = await victim.connect()
    person = as_person(await people(server.url, "ada", color_scheme=scheme), boss, "Ada Admin")
    await person.sign_in()
    page = person.page

    await page.goto(server.url + "/admin")
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    await expect(page.get_by_role("img", name="Connections, live chart")).to_be_visible()
    # The gateways table fills from the live figures (polled every 2 s).
    gateways = page.get_by_role("table", name="Gateways")
    await expect(gateways.get_by_role("row")).not_to_have_count(1)
    # The in-process notifier's lag, under the gateway's name: a chart, a table of one row.
    notifiers = page.get_by_role("table", name="Notifications workers")
    await expect(notifiers.get_by_role("row")).to_have_count(2)
    gateway = await gateways.get_by_role("rowheader").first.text_content()
    await expect(notifiers.get_by_role("rowheader")).to_have_text([gateway or ""])
    await expect(
        page.get_by_role("img", name="Notifications worker lag, live chart")
    ).to_be_visible()
    await person.shot(f"admin-overview-{scheme}")
    await assert_accessible(page, "admin overview")

    nav = page.get_by_role("navigation", name="Admin pages")
    await nav.get_by_role("link", name="Users").click()
    await page.get_by_label("Search users").fill(victim.username)
    await page.get_by_role("button", name=f"Disable {victim.username}").click()
    await expect(page.get_by_role("status")).to_have_text(f"{victim.username} disabled")
    await expect(page.get_by_role("button", name=f"Enable {victim.username}")).to_be_visible()
    await assert_accessible(page, "admin users")
    # The victim's socket is closed by the disable.
    closed = await victim_socket.ws.receive(timeout=10)
    assert closed.type is aiohttp.WSMsgType.CLOSE and int(closed.data) == 4401

    await nav.get_by_role("link", name="Audit log").click()
    row = page.get_by_role("row").filter(has_text=f"user:{victim.id}").first
    await expect(row).to_contain_text("user.disable")
    await expect(row).to_contain_text(boss.username)
    await expect(row).to_contain_text("127.0.0.1")
    await person.shot(f"admin-audit-{scheme}")
    await assert_accessible(page, "admin audit log")

    await nav.get_by_role("link", name="Rooms").click()
    await expect(page.get_by_role("heading", name="Rooms")).to_be_visible()
    await assert_accessible(page, "admin rooms")
    assert csp_violations(person.console) == []


async def test_a_member_is_told_the_admin_pages_need_an_admin(
    server: ServerProcess, people: PersonFactory, http: aiohttp.ClientSession
) -> None:
    await api_user(http, server, "Someone First")  # the embedded server's first user is its admin
    member = await api_user(http, server, "Mo Member")
    person = as_person(await people(server.url, "mo"), member, "Mo Member")
    await person.sign_in()
    await person.page.goto(server.url + "/admin/users")
    await expect(person.page.get_by_role("alert")).to_have_text("This needs an admin account.")
    await assert_accessible(person.page, "admin pages for a member")
