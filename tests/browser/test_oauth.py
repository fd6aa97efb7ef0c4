"""Signing in with an OpenID Connect provider in the browser, and linking accounts in settings.

The provider is the real one of the test suite (npm's oidc-provider, started by
the ``oidc_provider`` fixture); its login and consent pages are clicked
through like a person would. Every page here, the provider's included, is
watched for Content-Security-Policy violations (conftest).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import Person, PersonFactory
from tests.support.client import PASSWORD, unique_name
from tests.support.oidc import DISPLAY_NAME, OidcProvider, provider_server
from tests.support.oidc import PASSWORD as PROVIDER_PASSWORD
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser

BUTTON = f"Sign in with {DISPLAY_NAME}"


@pytest.fixture(scope="module")
async def server(
    oidc_provider: OidcProvider, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerProcess]:
    proc = await provider_server(oidc_provider, tmp_path_factory.mktemp("oauth-browser"))
    yield proc
    await proc.stop()


def name_at_provider(login: str) -> str:
    """The name the provider gives a login (provider.mjs): "ana.lima7_x" -> "Ana Lima7 X"."""
    return " ".join(part.capitalize() for part in re.split(r"[._-]+", login) if part)


async def at_the_provider(page: Page, login: str) -> None:
    """Sign in on the provider's own pages and allow Parley."""
    await expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    await page.get_by_label("Login").fill(login)
    await page.get_by_label("Password").fill(PROVIDER_PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("heading", name="Authorize")).to_be_visible()
    await page.get_by_role("button", name="Allow").click()


async def sign_in_with_provider(person: Person, login: str) -> None:
    page = person.page
    await page.goto(person.base_url)
    await page.get_by_role("link", name=BUTTON).click()
    await at_the_provider(page, login)
    person.username = login
    person.display_name = name_at_provider(login)
    await expect(person.me_name).to_have_text(person.display_name)


async def test_sign_in_with_the_provider_stays_signed_in_and_comes_back_as_the_same_user(
    server: ServerProcess, people: PersonFactory
) -> None:
    ana = await people(server.url, "ana")
    page = ana.page
    login = unique_name("ana.lima")
    await sign_in_with_provider(ana, login)
    assert "#" not in page.url  # the outcome was read and taken out of the address bar
    [cookie] = [c for c in await ana.context.cookies() if c["name"] == "parley_refresh"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert not [c for c in await ana.context.cookies() if c["name"] == "parley_oauth"]

    await page.reload()
    await expect(ana.me_name).to_have_text(ana.display_name)

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in to Parley")).to_be_visible()
    # The provider remembers the login and the consent: straight back, the same user.
    await page.get_by_role("link", name=BUTTON).click()
    await expect(ana.me_name).to_have_text(ana.display_name)
    await expect(page.get_by_text(f"@{login}", exact=True)).to_be_visible()


async def test_link_and_unlink_an_account_in_settings(
    server: ServerProcess, people: PersonFactory
) -> None:
    bo = await (await people(server.url, "bo")).sign_up("Bo Chen")
    page = bo.page
    await page.get_by_role("button", name="Settings", exact=True).click()
    dialog = page.get_by_role("region", name="Sign-in and password")
    await expect(dialog.get_by_text("None yet.")).to_be_visible()
    await dialog.get_by_role("button", name=f"Link {DISPLAY_NAME}").click()

    login = unique_name("bo.elsewhere")
    await at_the_provider(page, login)
    dialog = page.get_by_role("region", name="Sign-in and password")
    await expect(dialog.get_by_role("status")).to_have_text(
        f"Your {DISPLAY_NAME} account is linked."
    )
    linked = dialog.get_by_role("list", name="Linked accounts")
    await expect(linked.get_by_text(login)).to_be_visible()
    await expect(page.get_by_label("Display name")).to_have_value("Bo Chen")  # still Bo

    await dialog.get_by_role("button", name=f"Unlink {DISPLAY_NAME} ({login})").click()
    await expect(dialog.get_by_text("None yet.")).to_be_visible()
    await expect(dialog.get_by_role("status")).to_have_text("Unlinked.")


async def test_the_last_way_to_sign_in_stays_until_a_password_is_set(
    server: ServerProcess, people: PersonFactory
) -> None:
    cy = await people(server.url, "cy")
    await sign_in_with_provider(cy, unique_name("cy.only"))
    page = cy.page
    await page.get_by_role("button", name="Settings", exact=True).click()
    dialog = page.get_by_role("region", name="Sign-in and password")
    unlink = dialog.get_by_role("button", name=re.compile(f"^Unlink {DISPLAY_NAME}"))
    await expect(unlink).to_be_disabled()
    await expect(dialog.get_by_text("This is your only way to sign in.")).to_be_visible()

    await dialog.get_by_label("New password").fill(PASSWORD)
    await dialog.get_by_role("button", name="Set password").click()
    await expect(dialog.get_by_role("status")).to_have_text("Password set.")
    await expect(unlink).to_be_enabled()
    await unlink.click()
    await expect(dialog.get_by_text("None yet.")).to_be_visible()
    await page.get_by_role("button", name="Back to conversations").click()

    await page.get_by_role("button", name="Sign out").click()
    await cy.sign_in()  # with the password, the only way left


async def test_refusals_are_explained_on_the_sign_in_screen(
    server: ServerProcess, people: PersonFactory
) -> None:
    dan = await people(server.url, "dan")
    page = dan.page
    await page.goto(f"{server.url}/api/auth/oauth/testid/callback?code=stolen&state=forged")
    alert = page.get_by_test_id("oauth-error")
    await expect(alert).to_have_text(re.compile("expired or was started in another window"))
    await expect(page.get_by_role("heading", name="Sign in to Parley")).to_be_visible()
    assert "#" not in page.url

    await page.get_by_role("link", name=BUTTON).click()
    await expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    await page.get_by_role("link", name="Cancel").click()
    await expect(alert).to_have_text(f"You cancelled signing in with {DISPLAY_NAME}.")
