"""A real browser on the real service: an operator takes a call that appears live
(driven by the same call facts the AMI and SIP sources emit) and fills the intake form;
a handler finds the case by a Chinese word of its machine transcript, plays the
recording, seeks by clicking a segment, corrects a line (version 2, with its diff) and
forwards the case. Screenshots in ``test-artifacts/web``."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import ConsoleMessage, Dialog, Page, expect
from sqlmodel import col, select

from hotline.calls import CallAnswered, CallEnded, CallStarted, RecordingFinished, RecordingStarted
from hotline.config import Settings
from hotline.store.tables import AuditEvent, Case, Transcript
from hotline.store.types import utcnow
from tests.support.kokoro import mandarin_call
from tests.support.web_browser import ARTIFACTS, chromium
from tests.support.web_server import PASSWORD, WebRig, hotline_core, serve_web

pytestmark = pytest.mark.slow

TURNS = [
    ("caller", "你好，我要举报。金河水泥厂统计造假，虚报产值。"),
    ("operator", "好的，请您慢慢说。"),
]


def _watch(page: Page, errors: list[str]) -> None:
    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))


async def _sign_in(page: Page, base: str, name: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("input[name=username]", name)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("#login-form button[type=submit]")


async def _transcribed(rig: WebRig, case_id: int, within: float = 240) -> Transcript:
    async with asyncio.timeout(within):
        while True:
            async with rig.core.db.session() as s:
                found = (
                    await s.exec(select(Transcript).where(col(Transcript.case_id) == case_id))
                ).first()
            if found is not None:
                return found
            await asyncio.sleep(0.5)


async def test_operator_and_handler_in_a_real_browser(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    # The caller on the left, the operator on the right, as MixMonitor's stereo writes.
    spoken = mandarin_call(
        TURNS,
        voices={"caller": "zf_xiaobei", "operator": "zm_yunyang"},
        stereo=("caller", "operator"),
        gap=1.0,
    )
    call_wav = Path(shutil.copy(spoken, tmp_path / "call.wav"))
    settings = make_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", language="zh", job_poll_seconds=0.2
    )
    errors: list[str] = []
    async with hotline_core(settings) as core, serve_web(core) as rig, chromium() as browser:
        await rig.add_user("op1", "operator")
        await rig.add_user("hd1", "handler")
        base = rig.url

        # --- the operator, in Chinese ------------------------------------------------
        operator = await browser.new_page(locale="zh-CN", viewport={"width": 1400, "height": 900})
        _watch(operator, errors)
        await _sign_in(operator, base, "op1")
        await expect(operator).to_have_url(f"{base}/live")
        await expect(operator.locator("#connection")).to_have_text("已连接")

        now = utcnow()
        await core.on_fact(
            CallStarted(call_id="b-1", source="sip", at=now, caller="13800138000", callee="12340")
        )
        row = operator.locator("tr[data-call='b-1']")
        await expect(row.locator(".caller")).to_have_text("13800138000")
        await core.on_fact(CallAnswered(call_id="b-1", at=now + timedelta(seconds=1)))
        # Answered and not recorded: impossible to miss.
        alarm = operator.locator("#unrecorded-alarm")
        await expect(alarm).to_be_visible()
        await expect(alarm).to_contain_text("没有录音")
        await expect(row).to_have_class(re.compile("unrecorded"))
        await operator.screenshot(path=str(ARTIFACTS / "1-operator-unrecorded-call.png"))
        await core.on_fact(
            RecordingStarted(call_id="b-1", at=now + timedelta(seconds=1), name="b-1.wav")
        )
        await expect(row.locator(".badge")).to_have_text("● 录音中")
        await expect(alarm).to_be_hidden()

        await row.click()
        form = operator.locator("#intake-form")
        await expect(form).to_be_visible()
        await expect(form.locator("input[name=reporter_contact]")).to_have_value("13800138000")
        await form.locator("input[name=reporter_name]").fill("王先生")
        await form.locator("input[name=entity_name]").fill("金河水泥厂")
        await form.locator("select[name=category]").select_option("false_data")
        await form.locator("textarea[name=operator_notes]").fill(
            "来电人称该厂虚报产值，有月报表为证。"
        )
        await form.locator("button[type=submit]").click()
        await expect(operator.locator("#intake-status")).to_have_text("已保存。")
        await operator.screenshot(path=str(ARTIFACTS / "2-operator-intake.png"))

        # Hang-up: the recording is sealed, the case opens with the form on it.
        end = now + timedelta(seconds=14)
        await core.on_fact(
            RecordingFinished(
                call_id="b-1", at=end, path=call_wav, started_at=now + timedelta(seconds=1)
            )
        )
        await core.on_fact(CallEnded(call_id="b-1", at=end, answered=True))
        await expect(row).to_have_count(0)
        async with core.db.session() as s:
            case = (await s.exec(select(Case))).one()
        assert case.operator == "op1" and case.entity_name == "金河水泥厂"

        # The machine transcript (the bundled multilingual model, offline).
        worker = core.worker()
        await worker.start()
        try:
            transcript = await _transcribed(rig, case.id or 0)
        finally:
            await worker.stop()
        word = "水泥厂"
        assert word in transcript.text, transcript.text

        # --- the handler, in English -----------------------------------------------
        handler = await browser.new_page(locale="en-US", viewport={"width": 1400, "height": 1000})
        _watch(handler, errors)
        await _sign_in(handler, base, "hd1")
        await expect(handler).to_have_url(f"{base}/cases")
        await handler.fill("input[name=q]", word)
        await handler.click("#case-filters button[type=submit]")
        link = handler.locator(f"#case-list a:text('{case.number}')")
        await expect(link).to_have_count(1)
        await expect(handler.locator("#case-list tbody tr")).to_have_count(1)
        await handler.screenshot(path=str(ARTIFACTS / "3-handler-search.png"))
        await link.click()
        await expect(handler.locator("h1")).to_contain_text(case.number)
        await expect(handler.locator("#caller-number")).to_have_text("138****8000")

        # Play, then click a segment: the player seeks there.
        audio = handler.locator("audio").first
        await audio.evaluate("a => a.play()")
        # Functions, not strings: the page's CSP forbids eval, and Playwright honours it.
        await handler.wait_for_function(
            "() => document.querySelector('audio').currentTime > 0.3", timeout=30_000
        )
        segments = handler.locator("#transcript .segment")
        last = segments.last
        start = float(await last.get_attribute("data-start") or 0)
        await last.locator(".time").click()
        await handler.wait_for_function(
            "(at) => Math.abs(document.querySelector('audio').currentTime - at) < 1.0",
            arg=start,
            timeout=10_000,
        )
        await expect(last).to_have_class(re.compile("current"))
        await expect(handler.locator("#transcript .speaker").first).not_to_be_empty()
        await audio.evaluate("a => a.pause()")
        await handler.screenshot(path=str(ARTIFACTS / "4-handler-case.png"), full_page=True)

        # Correct the first line: version 2, with the change shown.
        await handler.click("#correct")
        first = segments.first.locator(".text")
        await first.fill("你好，我要举报金河水泥厂统计造假。")
        await handler.click("#save-correction")
        await expect(handler.locator("#transcript-version")).to_have_text("Version 2")
        await expect(handler.locator("#diff ins").first).to_be_visible()
        await expect(handler.locator("#versions li")).to_have_count(2)
        await handler.screenshot(path=str(ARTIFACTS / "5-handler-version-2.png"), full_page=True)

        # Forward to the case system.
        async def accept(dialog: Dialog) -> None:
            await dialog.accept()

        handler.on("dialog", accept)
        await handler.click("#forward")
        await expect(handler.locator("#forward-status")).to_have_text(
            "Forwarded to the case system."
        )
        await expect(handler.locator("#case-status")).to_have_text("Forwarded")
        await handler.screenshot(path=str(ARTIFACTS / "6-handler-forwarded.png"), full_page=True)

        # --- the auditor: every look and change is in the trail --------------------
        await rig.add_user("au1", "auditor")
        auditor = await browser.new_page(locale="zh-CN", viewport={"width": 1400, "height": 900})
        _watch(auditor, errors)
        await _sign_in(auditor, base, "au1")
        await auditor.goto(f"{base}/audit")
        trail = auditor.locator("#audit-events tbody")
        await expect(trail).to_contain_text("transcript.corrected")
        await expect(trail).to_contain_text("recording.played")
        await auditor.screenshot(path=str(ARTIFACTS / "7-auditor-trail.png"))

    assert not errors, errors
    async with core.db.session() as s:
        actions = [e.action for e in (await s.exec(select(AuditEvent))).all()]
    for expected in (
        "intake.saved",
        "case.intake",
        "recording.played",
        "transcript.viewed",
        "transcript.corrected",
        "case.forwarded",
    ):
        assert expected in actions, expected
