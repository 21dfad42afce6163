"""A real hotline web server on 127.0.0.1 for tests, with helpers to make accounts,
sign in over HTTP (cookie + CSRF token) and use API tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientResponse, ClientSession, CookieJar, web

from hotline.auth import tokens, users
from hotline.auth.roles import Role
from hotline.config import Settings
from hotline.service import Hotline
from hotline.store.accounts import User
from hotline.web.app import make_app

PASSWORD = "correct horse battery"
_HASHES: dict[str, str] = {}
ROLES = ("operator", "handler", "supervisor", "head", "auditor", "admin")


@dataclass
class Browser:
    """An HTTP client signed in with a session cookie, sending its CSRF token."""

    http: ClientSession
    base: str
    csrf: str = ""
    send_csrf: bool = True

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.send_csrf and self.csrf:
            headers.setdefault("X-CSRF-Token", self.csrf)
        return headers

    async def request(
        self, method: str, path: str, *, json: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, ClientResponse]:
        kwargs: dict[str, Any] = {"headers": self._headers(headers), "allow_redirects": False}
        if json is not None:
            kwargs["json"] = json
        async with self.http.request(method, self.base + path, **kwargs) as resp:
            body: Any
            if resp.content_type == "application/json":
                body = await resp.json()
            else:
                body = await resp.read()
            return resp.status, body, resp

    async def get(self, path: str, **kw: Any) -> tuple[int, Any, ClientResponse]:
        return await self.request("GET", path, **kw)

    async def close(self) -> None:
        await self.http.close()


@dataclass
class WebRig:
    core: Hotline
    url: str
    runner: web.AppRunner
    browsers: list[Browser] = field(default_factory=list)

    async def add_user(self, name: str, role: str, password: str = PASSWORD) -> None:
        """A user row with the Argon2id hash of ``password`` (hashed once per test run:
        each hash costs half a second of CPU on a busy machine, by design)."""
        if password not in _HASHES:
            _HASHES[password] = await users.hash_password(password)
        async with self.core.db.session() as s:
            s.add(User(username=name, role=Role(role), password_hash=_HASHES[password]))

    async def token(self, role: str, name: str | None = None) -> str:
        made = await tokens.create(self.core.db, name or f"{role}-token", role, actor="test")
        return made.token

    def anonymous(self) -> Browser:
        browser = Browser(ClientSession(cookie_jar=CookieJar(unsafe=True)), self.url)
        self.browsers.append(browser)
        return browser

    def bearer(self, token: str) -> Browser:
        http = ClientSession(headers={"Authorization": f"Bearer {token}"})
        browser = Browser(http, self.url)
        self.browsers.append(browser)
        return browser

    async def sign_in(self, name: str, password: str = PASSWORD) -> Browser:
        browser = self.anonymous()
        status, body, _ = await browser.request(
            "POST", "/api/session", json={"username": name, "password": password}
        )
        assert status == 200, body
        browser.csrf = body["csrf_token"]
        return browser

    async def close(self) -> None:
        for browser in self.browsers:
            await browser.close()
        await self.runner.cleanup()


@asynccontextmanager
async def serve_web(core: Hotline, *, first_admin: bool = False) -> AsyncIterator[WebRig]:
    runner = web.AppRunner(make_app(core, first_admin=first_admin), shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    rig = WebRig(core, f"http://127.0.0.1:{port}", runner)
    try:
        yield rig
    finally:
        await rig.close()


@asynccontextmanager
async def hotline_core(settings: Settings) -> AsyncIterator[Hotline]:
    core = Hotline(settings)
    await core.open(migrate=True)
    try:
        yield core
    finally:
        await core.close()
