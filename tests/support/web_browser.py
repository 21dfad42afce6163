"""Debian's chromium driven by Playwright (no browser download), headless, with the
flags that work on a CI machine; screenshots go to ``test-artifacts/web``."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("chromium is not installed: run `make test` (apt-get install chromium)")


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium_path(), args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


def watch(page: Page, errors: list[str]) -> None:
    """Collect the page's script errors and console errors into ``errors``."""

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))


async def sign_in(page: Page, base: str, name: str, password: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("input[name=username]", name)
    await page.fill("input[name=password]", password)
    await page.click("#login-form button[type=submit]")
