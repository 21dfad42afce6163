"""A case whose recording began late says so on its page, and under each recording that
the notice is not in it: the no-MixMonitor capture from a real Asterisk replayed through
the Asterisk source, then the case page in a real browser, in English and in Chinese.
Screenshot in ``test-artifacts/web``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.async_api import expect
from sqlmodel import select

from hotline.config import Settings
from hotline.store.tables import Case, Incident
from tests.support.ami_replay import replay
from tests.support.web_browser import ARTIFACTS, chromium
from tests.support.web_server import PASSWORD, hotline_core, serve_web

pytestmark = pytest.mark.slow


async def test_the_case_page_shows_that_the_notice_is_not_in_the_recording(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'i.db'}")
    async with hotline_core(settings) as core:
        async with asyncio.timeout(60):
            await replay("project-dialplan/no-mixmonitor", tmp_path / "monitor", core.on_fact)
        async with core.db.session() as s:
            (case,) = (await s.exec(select(Case))).all()
            (incident,) = (await s.exec(select(Incident))).all()
        async with serve_web(core) as rig, chromium() as browser:
            await rig.add_user("hd1", "handler")
            for locale, title, kind, notice in (
                (
                    "en-US",
                    "Recording incidents",
                    "Recording incomplete",
                    "Recording notice: not in",
                ),
                ("zh-CN", "录音异常", "录音不完整", "录音提示：不在录音中"),
            ):
                page = await browser.new_page(
                    locale=locale, viewport={"width": 1300, "height": 900}
                )
                await page.goto(f"{rig.url}/login")
                await page.fill("input[name=username]", "hd1")
                await page.fill("input[name=password]", PASSWORD)
                await page.click("#login-form button[type=submit]")
                await expect(page).to_have_url(f"{rig.url}/cases")
                await page.goto(f"{rig.url}/cases/{case.id}")
                box = page.locator("#incidents")
                await expect(box).to_be_visible()
                await expect(box.locator("h2")).to_have_text(title)
                item = box.locator("li.incident[data-kind='recording.incomplete']")
                await expect(item).to_have_count(1)
                await expect(item.locator("strong")).to_have_text(kind)
                await expect(item).to_contain_text(incident.detail)
                await expect(item).to_contain_text("recording notice are not in the evidence")
                # Under each recording, what it holds of the notice (art. 9), and how late
                # it began, as the incident says.
                late = incident.detail.split(" s after answer")[0].rsplit(" ", 1)[-1]
                states = page.locator("#listen .notice-state.warn[data-notice='not_recorded']")
                await expect(states.first).to_contain_text(notice)
                for text in await states.all_inner_texts():
                    assert late in text, (late, text)
                await page.screenshot(path=str(ARTIFACTS / f"case-late-start-{locale}.png"))
                await page.close()
