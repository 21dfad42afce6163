"""The server-rendered pages: who may open which, in which language, and the forms'
own protections (sign-in CSRF, sign-out, password change)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.web_data import ZH_SEGMENTS, open_case
from tests.support.web_server import PASSWORD, WebRig

PAGES = {
    "/live": {"operator", "supervisor", "head", "admin"},
    "/cases": {"operator", "handler", "supervisor", "head", "auditor", "admin"},
    "/cases/{case}": {"handler", "supervisor", "head", "auditor", "admin"},
    "/audit": {"auditor", "supervisor", "head", "admin"},
    "/copies": {"handler", "supervisor", "head"},
    "/account": {"operator", "handler", "supervisor", "head", "auditor", "admin"},
}


async def _login_form(browser: object, rig: WebRig) -> str:
    from tests.support.web_server import Browser

    assert isinstance(browser, Browser)
    status, html, _ = await browser.get("/login")
    assert status == 200
    match = re.search(rb'name="_csrf" value="([^"]+)"', html)
    assert match
    return match.group(1).decode()


async def test_each_page_for_each_role(rig: WebRig, tmp_path: Path) -> None:
    case = await open_case(rig.core, tmp_path, seed=1, segments=ZH_SEGMENTS)
    anonymous = rig.anonymous()
    for path in PAGES:
        status, _, resp = await anonymous.get(path.format(case=case.id))
        assert status == 302 and resp.headers["Location"].startswith("/login?next="), path
    for role in ("operator", "handler", "supervisor", "head", "auditor", "admin"):
        browser = await rig.sign_in(role)
        for path, allowed in PAGES.items():
            status, _, resp = await browser.get(path.format(case=case.id))
            assert status == (200 if role in allowed else 403), (role, path, status)
            assert resp.headers["Content-Security-Policy"].startswith("default-src 'self'")
            assert resp.headers["X-Frame-Options"] == "DENY"
        status, _, resp = await browser.get("/")
        assert status == 302
    assert (await anonymous.get("/static/app.js"))[0] == 200


def _text(page: str) -> str:
    return re.sub(r"<[^>]*>", "", page)


async def test_the_case_page_shows_the_transcript_and_audits_it(
    rig: WebRig, tmp_path: Path
) -> None:
    case = await open_case(rig.core, tmp_path, seed=2, segments=ZH_SEGMENTS)
    handler = await rig.sign_in("handler")
    status, html, _ = await handler.get(f"/cases/{case.id}")
    page = html.decode()
    # What a reader sees: the text of the transcript's timed words, tags aside.
    assert status == 200 and "金河水泥厂统计造假" in _text(page) and "138****8000" in page
    assert 'data-start="2.5"' in page and "13800138000" not in page
    for role in ("auditor", "admin"):
        other = await rig.sign_in(role)
        page = (await other.get(f"/cases/{case.id}"))[1].decode()
        assert "金河水泥厂统计造假" not in _text(page) and "<audio" not in page, role
    history = (await handler.get(f"/api/cases/{case.id}/history"))[1]["events"]
    views = [e for e in history if e["action"] == "transcript.viewed"]
    assert [v["details"]["via"] for v in views] == ["page"]


async def test_the_processing_record_says_each_event_in_words(rig: WebRig, tmp_path: Path) -> None:
    case = await open_case(rig.core, tmp_path, seed=3, segments=ZH_SEGMENTS)
    handler = await rig.sign_in("handler")
    zh = (await handler.get(f"/cases/{case.id}", headers={"Accept-Language": "zh-CN"}))[1]
    page = zh.decode()
    assert f"新建案件 {case.number}" in page and "查阅转写（第 1 版）" in page
    assert "封存录音 call-3.wav" in page
    assert '<td class="who">handler</td>' in page
    # The same in English through the API, with the code and data beside the words.
    status, body, _ = await handler.get(
        f"/api/cases/{case.id}/history", headers={"Accept-Language": "en"}
    )
    assert status == 200
    said = {e["action"]: e for e in body["events"]}
    assert said["case.opened"]["text"] == f"opened the case {case.number}"
    assert said["transcript.viewed"]["text"] == "read the transcript (version 1)"
    assert said["transcript.viewed"]["who"] == "handler"
    # The audit trail in the auditor's own language, whatever the browser says.
    auditor = await rig.sign_in("auditor")
    assert (await auditor.request("PATCH", "/api/account", json={"language": "zh"}))[0] == 200
    body = (await auditor.get("/api/audit", headers={"Accept-Language": "en"}))[1]
    texts = [e["text"] for e in body["events"]]
    assert f"新建案件 {case.number}" in texts and "登录（来自 127.0.0.1）" in texts


async def test_the_language_follows_the_user_then_the_browser(rig: WebRig) -> None:
    browser = await rig.sign_in("handler")
    zh = (await browser.get("/cases", headers={"Accept-Language": "zh-CN,zh;q=0.9"}))[1]
    assert "案件编号" in zh.decode() or "没有符合条件的案件" in zh.decode()
    en = (await browser.get("/cases", headers={"Accept-Language": "en-US,en;q=0.8"}))[1]
    assert "No cases match." in en.decode() and 'lang="en"' in en.decode()
    assert (await browser.request("PATCH", "/api/account", json={"language": "zh"}))[0] == 200
    chosen = (await browser.get("/cases", headers={"Accept-Language": "en-US"}))[1].decode()
    assert 'lang="zh-CN"' in chosen and "没有符合条件的案件" in chosen


async def test_the_sign_in_form_has_its_own_csrf_token(rig: WebRig) -> None:
    browser = rig.anonymous()
    token = await _login_form(browser, rig)
    form = {"username": "handler", "password": PASSWORD, "_csrf": "forged", "next": "/audit"}
    async with browser.http.post(rig.url + "/login", data=form, allow_redirects=False) as resp:
        assert resp.status == 403
    token = await _login_form(browser, rig)
    form["_csrf"] = token
    form["password"] = "wrong password!"
    async with browser.http.post(rig.url + "/login", data=form, allow_redirects=False) as resp:
        assert resp.status == 401 and "用户名或密码错误" in await resp.text()
    form["_csrf"] = await _login_form(browser, rig)
    form["password"] = PASSWORD
    form["next"] = "//evil.test/"
    async with browser.http.post(rig.url + "/login", data=form, allow_redirects=False) as resp:
        assert resp.status == 303 and resp.headers["Location"] == "/cases"
        assert "HttpOnly" in resp.headers.getall("Set-Cookie")[0]
    # Signing out is a form post with the session's CSRF token.
    html = (await browser.get("/account"))[1]
    csrf = re.search(rb'name="_csrf" value="([^"]+)"', html)
    assert csrf
    async with browser.http.post(rig.url + "/logout", allow_redirects=False) as resp:
        assert resp.status == 403
    async with browser.http.post(
        rig.url + "/logout", data={"_csrf": csrf.group(1).decode()}, allow_redirects=False
    ) as resp:
        assert resp.status == 303
    assert (await browser.get("/account"))[0] == 302


async def test_changing_the_password_on_the_account_page(rig: WebRig) -> None:
    browser = await rig.sign_in("operator")
    html = (await browser.get("/account"))[1]
    csrf = re.search(rb'name="_csrf" value="([^"]+)"', html)
    assert csrf
    form = {"_csrf": csrf.group(1).decode(), "current_password": "nope", "new_password": "x" * 12}
    async with browser.http.post(rig.url + "/account", data=form, allow_redirects=False) as resp:
        assert resp.status == 303 and "password_wrong" in resp.headers["Location"]
    form["current_password"] = PASSWORD
    async with browser.http.post(rig.url + "/account", data=form, allow_redirects=False) as resp:
        assert resp.status == 303 and "password_changed" in resp.headers["Location"]
    assert (await rig.sign_in("operator", "x" * 12)).csrf
