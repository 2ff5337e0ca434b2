"""``/docs`` in a real browser with no network beyond the service: every operation is rendered.

Debian's Chromium (``make browser`` installs it), driven by Playwright. Every request the page
makes to another origin is refused and recorded, so a CDN dependency fails the test instead of
quietly loading; a screenshot is kept under ``.local/test-artifacts/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Route, async_playwright

from tests.e2e.operations_support import ServiceProcess

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def documented_operations(document: dict[str, object]) -> int:
    paths = document["paths"]
    assert isinstance(paths, dict)
    return sum(1 for item in paths.values() for method in item if method in HTTP_METHODS)


async def test_docs_page_renders_every_operation_offline(
    api_service: ServiceProcess, artifacts: Path
) -> None:
    assert shutil.which(CHROMIUM), "Chromium is missing: `make browser` installs Debian's"
    async with httpx.AsyncClient(base_url=api_service.url, timeout=10) as http:
        document = (await http.get("/openapi.json")).json()
    origin = urlsplit(api_service.url).netloc
    served: list[str] = []
    refused: list[str] = []

    async def only_the_service(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).netloc == origin:
            served.append(url)
            await route.continue_()
        else:
            refused.append(url)
            await route.abort("internetdisconnected")

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            # Root in CI has no user namespace for the sandbox; the page is our own.
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            await context.route("**/*", only_the_service)
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(f"{api_service.url}/docs", wait_until="networkidle")
            await page.wait_for_selector(".opblock", timeout=15_000)
            rendered = await page.locator(".opblock").count()
            title = await page.locator(".info .title").inner_text()
            await page.screenshot(path=str(artifacts / "docs-page.png"), full_page=True)
        finally:
            await browser.close()

    assert refused == [], f"the page asked other origins: {refused}"
    assert errors == []
    assert title.startswith("HuleEdu Class Management Service")
    assert rendered == documented_operations(document) >= 20
    assert any(url.endswith("/docs/assets/swagger-ui-bundle.js") for url in served)
    assert any(url.endswith("/openapi.json") for url in served)
