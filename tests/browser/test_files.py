"""Attachments in the browser: attach by button, by drop and by paste, progress then send,
an image inline (its thumbnail) with a full-size view, an HTML upload that only ever
downloads and runs nothing, the size limit shown, and the accessibility of it all."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from PIL import Image
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import FilePayload, expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import Person, PersonFactory
from tests.support.client import PASSWORD
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser

LIMIT_BYTES = 300_000
HTML = (
    b"<!doctype html><html><body><script>window.pwned = 1; parent.pwned = 1</script></body></html>"
)

DROP = """async ([name, text]) => {
  const data = new DataTransfer();
  data.items.add(new File([text], name, { type: 'text/html' }));
  const form = document.querySelector('[data-testid="composer-form"]');
  const options = { dataTransfer: data, bubbles: true, cancelable: true };
  form.dispatchEvent(new DragEvent('dragover', options));
  form.dispatchEvent(new DragEvent('drop', options));
}"""

# A screenshot pasted from the clipboard: Chromium names it image.png. The event is the
# one a real paste fires, a ClipboardEvent whose DataTransfer holds the file.
PASTE = """async (png) => {
  const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], 'image.png', { type: 'image/png' }));
  const composer = document.querySelector('[data-testid="composer"]');
  composer.focus();
  const options = { clipboardData: data, bubbles: true, cancelable: true };
  return composer.dispatchEvent(new ClipboardEvent('paste', options));
}"""


@pytest.fixture(scope="module")
async def small_limit_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[ServerProcess]:
    proc = ServerProcess(
        tmp_path_factory.mktemp("files"), {"PARLEY_MAX_UPLOAD_BYTES": str(LIMIT_BYTES)}
    )
    await proc.start()
    yield proc
    await proc.stop()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


async def uploads_done(person: Person, count: int) -> None:
    uploads = person.page.get_by_test_id("upload")
    await expect(uploads).to_have_count(count)
    await expect(person.page.get_by_role("progressbar")).to_have_count(0)


async def test_attach_send_view_and_download(
    small_limit_server: ServerProcess, people: PersonFactory
) -> None:
    ana: Person = await people(small_limit_server.url, "ana")
    ben: Person = await people(small_limit_server.url, "ben")
    await ana.sign_up("Ana Lima")
    await ben.sign_up("Ben Okafor")
    await ana.create_group("Files", ben)
    page = ana.page

    # Too large: said clearly, and not sent.
    await page.get_by_test_id("file-input").set_input_files(
        FilePayload(
            name="huge.bin", mimeType="application/octet-stream", buffer=b"\0" * (LIMIT_BYTES + 1)
        )
    )
    refused = page.get_by_test_id("upload").get_by_role("alert")
    await expect(refused).to_contain_text(re.compile("Too large.*limit of 300000 bytes"))
    await assert_accessible(page, "composer with a refused upload")
    await page.get_by_role("button", name="Remove huge.bin").click()
    await expect(page.get_by_test_id("upload")).to_have_count(0)

    # By button: an image; by drop: an HTML page.
    await page.get_by_role("button", name="Attach files").click()
    await page.get_by_test_id("file-input").set_input_files(
        FilePayload(name="sky.png", mimeType="image/png", buffer=png())
    )
    await page.evaluate(DROP, ["page.html", HTML.decode()])
    await uploads_done(ana, 2)
    await ana.composer.fill("two files")
    await ana.composer.press("Enter")
    await expect(ana.message("two files").get_by_test_id("attachment-image")).to_be_visible()

    await ben.open_room("Files")
    message = ben.message("two files")
    image = message.get_by_test_id("attachment-image")
    await expect(image).to_be_visible()
    await expect(image).to_have_attribute("src", re.compile("^blob:"))
    chip = message.get_by_test_id("attachment-file")
    await expect(chip).to_contain_text("page.html")
    await assert_accessible(ben.page, "a message with attachments")

    # The full-size view is a dialog, closed by Escape.
    await message.get_by_role("button", name="View sky.png full size").click()
    dialog = ben.page.get_by_role("dialog", name="sky.png")
    full = dialog.get_by_test_id("attachment-full")
    await expect(full).to_be_visible()
    assert await full.evaluate("(img) => img.naturalWidth") == 800
    await assert_accessible(ben.page, "the full-size view")
    await ben.page.keyboard.press("Escape")
    await expect(dialog).to_have_count(0)

    # The HTML file downloads under its name and runs nothing, from the chip...
    async with ben.page.expect_download() as started:
        await chip.click()
    download = await started.value
    assert download.suggested_filename == "page.html"
    saved = await download.path()
    assert await asyncio.to_thread(Path(saved).read_bytes) == HTML
    assert await ben.page.evaluate("() => window.pwned") is None
    # ...and opened by its URL in a tab of its own, with the token: still only a download.
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{small_limit_server.url}/api/auth/login",
            json={"username": ben.username, "password": PASSWORD},
        ) as response:
            token = (await response.json())["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        async with http.get(f"{small_limit_server.url}/api/rooms", headers=headers) as response:
            room = (await response.json())["rooms"][0]["id"]
        async with http.get(
            f"{small_limit_server.url}/api/rooms/{room}/messages", headers=headers
        ) as response:
            files = (await response.json())["messages"][-1]["attachments"]
    page_url = next(f["url"] for f in files if f["name"] == "page.html")
    tab = await ben.context.new_page()
    await tab.set_extra_http_headers(headers)
    async with tab.expect_download() as opened:
        with contextlib.suppress(PlaywrightError):  # "Download is starting": no page loads
            await tab.goto(small_limit_server.url + page_url)
    assert (await opened.value).suggested_filename == "page.html"
    assert await tab.evaluate("() => window.pwned") is None
    assert await ben.page.evaluate("() => window.pwned") is None


async def test_avatar_upload_shows_to_others(
    small_limit_server: ServerProcess, people: PersonFactory
) -> None:
    ana: Person = await people(small_limit_server.url, "ana")
    ben: Person = await people(small_limit_server.url, "ben")
    await ana.sign_up("Ana Lima")
    await ben.sign_up("Ben Okafor")
    page = ana.page
    await page.get_by_role("button", name="Settings", exact=True).click()
    dialog = page.get_by_role("main")
    await dialog.get_by_test_id("avatar-input").set_input_files(
        FilePayload(name="me.png", mimeType="image/png", buffer=png())
    )
    await expect(dialog.get_by_role("status")).to_have_text("Picture updated.")
    picture = dialog.get_by_test_id("avatar-picture")
    await expect(picture).to_have_attribute("src", re.compile("^blob:"))
    assert await picture.evaluate("(img) => img.naturalWidth") == 256
    await assert_accessible(page, "settings page with a picture")
    await page.get_by_role("button", name="Back to conversations").click()
    await ana.start_direct(ben)
    await ana.send("see my picture")
    await ben.open_room("Ana Lima")
    await expect(ben.message("see my picture")).to_have_count(1)
    await expect(ben.page.get_by_test_id("avatar-picture").first).to_be_visible()


async def test_paste_an_image_into_the_composer(
    small_limit_server: ServerProcess, people: PersonFactory
) -> None:
    ana: Person = await people(small_limit_server.url, "ana")
    ben: Person = await people(small_limit_server.url, "ben")
    await ana.sign_up("Ana Lima")
    await ben.sign_up("Ben Okafor")
    await ana.create_group("Pasted", ben)

    not_cancelled = await ana.page.evaluate(PASTE, base64.b64encode(png()).decode())
    assert not_cancelled is False  # the composer took the file: nothing else pastes it
    await uploads_done(ana, 1)
    await expect(ana.page.get_by_test_id("upload")).to_contain_text("image.png")
    await expect(ana.composer).to_have_value("")
    await ana.composer.fill("from the clipboard")
    await ana.composer.press("Enter")

    await ben.open_room("Pasted")
    image = ben.message("from the clipboard").get_by_test_id("attachment-image")
    await expect(image).to_be_visible()
    await expect(image).to_have_attribute("alt", "image.png")
    await expect(image).to_have_attribute("src", re.compile("^blob:"))
    # The thumbnail (480 pixels wide), not the 800-pixel original.
    await expect(image).to_have_js_property("naturalWidth", 480)
