"""The web UI on a cluster: two browsers on two gateways and one behind nginx chat live.

Real PostgreSQL, Redis and Kafka (started by ``make test``), two gateways, a
persister and nginx, as ``make cluster`` runs them.
"""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest
from playwright.async_api import FilePayload, expect

from tests.browser.conftest import Person, PersonFactory
from tests.browser.test_files import png, uploads_done
from tests.browser.test_oauth import sign_in_with_provider
from tests.browser.test_screens import api_user, as_person
from tests.cluster.conftest import (  # noqa: F401 - fixtures used by name below
    cluster,
    cluster_env,
    topics,
)
from tests.integration.test_admin import parley_admin
from tests.support.client import Client, unique_name
from tests.support.cluster import Cluster, Nginx
from tests.support.oidc import OidcProvider, server_env
from tests.support.server import free_port

pytestmark = [pytest.mark.browser, pytest.mark.cluster]


async def test_a_group_chats_across_gateways_in_the_browser(
    cluster: Cluster,  # noqa: F811 - the fixture imported above
    people: PersonFactory,
) -> None:
    gw1, gw2 = await cluster.start(gateways=2, persisters=1)
    nginx = Nginx(cluster.root, [gw1.port, gw2.port])
    await nginx.start()
    try:
        ana: Person = await people(gw1.url, "ana")
        ben: Person = await people(gw2.url, "ben")
        cy: Person = await people(nginx.url, "cy")
        for person, name in ((ana, "Ana Lima"), (ben, "Ben Okafor"), (cy, "Cy Park")):
            await person.sign_up(name)

        await ana.create_group("Across gateways", ben, cy)
        await ana.send("Hello from gateway one")
        for other in (ben, cy):
            await other.open_room("Across gateways")
            await expect(other.message("Hello from gateway one")).to_have_count(1)
        await ben.send("And back from gateway two")
        await cy.send("And through the load balancer")
        for person in (ana, ben, cy):
            await expect(person.messages).to_have_count(3)
            await expect(person.pending).to_have_count(0)
        await cy.shot("cluster-group")
    finally:
        await nginx.stop()


async def test_edit_react_reply_and_delete_across_gateways(
    cluster: Cluster,  # noqa: F811 - the fixture imported above
    people: PersonFactory,
) -> None:
    """Room events go through Kafka and the persister like messages and reach the other gateway."""
    gw1, gw2 = await cluster.start(gateways=2, persisters=1)
    ana: Person = await people(gw1.url, "ana")
    ben: Person = await people(gw2.url, "ben")
    await ana.sign_up("Ana Lima")
    await ben.sign_up("Ben Okafor")
    await ana.start_direct(ben)
    await ana.send("Deploy at noon, helo")
    await ben.open_room("Ana Lima")
    await expect(ben.message("helo")).to_have_count(1)

    async def act(person: Person, text: str, name: str) -> None:
        message = person.message(text).first  # the original, above any reply quoting it
        await message.hover()
        toolbar = message.get_by_role("toolbar", name="Message actions")
        await toolbar.get_by_role("button", name=name, exact=True).click()

    await act(ben, "helo", "React with 👍")
    await expect(ana.message("helo").get_by_test_id("reactions")).to_contain_text("👍1")
    await act(ana, "helo", "Edit")
    editor = ana.page.get_by_role("textbox", name="Edit message")
    await editor.fill("Deploy at noon, hello")
    await editor.press("Enter")
    await expect(ben.message("noon, hello").get_by_test_id("edited")).to_have_count(1)
    await act(ben, "noon, hello", "Reply")
    await ben.composer.fill("Ready on my side")
    await ben.composer.press("Enter")
    quote = ana.message("Ready on my side").get_by_test_id("reply-quote")
    await expect(quote).to_contain_text("Deploy at noon, hello")
    await act(ana, "Deploy at noon, hello", "Delete")
    await ana.page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    await expect(ben.messages.get_by_test_id("tombstone")).to_have_count(1)
    await expect(ben.message("Ready on my side").get_by_test_id("reply-quote")).to_contain_text(
        "Deleted message"
    )
    # A reload on the other gateway reads the same state from PostgreSQL.
    await ben.page.reload()
    await expect(ben.messages.get_by_test_id("tombstone")).to_have_count(1)
    await expect(ben.message("Ready on my side")).to_have_count(1)


