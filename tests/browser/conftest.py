"""Fixtures for the browser suite: Debian's chromium driven by Playwright.

Each `Person` is one user in a browser context of their own (separate
cookies and storage, so separate sessions). The server is the real `parley
serve` from tests/support, serving the built web UI from web/dist.

Every page reports Content-Security-Policy violations to its console, and a
test whose pages saw one fails: the strict policy is checked on every screen
any browser test reaches.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Playwright,
    async_playwright,
    expect,
)

from tests.support.client import PASSWORD, unique_name

ROOT = Path(__file__).resolve().parents[2]
DIST_INDEX = ROOT / "web" / "dist" / "index.html"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = Path(os.environ.get("PARLEY_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# Init scripts run outside the page's CSP, so this reporter is never itself refused.
CSP_REPORTER = """document.addEventListener('securitypolicyviolation', (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
});"""


def csp_violations(console: list[str]) -> list[str]:
    return [
        line for line in console if "CSP violation" in line or "Content Security Policy" in line
    ]


# Generous: a server restart plus the client's backoff can take several seconds.
expect.set_options(timeout=20_000)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:120]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _check_prerequisites() -> None:
    for stale in ARTIFACTS.glob("FAILED-*"):
        stale.unlink()
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (never playwright install)")
    if not DIST_INDEX.exists():
        pytest.fail("the web UI is not built: run `make web` (cd web && npm ci && npm run build)")


def artifact(name: str, suffix: str = ".png") -> str:
    """Path of a file in the git-ignored artifacts folder (created on demand)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return str(ARTIFACTS / f"{_safe(name)}{suffix}")


def _write(path: str, text: str) -> None:
    Path(path).write_text(text)


@pytest.fixture(scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as p:
        yield p


@pytest.fixture(scope="session")
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    _check_prerequisites()
    b = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield b
    await b.close()


class Person:
    """One user in their own browser context."""

    def __init__(self, context: BrowserContext, page: Page, base_url: str, tag: str) -> None:
        self.context = context
        self.page = page
        self.base_url = base_url
        self.tag = tag
        self.username = ""
        self.display_name = ""
        self.console: list[str] = []
        self._watch(page)

    def _watch(self, page: Page) -> None:
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))

    # ---- navigation and session ----

    async def new_page(self) -> Page:
        """Open another page (tab) in the same context: the stored session comes along."""
        self.page = await self.context.new_page()
        self._watch(self.page)
        return self.page

    async def sign_up(self, display_name: str, username: str | None = None) -> Person:
        self.username = username or unique_name(self.tag)
        self.display_name = display_name
        page = self.page
        await page.goto(self.base_url)
        await page.get_by_role("button", name="Create an account").click()
        await page.get_by_label("Username").fill(self.username)
        await page.get_by_label("Display name").fill(display_name)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Create account").click()
        await expect(self.me_name).to_have_text(display_name)
        return self

    async def sign_in(self) -> None:
        page = self.page
        await page.goto(self.base_url)
        await page.get_by_label("Username").fill(self.username)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in", exact=True).click()
        await expect(self.me_name).to_have_text(self.display_name)

    # ---- locators ----

    @property
    def me_name(self) -> Locator:
        return self.page.get_by_test_id("me-name")

    @property
    def sidebar(self) -> Locator:
        return self.page.get_by_role("navigation", name="Conversations")

    def room_link(self, title: str) -> Locator:
        name = re.compile(rf"^{re.escape(title)}\s*(,|$)")
        return self.sidebar.get_by_role("link", name=name)

    def unread_badge(self, title: str) -> Locator:
        return self.room_link(title).get_by_test_id("unread-badge")

    @property
    def messages(self) -> Locator:
        """Confirmed messages in the open room."""
        return self.page.get_by_test_id("message-list").locator("[data-seq]")

    @property
    def pending(self) -> Locator:
        return self.page.get_by_test_id("message-list").locator("[data-pending]")

    def message(self, text: str) -> Locator:
        return self.messages.filter(has_text=text)

    @property
    def composer(self) -> Locator:
        return self.page.get_by_role("textbox", name="Message")

    @property
    def room_title(self) -> Locator:
        return self.page.get_by_test_id("room-title")

    @property
    def banner(self) -> Locator:
        return self.page.get_by_test_id("connection-banner")

    # ---- actions ----

    async def open_room(self, title: str) -> None:
        await self.room_link(title).click()
        await expect(self.room_title).to_have_text(title)

    async def start_direct(self, other: Person) -> None:
        await self.page.get_by_test_id("new-dm").click()
        dialog = self.page.get_by_role("dialog")
        await dialog.get_by_role("combobox").fill(other.username)
        await dialog.get_by_role("button", name=f"Message {other.display_name}").click()
        await expect(self.room_title).to_have_text(other.display_name)

    async def create_group(self, name: str, *others: Person) -> None:
        await self.page.get_by_test_id("new-group").click()
        dialog = self.page.get_by_role("dialog")
        await dialog.get_by_label("Group name").fill(name)
        for other in others:
            await dialog.get_by_role("combobox").fill(other.username)
            await dialog.get_by_role("button", name=f"Add {other.display_name}").click()
            await expect(
                dialog.get_by_role("button", name=f"Remove {other.display_name}").first
            ).to_be_visible()
        await dialog.get_by_role("button", name="Create group").click()
        await expect(self.room_title).to_have_text(name)

    async def send(self, text: str) -> None:
        """Type and press Enter; waits until the message is confirmed (not pending)."""
        await self.composer.fill(text)
        await self.composer.press("Enter")
        await expect(self.message(text)).to_have_count(1)

    async def shot(self, name: str, **kwargs: Any) -> None:
        await self.page.screenshot(path=artifact(name), **kwargs)


PersonFactory = Callable[..., Awaitable[Person]]


@pytest.fixture
async def people(
    browser: Browser, request: pytest.FixtureRequest
) -> AsyncIterator[Callable[..., Awaitable[Person]]]:
    """`await people(base_url, tag, viewport=..., color_scheme=..., touch=...)` → a fresh Person."""
    made: list[Person] = []

    async def make(
        base_url: str,
        tag: str = "u",
        viewport: dict[str, int] | None = None,
        color_scheme: str = "light",
        touch: bool = False,
    ) -> Person:
        context = await browser.new_context(
            viewport=viewport or {"width": 1280, "height": 800},  # type: ignore[arg-type]
            color_scheme=color_scheme,  # type: ignore[arg-type]
            locale="en-US",
            timezone_id="UTC",
            has_touch=touch,
            is_mobile=touch,
        )
        await context.add_init_script(CSP_REPORTER)
        page = await context.new_page()
        person = Person(context, page, base_url, tag)
        made.append(person)
        return person

    yield make

    failed = getattr(request.node, "rep_call", None)
    for i, person in enumerate(made):
        if failed is not None and failed.failed:
            stem = f"FAILED-{request.node.name}-{i}-{person.tag}"
            for j, page in enumerate(person.context.pages):
                with contextlib.suppress(Exception):  # best-effort diagnostics
                    await page.screenshot(path=artifact(f"{stem}-tab{j}"))
            _write(artifact(stem, ".console.txt"), "\n".join(person.console))
        await person.context.close()
    violations = [line for person in made for line in csp_violations(person.console)]
    assert not violations, f"Content-Security-Policy violations: {violations}"
