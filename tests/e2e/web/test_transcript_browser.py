"""The case page in a real browser (Debian's Chromium through Playwright), on calls the
real worker transcribed: the word being played is highlighted as the recording plays
and seeks, and a click on a word seeks there; a transcript whose words were all dropped
says what was dropped and why and how much voice there was, and a handler transcribes
it again from the page (version 2; version 1 stays). Screenshots in
``test-artifacts/web``."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect
from sqlmodel import col, select

from hotline.config import Settings
from hotline.store.tables import Case, Transcript
from tests.support.kokoro import mandarin_call
from tests.support.waiting import transcript_version
from tests.support.web_browser import ARTIFACTS, chromium, sign_in, watch
from tests.support.web_server import PASSWORD, hotline_core, serve_web

pytestmark = pytest.mark.slow

SCRIPT = ["您好，我要举报金河水泥厂虚报产值。", "他们的会计伪造了统计台账。", "请你们尽快调查。"]

# The highlighted word, and the player's time, read in one go on the page.
_READ = """() => {
  const a = document.querySelector('audio');
  const on = [...document.querySelectorAll('#transcript .word.playing')];
  const spans = on.map(w => [Number(w.dataset.start), Number(w.dataset.end), w.textContent]);
  return {at: a.currentTime, playing: spans};
}"""


async def _seek(page: Page, at: float) -> dict[str, Any]:
    await page.evaluate(
        """(at) => new Promise((done) => {
             const a = document.querySelector('audio');
             a.addEventListener('seeked', () => setTimeout(done, 50), {once: true});
             a.currentTime = at;
           })""",
        at,
    )
    reading: dict[str, Any] = await page.evaluate(_READ)
    return reading


async def test_the_word_being_played_is_highlighted(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    call = mandarin_call(SCRIPT, voice="zf_xiaoyi", gap=0.8)
    settings = make_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'w.db'}", language="zh", job_poll_seconds=0.2
    )
    errors: list[str] = []
    async with hotline_core(settings) as core, serve_web(core) as rig, chromium() as browser:
        await rig.add_user("hd1", "handler")
        ingested = await core.intake.ingest_file(call, caller="13800138000", actor="test")
        case_id = ingested.case.id or 0
        worker = core.worker()
        await worker.start()
        try:
            machine = await transcript_version(core, case_id, 1)
        finally:
            await worker.stop()
        words = [w for seg in machine.segments for w in seg["words"]]
        assert len(words) >= 10, machine.segments

        page = await browser.new_page(locale="en-US", viewport={"width": 1400, "height": 1000})
        watch(page, errors)
        await sign_in(page, rig.url, "hd1", PASSWORD)
        await page.goto(f"{rig.url}/cases/{case_id}")
        spans = page.locator("#transcript .word")
        await expect(spans).to_have_count(len(words))
        # The words spell the segments' texts: what the handler reads is unchanged.
        texts = await page.locator("#transcript .segment .text").all_text_contents()
        assert texts == [seg["text"] for seg in machine.segments]

        # Seek into the middle of words across the call: that word, and only it, is lit.
        for w in words[:: max(1, len(words) // 6)]:
            middle = (w["start"] + w["end"]) / 2
            reading = await _seek(page, middle)
            assert len(reading["playing"]) == 1, (middle, reading)
            start, end, text = reading["playing"][0]
            assert start <= reading["at"] < end, reading
            assert (start, end, text) == (w["start"], w["end"], w["word"]), (w, reading)
        # Between two sentences (the pause of 0.8 s) no word is being said.
        gaps = [(a["end"], b["start"]) for a, b in itertools.pairwise(words)]
        gap = max(gaps, key=lambda g: g[1] - g[0])
        assert gap[1] - gap[0] > 0.3, gaps
        reading = await _seek(page, (gap[0] + gap[1]) / 2)
        assert reading["playing"] == [], reading

        # Playing: the highlight follows the player, word by word.
        await page.evaluate(
            "() => { const a = document.querySelector('audio'); a.currentTime = 0; a.play(); }"
        )
        seen: set[tuple[float, float]] = set()
        for _ in range(25):
            await asyncio.sleep(0.2)
            reading = await page.evaluate(_READ)
            for start, end, _text in reading["playing"]:
                # Read a frame after it was set: the time may be a frame past the word.
                assert start - 0.05 <= reading["at"] < end + 0.1, reading
                seen.add((start, end))
        await page.evaluate("() => document.querySelector('audio').pause()")
        assert len(seen) >= 5, seen
        await page.screenshot(path=str(ARTIFACTS / "word-highlight.png"), full_page=True)

        # A click on a word seeks to it.
        target = spans.nth(len(words) - 2)
        start = float(await target.get_attribute("data-start") or 0)
        await target.click()
        await page.wait_for_function(
            "(at) => Math.abs(document.querySelector('audio').currentTime - at) < 0.3",
            arg=start,
            timeout=10_000,
        )
        await page.evaluate("() => document.querySelector('audio').pause()")
    assert not errors, errors


def _quiet(out: Path) -> Path:
    """Natural speech 48 dB down: the model still makes out words, the guard drops them
    as too quiet to be heard."""
    loud = mandarin_call(SCRIPT[:1], voice="zm_yunjian", gap=0.6)
    subprocess.run(
        ["sox", str(loud), "-e", "signed-integer", "-b", "16", str(out), "vol", "-48dB"],
        check=True,
    )
    return out


async def test_a_dropped_transcript_says_why_and_is_transcribed_again(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    quiet = _quiet(tmp_path / "quiet.wav")
    settings = make_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'd.db'}", language="zh", job_poll_seconds=0.2
    )
    errors: list[str] = []
    async with hotline_core(settings) as core, serve_web(core) as rig, chromium() as browser:
        await rig.add_user("hd1", "handler")
        await rig.add_user("op1", "operator")
        ingested = await core.intake.ingest_file(quiet, caller="13800138000", actor="test")
        case_id = ingested.case.id or 0
        async with core.db.session() as s:
            case = await s.get(Case, case_id)
            assert case is not None
            case.operator = "op1"  # the operator took this call: reads it, may not re-run it
            s.add(case)
        worker = core.worker()
        await worker.start()
        try:
            first = await transcript_version(core, case_id, 1)
            assert first.segments == [] and first.report["reasons"].keys() == {"silence"}

            page = await browser.new_page(locale="en-US", viewport={"width": 1400, "height": 1000})
            watch(page, errors)
            await sign_in(page, rig.url, "hd1", PASSWORD)
            await page.goto(f"{rig.url}/cases/{case_id}")
            notice = page.locator("#transcript-notice")
            await expect(notice).to_be_visible()
            await expect(notice.locator("h2")).to_have_text("The machine transcript is empty.")
            voiced = float(await notice.get_attribute("data-voiced") or 0)
            assert voiced > 2.0, voiced
            await expect(notice).to_contain_text(f"Voice was heard in {voiced:.1f} s")
            reason = notice.locator(".drop-reason[data-reason=silence]")
            await expect(reason).to_contain_text("too quiet to be heard")
            await notice.locator("#dropped-texts summary").click()
            await expect(notice.locator(".dropped").first).to_contain_text("举报")
            await page.screenshot(path=str(ARTIFACTS / "dropped-transcript.png"), full_page=True)

            # Transcribe again from the page, with the other model offered.
            form = page.locator("#rerun-form")
            await form.locator("select[name=language]").select_option("zh")
            await form.locator("select[name=model]").select_option("bundled-base")
            await form.locator("button[type=submit]").click()
            await expect(form.locator("#rerun-status")).to_contain_text("version 2")
            await expect(page.locator("#transcript-version")).to_have_text(
                "Version 2", timeout=240_000
            )
            await expect(page.locator("#rerun-info")).to_contain_text("hd1")
            await expect(page.locator("#versions li")).to_have_count(2)
            # Still all dropped (the line is as quiet as before): the page still says so.
            await expect(page.locator("#transcript-notice")).to_be_visible()
            await page.screenshot(path=str(ARTIFACTS / "rerun-transcript.png"), full_page=True)

            # The operator who took the call reads the notice but gets no form.
            other = await browser.new_page(locale="en-US")
            await sign_in(other, rig.url, "op1", PASSWORD)
            await other.goto(f"{rig.url}/cases/{case_id}")
            await expect(other.locator("#transcript-notice")).to_be_visible()
            await expect(other.locator("#rerun-form")).to_have_count(0)
        finally:
            await worker.stop()
        async with core.db.session() as s:
            rows = (
                await s.exec(select(Transcript).where(col(Transcript.case_id) == case_id))
            ).all()
        assert sorted(t.version for t in rows) == [1, 2]
        assert next(t for t in rows if t.version == 1).report == first.report
    assert not errors, errors