async def test_sign_in_with_a_provider_through_the_load_balancer(
    cluster: Cluster,  # noqa: F811 - the fixture imported above
    oidc_provider: OidcProvider,
    people: PersonFactory,
) -> None:
    """The provider's callback comes back through nginx, to whichever gateway it picks."""
    balancer = free_port()
    env = await server_env(oidc_provider, f"http://127.0.0.1:{balancer}")
    gw1, gw2 = await asyncio.gather(cluster.gateway(**env), cluster.gateway(**env))
    await cluster.persister()
    nginx = Nginx(cluster.root, [gw1.port, gw2.port])
    nginx.port = balancer
    await nginx.start()
    try:
        ana = await people(nginx.url, "ana")
        await sign_in_with_provider(ana, unique_name("ana.lima"))
        ben = await (await people(nginx.url, "ben")).sign_up("Ben Okafor")
        await ana.create_group("Signed in by a provider", ben)
        await ana.send("here through nginx")
        await ben.open_room("Signed in by a provider")
        await expect(ben.message("here through nginx")).to_have_count(1)
        await ana.page.reload()
        await expect(ana.me_name).to_have_text(ana.display_name)
    finally:
        await nginx.stop()


async def test_the_admin_overview_shows_both_gateways_and_disables_across_them(
    cluster: Cluster,  # noqa: F811 - the fixture imported above
    people: PersonFactory,
    http: aiohttp.ClientSession,
) -> None:
    gw1, gw2 = await cluster.start(gateways=2, persisters=1)
    nginx = Nginx(cluster.root, [gw1.port, gw2.port])
    await nginx.start()
    try:
        boss = await api_user(http, gw1, "Ada Admin")
        await asyncio.to_thread(parley_admin, gw1, "grant", boss.username)
        victim = await Client(http, gw2.url).register()
        victim_socket = await victim.connect()
        person = as_person(await people(nginx.url, "ada"), boss, "Ada Admin")
        await person.sign_in()
        page = person.page
        await page.goto(nginx.url + "/admin")
        gateways = page.get_by_role("table", name="Gateways")
        # A header row and one row per gateway: the page sees the whole cluster.
        await expect(gateways.get_by_role("row")).to_have_count(3)

        await (
            page.get_by_role("navigation", name="Admin pages")
            .get_by_role("link", name="Users")
            .click()
        )
        await page.get_by_label("Search users").fill(victim.username)
        await page.get_by_role("button", name=f"Disable {victim.username}").click()
        closed = await victim_socket.ws.receive(timeout=10)
        assert closed.type is aiohttp.WSMsgType.CLOSE and int(closed.data) == 4401
    finally:
        await nginx.stop()


async def test_a_file_search_and_a_removal_cross_gateways(
    cluster: Cluster,  # noqa: F811 - the fixture imported above
    people: PersonFactory,
) -> None:
    """An image uploaded through nginx into the S3 store is shown by the other gateway;
    search there finds its message and opens it; a removal on one gateway takes the room
    off the removed member's screen on the other."""
    gw1, gw2 = await cluster.start(gateways=2, persisters=1)
    nginx = Nginx(cluster.root, [gw1.port, gw2.port])
    await nginx.start()
    try:
        ana: Person = await people(nginx.url, "ana")
        ben: Person = await people(gw2.url, "ben")
        await ana.sign_up("Ana Lima")
        await ben.sign_up("Ben Okafor")
        await ana.create_group("Shared sky", ben)
        await ana.page.get_by_role("button", name="Attach files").click()
        await ana.page.get_by_test_id("file-input").set_input_files(
            FilePayload(name="sky.png", mimeType="image/png", buffer=png())
        )
        await uploads_done(ana, 1)
        await ana.composer.fill("the evening sky")
        await ana.composer.press("Enter")

        await ben.open_room("Shared sky")
        image = ben.message("the evening sky").get_by_test_id("attachment-image")
        await expect(image).to_be_visible()
        assert await image.evaluate("(img) => img.naturalWidth") > 0  # the bytes, from S3

        await ben.page.get_by_role("button", name="Search messages").click()
        dialog = ben.page.get_by_role("dialog", name="Search messages")
        field = dialog.get_by_role("searchbox", name="Search messages")
        await field.fill("evening")
        await field.press("Enter")
        results = dialog.get_by_role("list", name="Search results").get_by_role("link")
        await expect(results).to_have_count(1)
        await results.first.click()
        await expect(ben.page).to_have_url(re.compile(r"/rooms/\d+/messages/1$"))
        await expect(ben.message("the evening sky")).to_have_attribute("data-highlighted", "true")

        await ana.page.get_by_test_id("room-header").click()
        settings = ana.page.get_by_role("dialog")
        await settings.get_by_role("button", name="Remove Ben Okafor").click()
        await settings.get_by_role("button", name="Remove", exact=True).click()
        await expect(ben.room_link("Shared sky")).to_have_count(0)
        await expect(ben.room_title).to_have_count(0)
    finally:
        await nginx.stop()
