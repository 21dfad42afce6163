"""Long-term preservation in a real browser: a handler flags a case on its page, the
list shows the badge and filters by it, the head lifts the flag with a reason.
Screenshots in ``test-artifacts/web``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, expect
from sqlmodel import col, select

from hotline.config import Settings
from hotline.store.tables import AuditEvent
from tests.support.web_browser import ARTIFACTS, chromium
from tests.support.web_data import open_case
from tests.support.web_server import PASSWORD, hotline_core, serve_web

pytestmark = pytest.mark.slow


async def _signed_in(browser: Browser, base: str, name: str, errors: list[str]) -> Page:
    page = await browser.new_page(locale="zh-CN")

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{base}/login")
    await page.fill("input[name=username]", name)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await expect(page).to_have_url(f"{base}/cases")
    return page


async def test_a_handler_flags_and_the_head_lifts_in_the_browser(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    errors: list[str] = []
    async with hotline_core(settings) as core, serve_web(core) as rig, chromium() as browser:
        await rig.add_user("hd1", "handler")
        await rig.add_user("boss", "head")
        kept = await open_case(core, tmp_path, seed=1)
        other = await open_case(core, tmp_path, seed=2)

        handler = await _signed_in(browser, rig.url, "hd1", errors)
        await handler.goto(f"{rig.url}/cases/{kept.id}")
        await expect(handler.locator("#preservation-state")).to_contain_text("未标记长期保存")
        form = handler.locator("#preservation-mark")
        await form.locator("select[name=reason]").select_option("other")
        await form.locator("input[name=note]").fill("媒体关注")
        await form.locator("button[type=submit]").click()
        await expect(handler.locator("#preserved-badge")).to_have_text("长期保存")
        await expect(handler.locator("#preservation-state")).to_contain_text("媒体关注")
        await expect(handler.locator("#preservation-lift")).to_have_count(0)
        await expect(handler.locator("#preservation")).to_contain_text("只有负责人可以解除")
        await handler.screenshot(path=str(ARTIFACTS / "preservation-1-flagged.png"))

        await handler.goto(f"{rig.url}/cases")
        await handler.locator("#case-filters input[name=preserved]").check()
        await handler.locator("#case-filters button[type=submit]").click()
        await expect(handler.locator("#case-list tbody tr")).to_have_count(1)
        row = handler.locator(f"tr[data-case='{kept.id}']")
        await expect(row.locator(".badge.keep")).to_have_text("长期保存")
        await expect(handler.locator(f"tr[data-case='{other.id}']")).to_have_count(0)

        head = await _signed_in(browser, rig.url, "boss", errors)
        await head.goto(f"{rig.url}/cases/{kept.id}")
        lift = head.locator("#preservation-lift")
        await lift.locator("input[name=reason]").fill("当事人撤回异议，经负责人批准")
        await lift.locator("button[type=submit]").click()
        await expect(head.locator("#preservation-state")).to_contain_text("未标记长期保存")
        await expect(head.locator("#preserved-badge")).to_have_count(0)
        await head.screenshot(path=str(ARTIFACTS / "preservation-2-lifted.png"))

        async with core.db.session() as s:
            actions = (
                await s.exec(
                    select(AuditEvent.action, AuditEvent.actor)
                    .where(col(AuditEvent.action).startswith("case.preservation"))
                    .order_by(col(AuditEvent.seq))
                )
            ).all()
    assert [tuple(a) for a in actions] == [
        ("case.preservation_marked", "user:hd1"),
        ("case.preservation_lifted", "user:boss"),
    ]
    assert errors == []
