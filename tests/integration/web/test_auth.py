"""Signing in and out, sessions, CSRF, rate limiting and API tokens, against a real
server on both databases."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from sqlmodel import col, select

from hotline.auth import users
from hotline.config import Settings
from hotline.store.accounts import ApiToken, User, WebSession
from hotline.store.tables import AuditEvent
from tests.support.web_server import PASSWORD, Browser, WebRig, hotline_core, serve_web


async def _actions(rig: WebRig) -> list[str]:
    async with rig.core.db.session() as s:
        return [e.action for e in (await s.exec(select(AuditEvent))).all()]


async def test_sign_in_sets_a_safe_cookie_and_names_the_role(rig: WebRig) -> None:
    browser = rig.anonymous()
    status, body, resp = await browser.request(
        "POST", "/api/session", json={"username": "handler", "password": PASSWORD}
    )
    assert status == 200 and body["role"] == "handler" and body["csrf_token"]
    cookie = resp.headers["Set-Cookie"]
    assert "hotline_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http on loopback; see the TLS test below
    browser.csrf = body["csrf_token"]
    status, me, _ = await browser.get("/api/session")
    assert status == 200 and me["user"]["username"] == "handler"
    assert "cases.write" in me["permissions"] and "audit.read" not in me["permissions"]
    # Only digests are stored: neither the cookie nor the password appears in the rows.
    async with rig.core.db.session() as s:
        session = (await s.exec(select(WebSession))).first()
        user = (await s.exec(select(User).where(col(User.username) == "handler"))).one()
    value = cookie.split("hotline_session=", 1)[1].split(";", 1)[0]
    assert session is not None and value not in session.id and len(session.id) == 64
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash

    status, _, resp = await browser.request("DELETE", "/api/session")
    assert status == 200
    assert (await browser.get("/api/session"))[0] == 401
    assert "auth.login" in await _actions(rig) and "auth.logout" in await _actions(rig)


async def test_wrong_passwords_are_refused_then_throttled(rig: WebRig) -> None:
    browser = rig.anonymous()
    for _ in range(rig.core.settings.login_max_failures):
        status, body, _ = await browser.request(
            "POST", "/api/session", json={"username": "operator", "password": "wrong password"}
        )
        assert status == 401 and body["error"] == "wrong user name or password"
    # Even the right password waits now, so guessing cannot go on.
    status, body, resp = await browser.request(
        "POST", "/api/session", json={"username": "operator", "password": PASSWORD}
    )
    assert status == 429 and int(resp.headers["Retry-After"]) > 0
    # An unknown name answers exactly like a wrong password.
    status, body, _ = await browser.request(
        "POST", "/api/session", json={"username": "nobody", "password": "whatever it is"}
    )
    assert status == 401 and body["error"] == "wrong user name or password"
    actions = await _actions(rig)
    assert actions.count("auth.login_failed") == rig.core.settings.login_max_failures + 1
    assert "auth.login_throttled" in actions
    # Other users are not locked out by someone else's failures.
    assert (await rig.sign_in("handler")).csrf


async def test_unsafe_requests_with_the_cookie_need_the_csrf_token(rig: WebRig) -> None:
    browser = await rig.sign_in("handler")
    browser.send_csrf = False
    status, body, _ = await browser.request("PATCH", "/api/account", json={"language": "en"})
    assert status == 403 and "CSRF" in body["error"]
    status, _, _ = await browser.request(
        "PATCH", "/api/account", json={"language": "en"}, headers={"X-CSRF-Token": "forged"}
    )
    assert status == 403
    browser.send_csrf = True
    status, _, _ = await browser.request(
        "PATCH", "/api/account", json={"language": "en"}, headers={"Origin": "http://evil.test"}
    )
    assert status == 403
    assert (await browser.request("PATCH", "/api/account", json={"language": "en"}))[0] == 200
    # Sign-out is unsafe too.
    browser.send_csrf = False
    assert (await browser.request("DELETE", "/api/session"))[0] == 403
    # Bearer tokens are not sent by browsers on their own: no CSRF token needed.
    token = rig.bearer(await rig.token("handler"))
    status, body, _ = await token.request("PATCH", "/api/account", json={"language": "en"})
    assert status == 403 and "tokens have no account" in body["error"]


async def test_tokens_are_hashed_and_stop_working_when_revoked(rig: WebRig) -> None:
    from hotline.auth import tokens

    made = await tokens.create(rig.core.db, "case system", "handler", actor="test")
    client = rig.bearer(made.token)
    assert (await client.get("/api/cases"))[0] == 200
    async with rig.core.db.session() as s:
        row = (await s.exec(select(ApiToken))).one()
    assert made.token not in (row.token_hash + row.prefix) and row.prefix == made.token[:12]
    await tokens.revoke(rig.core.db, made.row.id or 0, actor="test")
    status, body, resp = await client.get("/api/cases")
    assert status == 401 and "revoked" in body["error"]
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await rig.bearer("hlt_not-a-token").get("/api/cases"))[0] == 401


async def test_disabling_a_user_ends_their_sessions(rig: WebRig) -> None:
    browser = await rig.sign_in("auditor")
    assert (await browser.get("/api/audit"))[0] == 200
    await users.set_disabled(rig.core.db, "auditor", disabled=True, actor="test")
    assert (await browser.get("/api/audit"))[0] == 401
    again = rig.anonymous()
    status, _, _ = await again.request(
        "POST", "/api/session", json={"username": "auditor", "password": PASSWORD}
    )
    assert status == 401


async def _signed_in_until_refused(browser: Browser, within: float = 20) -> float:
    """Ask for the session every 50 ms until it is refused; when (monotonic) it was."""
    async with asyncio.timeout(within):
        while True:
            status, body, _ = await browser.get("/api/session")
            if status != 200:
                assert status == 401 and "session has ended" in body["error"], body
                return time.monotonic()
            await asyncio.sleep(0.05)


async def test_sessions_end_when_idle_and_at_their_absolute_limit(
    db_url: str, make_settings: Callable[..., Settings]
) -> None:
    # The requests below do not count as activity: a session is touched once a minute.
    idle = make_settings(database_url=db_url, session_idle_minutes=0.02)  # 1.2 s
    async with hotline_core(idle) as core, serve_web(core) as rig:
        await rig.add_user("op", "operator")
        started = time.monotonic()
        browser = await rig.sign_in("op")
        assert (await browser.get("/api/session"))[0] == 200
        assert await _signed_in_until_refused(browser) - started >= 1.2
    absolute = make_settings(database_url=db_url, session_max_hours=0.0004)  # 1.44 s
    async with hotline_core(absolute) as core, serve_web(core) as rig:
        await rig.add_user("op2", "operator")
        started = time.monotonic()
        browser = await rig.sign_in("op2")
        # Kept busy (and the idle limit the default hour), yet it ends.
        assert await _signed_in_until_refused(browser) - started >= 1.44


async def test_cookies_are_secure_behind_tls(
    db_url: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(database_url=db_url, public_url="https://hotline.example.gov.cn")
    async with hotline_core(settings) as core, serve_web(core) as rig:
        await rig.add_user("op", "operator")
        browser = rig.anonymous()
        _, _, resp = await browser.request(
            "POST", "/api/session", json={"username": "op", "password": PASSWORD}
        )
        assert "Secure" in resp.headers["Set-Cookie"]


async def test_a_fresh_install_gets_an_admin_who_must_choose_a_password(
    db_url: str, make_settings: Callable[..., Settings], caplog: object
) -> None:
    import logging

    import pytest

    assert isinstance(caplog, pytest.LogCaptureFixture)
    settings = make_settings(database_url=db_url)
    with caplog.at_level(logging.WARNING, logger="hotline.web.app"):
        async with hotline_core(settings) as core, serve_web(core, first_admin=True) as rig:
            (line,) = [r.getMessage() for r in caplog.records if "administrator" in r.message]
            password = line.split("password ", 1)[1].split(" ", 1)[0]
            browser = await rig.sign_in("admin", password)
            status, _, resp = await browser.get("/cases")
            assert status == 302 and resp.headers["Location"] == "/account"
            # The API opens nothing either, until the one-time password is replaced.
            status, body, _ = await browser.get("/api/cases")
            assert status == 403 and "new password first" in body["error"]
            assert (await browser.get("/api/session"))[0] == 200
            status, body, _ = await browser.request(
                "POST",
                "/api/account/password",
                json={"current_password": password, "new_password": "a long new secret"},
            )
            assert status == 200, body
            assert (await browser.get("/cases"))[0] == 200
            assert (await browser.get("/api/cases"))[0] == 200
    # A second start of the same installation makes no new admin.
    async with hotline_core(settings) as core, serve_web(core, first_admin=True) as rig:
        assert len(await users.list_users(core.db)) == 1
