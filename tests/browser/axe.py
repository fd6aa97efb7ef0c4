"""axe-core in the page: every screen is checked for serious and critical violations.

The script comes from the web client's own npm dependencies (web/node_modules/axe-core),
so the version is pinned by package-lock.json. It is evaluated through the DevTools
protocol, which the page's Content-Security-Policy does not govern, so the strict policy
stays on while axe runs.
"""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page

from tests.browser.conftest import ROOT

AXE_SCRIPT = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = frozenset({"serious", "critical"})
SCHEMES = ("light", "dark")
WAIT_FOR_ANIMATIONS = """async () => {
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  await Promise.all(document.getAnimations().map((a) => a.finished.catch(() => null)));
}"""


def _source() -> str:
    if not AXE_SCRIPT.exists():
        raise AssertionError(f"{AXE_SCRIPT} is missing: run `make web-deps`")
    return AXE_SCRIPT.read_text()


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = [" ".join(map(str, n.get("target", []))) for n in v.get("nodes", [])][:5]
        summary = v.get("nodes", [{}])[0].get("failureSummary", "").replace("\n", " ")
        lines.append(f"{v['impact']} {v['id']}: {v['help']} at {targets} ({summary[:300]})")
    return "\n".join(lines)


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    """The serious and critical axe-core violations of the page as it is now."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.evaluate(_source())
    results: dict[str, Any] = await page.evaluate(
        "async () => await window.axe.run(document, { resultTypes: ['violations'] })"
    )
    return [v for v in results["violations"] if v.get("impact") in FAILING_IMPACTS]


async def assert_accessible(page: Page, where: str) -> None:
    """No serious or critical violation on this screen, in light and in dark mode."""
    failures = []
    try:
        for scheme in SCHEMES:
            await page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
            # Colours fade (CSS transitions): axe reads them once every animation has ended.
            await page.evaluate(WAIT_FOR_ANIMATIONS)
            found = await serious_violations(page)
            if found:
                failures.append(f"[{where}, {scheme}]\n{_describe(found)}")
    finally:
        await page.emulate_media(color_scheme=None)
    assert not failures, "axe-core violations:\n" + "\n".join(failures)
