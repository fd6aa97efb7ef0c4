"""Markdown in messages: the safe subset renders, hostile input neither runs nor links."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.conftest import PersonFactory
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser

HOSTILE = "\n".join(
    [
        "<script>window.__pwned = 1</script>",
        '<img src=x onerror="window.__pwned = 2"> <b>bold tag</b>',
        "[click me](javascript:window.__pwned=3) [data](data:text/html,<script>1</script>)",
        "[spaced]( javascript:window.__pwned=4 ) <javascript:window.__pwned=5>",
        "![pixel](https://example.com/track.png)",
        '<a href="javascript:window.__pwned=6">raw link</a> end of hostile',
    ]
)


async def test_markdown_renders_the_safe_subset(
    server: ServerProcess, people: PersonFactory
) -> None:
    ana = await (await people(server.url, "ana")).sign_up("Ana Lima")
    ben = await (await people(server.url, "ben")).sign_up("Ben Okafor")
    await ana.start_direct(ben)
    body = "\n".join(
        [
            "Some *emphasis*, **strong** and `inline code`, see [the notes](https://example.com/n).",
            "",
            "> quoted line",
            "",
            "- first",
            "- second",
            "",
            "```python",
            "def answer():",
            "    return 42",
            "```",
            "bare https://example.com/bare. end",
        ]
    )
    await ana.composer.fill(body)
    await ana.composer.press("Enter")
    await ben.open_room("Ana Lima")
    message = ben.message("quoted line")
    await expect(message).to_have_count(1)
    await expect(message.locator("em")).to_have_text("emphasis")
    await expect(message.locator("strong")).to_have_text("strong")
    await expect(message.locator(":not(pre) > code")).to_have_text("inline code")
    await expect(message.locator("blockquote")).to_have_text("quoted line")
    await expect(message.locator("li")).to_have_text(["first", "second"])
    # The fenced block is highlighted: the keyword and the number get their own spans.
    await expect(message.locator("pre code .hljs-keyword").first).to_have_text("def")
    await expect(message.locator("pre code .hljs-number")).to_have_text("42")
    notes = message.get_by_role("link", name="the notes")
    await expect(notes).to_have_attribute("href", "https://example.com/n")
    await expect(notes).to_have_attribute("rel", "noopener noreferrer nofollow")
    await expect(notes).to_have_attribute("target", "_blank")
    bare = message.get_by_role("link", name="https://example.com/bare")
    await expect(bare).to_have_attribute("href", "https://example.com/bare")


async def test_hostile_markdown_runs_no_script_and_links_nowhere_unsafe(
    server: ServerProcess, people: PersonFactory
) -> None:
    ana = await (await people(server.url, "ana")).sign_up("Ana Lima")
    ben = await (await people(server.url, "ben")).sign_up("Ben Okafor")
    await ana.start_direct(ben)
    await ana.composer.fill(HOSTILE)
    await ana.composer.press("Enter")
    await expect(ana.message("end of hostile")).to_have_count(1)
    await ben.open_room("Ana Lima")
    for person in (ana, ben):
        message = person.message("end of hostile")
        await expect(message).to_have_count(1)
        # Raw HTML is shown as text, never parsed into elements.
        await expect(message).to_contain_text("<script>window.__pwned = 1</script>")
        await expect(message).to_contain_text("<b>bold tag</b>")
        await expect(message.locator("script, img, b, iframe, [onerror]")).to_have_count(0)
        # No link anywhere on the page leads to script or data.
        hrefs = await person.page.locator("a[href]").evaluate_all(
            "els => els.map(a => a.getAttribute('href'))"
        )
        assert not [h for h in hrefs if not h.startswith(("/", "http:", "https:", "mailto:"))], (
            hrefs
        )
        assert not [h for h in hrefs if "pwned" in h or "script" in h.lower()], hrefs
        await expect(message.get_by_text("click me")).to_have_count(1)
        assert await person.page.evaluate("() => window.__pwned === undefined")
