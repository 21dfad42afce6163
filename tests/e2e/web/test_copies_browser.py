"""Copies for a party in a real browser (art. 17): a handler marks a term on the
transcript and records a party's request for a redacted copy; the same handler cannot
approve it; the head approves it on the Copy requests page; the handler issues the copy
and downloads it; the ZIP checks out and holds neither the ID nor the marked term; the
processing record and the audit trail say request → approval → issue → download, in
words, with the people's names. Screenshots in ``test-artifacts/web``."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from hotline.config import Settings
from hotline.custody import bundle
from tests.support.web_browser import ARTIFACTS, chromium, sign_in, watch
from tests.support.web_data import open_case
from tests.support.web_server import PASSWORD, hotline_core, serve_web

pytestmark = pytest.mark.slow

ID = "11010519491231002X"
SEGMENTS = [
    {"start": 0.0, "end": 1.2, "text": "你好，我要举报。", "speaker": "caller"},
    {
        "start": 1.2,
        "end": 3.0,
        "text": f"我叫王小明，身份证{ID}。",
        "speaker": "caller",
        "words": [
            {"start": 1.2, "end": 1.9, "word": "我叫王小明，"},
            {"start": 1.9, "end": 2.2, "word": "身份证"},
            {"start": 2.2, "end": 3.0, "word": ID + "。"},
        ],
    },
    {
        "start": 3.0,
        "end": 4.0,
        "text": "红星化工厂账外经营。",
        "speaker": "caller",
        "words": [
            {"start": 3.0, "end": 3.5, "word": "红星化工厂"},
            {"start": 3.5, "end": 4.0, "word": "账外经营。"},
        ],
    },
]


async def _row_texts(page: Page, table: str) -> list[tuple[str, str]]:
    rows = page.locator(f"{table} tbody tr")
    out = []
    for i in range(await rows.count()):
        row = rows.nth(i)
        out.append(
            (await row.locator(".who").inner_text(), await row.locator(".said").inner_text())
        )
    return out


def _in_order(rows: list[tuple[str, str]], wanted: list[tuple[str, str]]) -> bool:
    """Each (who, words) of ``wanted`` appears, in that order, among ``rows``."""
    at = 0
    for who, words in rows:
        if at < len(wanted) and who == wanted[at][0] and wanted[at][1] in words:
            at += 1
    return at == len(wanted)


async def test_a_redacted_copy_from_request_to_download_in_a_real_browser(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    errors: list[str] = []
    async with hotline_core(settings) as core, serve_web(core) as rig, chromium() as browser:
        await rig.add_user("li.ming", "handler", display_name="李明")
        await rig.add_user("zhang.wei", "head", display_name="张伟")
        case = await open_case(
            core, tmp_path, seed=7, segments=SEGMENTS, fields={"reporter_name": "王小明"}
        )
        base = rig.url

        # --- the handler, in Chinese: a marked term, then the request ----------------
        handler = await browser.new_page(locale="zh-CN", viewport={"width": 1400, "height": 1000})
        watch(handler, errors)
        await sign_in(handler, base, "li.ming", PASSWORD)
        await expect(handler).to_have_url(f"{base}/cases")
        await handler.goto(f"{base}/cases/{case.id}")
        marks = handler.locator("#mark-list")
        await expect(marks).to_contain_text("尚未标记词语")
        # Selecting a word in the transcript puts it in the mark's input.
        await handler.evaluate(
            """() => {
                // The segment's first five characters, across its timed words' spans.
                const text = document.querySelectorAll('#transcript .segment .text')[2];
                const walker = document.createTreeWalker(text, NodeFilter.SHOW_TEXT);
                const range = document.createRange();
                let seen = 0;
                for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                    if (seen === 0) range.setStart(node, 0);
                    if (seen + node.length >= 5) {
                        range.setEnd(node, 5 - seen);
                        break;
                    }
                    seen += node.length;
                }
                const selection = window.getSelection();
                selection.removeAllRanges();
                selection.addRange(range);
                text.dispatchEvent(new MouseEvent('mouseup', { bubbles: true }));
            }"""
        )
        term = handler.locator("#mark-form input[name=term]")
        await expect(term).to_have_value("红星化工厂")
        await handler.click("#mark-form button[type=submit]")
        await expect(marks.locator("li.mark")).to_have_count(1)
        await expect(marks).to_contain_text("红星化工厂")
        await expect(marks).to_contain_text("转写文本中出现 1 次")

        await handler.click("#new-copy summary")
        form = handler.locator("#copy-form")
        await form.locator("input[name=party_name]").fill("王小明")
        await form.locator("select[name=party_id_type]").select_option("resident_id")
        await form.locator("input[name=party_id_number]").fill(ID)
        await form.locator("textarea[name=purpose]").fill("申请行政复议")
        await expect(form.locator("input[name=kind][value=redacted]")).to_be_checked()
        await form.locator("input[name=kind][value=full]").check()
        await expect(form.locator("#full-reason")).to_be_visible()
        await form.locator("input[name=kind][value=redacted]").check()
        await expect(form.locator("#full-reason")).to_be_hidden()
        await handler.screenshot(path=str(ARTIFACTS / "c1-handler-request.png"), full_page=True)
        await form.locator("button[type=submit]").click()
        request = handler.locator("#copy-requests article.copy-request")
        await expect(request).to_have_count(1)
        await expect(request.locator(".copy-status")).to_have_text("待审批")
        await expect(request).to_contain_text("110***********002X")
        await expect(request).not_to_contain_text(ID)
        number = f"{case.number}-C01"
        await expect(request).to_contain_text(number)
        copy_id = await request.get_attribute("data-copy")

        # The same handler cannot approve it: no button, and the server says no.
        await handler.goto(f"{base}/copies")
        await expect(handler.locator(f"article[data-copy='{copy_id}']")).to_have_count(1)
        await expect(handler.locator("button[data-step=approve]")).to_have_count(0)
        refused = await handler.evaluate(
            """async (id) => {
                const config = JSON.parse(document.getElementById('hotline-config').textContent);
                const r = await fetch(`/api/copies/${id}/approve`, {
                    method: 'POST', credentials: 'same-origin',
                    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': config.csrf},
                    body: '{}'});
                return r.status;
            }""",
            copy_id,
        )
        assert refused == 403

        # --- the head approves, on the Copy requests page ----------------------------
        head = await browser.new_page(locale="zh-CN", viewport={"width": 1400, "height": 1000})
        watch(head, errors)
        await sign_in(head, base, "zhang.wei", PASSWORD)
        await head.click("header.top nav a[href='/copies']")
        await head.click("#copy-states a[data-state=requested]")
        pending = head.locator(f"article[data-copy='{copy_id}']")
        await expect(pending.locator(".requested-by")).to_contain_text("li.ming")
        await pending.locator("input[name=comment]").fill("同意，按规定删除个人信息")
        await head.screenshot(path=str(ARTIFACTS / "c2-head-copy-requests.png"), full_page=True)
        await pending.locator("button[data-step=approve]").click()
        await expect(head.locator("#copy-states a[data-state=requested]")).to_contain_text("(0)")
        await head.goto(f"{base}/copies?status=approved")
        approved = head.locator(f"article[data-copy='{copy_id}']")
        await expect(approved.locator(".copy-status")).to_have_text("已批准")
        await expect(approved.locator(".decided-by")).to_contain_text("zhang.wei")

        # --- the handler issues and downloads it ----------------------------------------
        await handler.goto(f"{base}/cases/{case.id}")
        mine = handler.locator(f"article[data-copy='{copy_id}']")
        await mine.locator("button[data-step=issue]").click()
        mine = handler.locator(f"article[data-copy='{copy_id}']")
        await expect(mine.locator(".copy-status")).to_have_text("已制作")
        async with handler.expect_download() as downloading:
            await mine.locator("a[href$='/download']").click()
        download = await downloading.value
        assert download.suggested_filename == f"{number}.zip"
        saved = tmp_path / download.suggested_filename
        await download.save_as(saved)
        data = saved.read_bytes()
        checked = bundle.verify(io.BytesIO(data), fingerprint=core.key.fingerprint)
        assert checked.ok, checked.problems
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            text = z.read("transcript.txt").decode()
        assert number in text and ID not in text and "王小明" not in text
        assert "红星化工厂" not in text and "账外经营" in text
        await handler.screenshot(path=str(ARTIFACTS / "c3-handler-issued.png"), full_page=True)

        # --- the record, in words, with names -----------------------------------------
        await handler.reload()
        history = await _row_texts(handler, "#history")
        assert _in_order(
            history,
            [
                ("李明 (li.ming)", "标记复制件中须删除的词语"),
                ("李明 (li.ming)", f"登记复制申请 {number}，申请人 王**：申请行政复议"),
                ("张伟 (zhang.wei)", f"批准复制申请 {number}（意见：同意，按规定删除个人信息）"),
                ("李明 (li.ming)", f"制作复制件 {number}"),
                ("李明 (li.ming)", f"下载复制件 {number}"),
            ],
        ), history
        assert not any(re.search(r"copy\.\w+", said) for _who, said in history), history

        trail = await browser.new_page(locale="en-US", viewport={"width": 1400, "height": 1000})
        watch(trail, errors)
        await sign_in(trail, base, "zhang.wei", PASSWORD)
        await trail.goto(f"{base}/audit?case_id={case.id}")
        await expect(trail.locator("#audit-events tbody tr").first).to_be_visible()
        # The head's own language setting is empty: the browser's decides.
        events = list(reversed(await _row_texts(trail, "#audit-events")))
        assert _in_order(
            events,
            [
                ("李明 (li.ming)", f"recorded copy request {number} for 王**"),
                ("张伟 (zhang.wei)", f"approved copy request {number}"),
                ("李明 (li.ming)", f"issued copy {number} (ZIP SHA-256"),
                ("李明 (li.ming)", f"downloaded copy {number}"),
            ],
        ), events
        await trail.screenshot(path=str(ARTIFACTS / "c4-audit-trail.png"), full_page=True)

    # The one error the browser saw is the refused approval the test asked for.
    assert [e for e in errors if "403" not in e] == [], errors
