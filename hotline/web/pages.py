"""The pages people use: sign-in, live calls with the intake form (operators), the case
list and the case page (handlers), the audit trail (auditors), the account.

Server-rendered from ``templates/`` (Jinja2, autoescaped) in the user's language;
``static/app.js`` makes them live (events, player, corrections) through the JSON API,
with no build step.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, get_args
from urllib.parse import quote, urlsplit

import jinja2
from aiohttp import web
from pydantic import ValidationError

from hotline.archive import retention
from hotline.archive.preservation import Reason
from hotline.auth import sessions, users
from hotline.auth.roles import Permission, Principal, Role
from hotline.casework import CATEGORIES
from hotline.custody import access, copies
from hotline.custody.access import may_see
from hotline.custody.copies import IdType
from hotline.custody.levels import LEVELS
from hotline.custody.requests import CopyState
from hotline.errors import InputError, LoginRefused, LoginThrottled, NotFound
from hotline.store.tables import Case, CaseStatus
from hotline.transcription import rerun_models
from hotline.web.api_cases import case_history, query_cases
from hotline.web.audit_words import lookup_for, worded
from hotline.web.keys import CATALOGS, CORE, PRINCIPAL
from hotline.web.present import detail, event_details, load_case, may_read_content
from hotline.web.routing import ApiError
from hotline.web.schemas import CasesQuery, RetentionQuery
from hotline.web.security import LOGIN_COOKIE, SESSION_COOKIE, cookie_is_secure

_HERE = Path(__file__).parent
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)

PageHandler = Callable[[web.Request, Principal], Awaitable[web.StreamResponse]]
ID_TYPES: tuple[str, ...] = get_args(IdType)
COPY_STATES: tuple[str, ...] = tuple(state.value for state in CopyState)


def _language(request: web.Request, principal: Principal | None) -> str:
    return request.app[CATALOGS].choose(
        principal.language if principal else "", request.headers.get("Accept-Language")
    )


def render(
    request: web.Request,
    template: str,
    principal: Principal | None,
    *,
    status: int = 200,
    **context: Any,
) -> web.Response:
    core = request.app[CORE]
    lang = _language(request, principal)
    catalogs = request.app[CATALOGS]
    tz = core.settings.tz

    def local(value: datetime | str | None, seconds: bool = True) -> str:
        if not value:
            return ""
        when = datetime.fromisoformat(value) if isinstance(value, str) else value
        return when.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")

    config = {
        "lang": lang,
        "timezone": core.settings.timezone,
        "csrf": principal.csrf_token if principal else None,
        "user": principal.name if principal else None,
        "messages": catalogs.for_scripts(lang),
    }
    html = _ENV.get_template(template).render(
        _=catalogs.translator(lang),
        lang=lang,
        user=principal,
        nav=_nav(principal, request.path),
        local=local,
        config_json=json.dumps(config, ensure_ascii=False).replace("</", "<\\/"),
        Permission=Permission,
        **context,
    )
    return web.Response(
        text=html,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers={"Cache-Control": "no-store", "Content-Language": lang},
    )


def _nav(principal: Principal | None, path: str) -> list[tuple[str, str, bool]]:
    if principal is None:
        return []
    items = []
    if principal.can(Permission.LIVE_READ):
        items.append(("/live", "nav.live"))
    if principal.can(Permission.CASES_READ):
        items.append(("/cases", "nav.cases"))
    elif principal.can(Permission.CASES_READ_OWN):
        items.append(("/cases", "nav.my_cases"))
    if principal.can_any(Permission.COPIES_REQUEST, Permission.COPIES_APPROVE):
        items.append(("/copies", "nav.copies"))
    if principal.can(Permission.AUDIT_READ):
        items.append(("/audit", "nav.audit"))
        items.append(("/retention", "nav.retention"))
    items.append(("/account", "nav.account"))
    return [(href, key, path == href or path.startswith(href + "/")) for href, key in items]


def page(
    *permissions: Permission,
) -> Callable[[PageHandler], Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    """A page for signed-in users holding any of ``permissions`` (none: any user)."""

    def wrap(handler: PageHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def guarded(request: web.Request) -> web.StreamResponse:
            principal: Principal | None = request.get(PRINCIPAL)
            if principal is None or principal.kind != "user":
                raise web.HTTPFound(f"/login?next={quote(request.path_qs)}")
            if principal.must_change_password and request.path != "/account":
                raise web.HTTPFound("/account")
            if permissions and not principal.can_any(*permissions):
                return render(request, "forbidden.html", principal, status=403)
            try:
                return await handler(request, principal)
            except NotFound:
                raise web.HTTPNotFound() from None
            except ApiError as exc:
                if exc.status == 403:
                    return render(request, "forbidden.html", principal, status=403)
                raise

        guarded.__name__ = handler.__name__
        return guarded

    return wrap


def home_of(principal: Principal) -> str:
    if principal.can(Permission.LIVE_READ) and principal.role == Role.OPERATOR:
        return "/live"
    if principal.can_any(Permission.CASES_READ, Permission.CASES_READ_OWN):
        return "/cases"
    return "/account"


@page()
async def home(request: web.Request, principal: Principal) -> web.StreamResponse:
    raise web.HTTPFound(home_of(principal))


# --- signing in and out ----------------------------------------------------------------


def _safe_next(value: str) -> str:
    """A path on this site to go to after signing in; anything else is the home page.
    Browsers drop tabs and newlines from a URL and read a backslash as a slash, so a
    slash, a tab and ``/evil.example`` leads to another site: no control character,
    space or backslash is let through."""
    if not value.startswith("/") or any(c <= " " or c in "\\\x7f" for c in value):
        return "/"
    parts = urlsplit(value)
    if value.startswith("//") or parts.scheme or parts.netloc:
        return "/"
    return value


async def login_form(request: web.Request) -> web.StreamResponse:
    return _login_page(request, error=None)


def _login_page(request: web.Request, error: str | None, status: int = 200) -> web.Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        None,
        status=status,
        error=error,
        csrf=token,
        next=_safe_next(request.query.get("next", "/")),
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=cookie_is_secure(request),
        path="/login",
        max_age=3600,
    )
    return response


async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    sent, kept = str(form.get("_csrf", "")), request.cookies.get(LOGIN_COOKIE, "")
    if not kept or not hmac.compare_digest(sent.encode(), kept.encode()):
        return _login_page(request, "login.expired", status=403)
    core = request.app[CORE]
    ip = request.remote or ""
    try:
        user = await users.authenticate(
            core.db,
            str(form.get("username", ""))[:64],
            str(form.get("password", ""))[:1024],
            ip=ip,
            limit=core.settings.login_max_failures,
        )
    except LoginThrottled as exc:
        response = _login_page(request, "login.throttled", status=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except LoginRefused:
        return _login_page(request, "login.refused", status=401)
    new = await sessions.start(
        core.db, user, core.settings, ip=ip, user_agent=request.headers.get("User-Agent", "")
    )
    target = "/account" if user.must_change_password else _safe_next(str(form.get("next", "/")))
    if target == "/":
        target = home_of(new.principal)
    response = web.HTTPSeeOther(target)
    response.set_cookie(
        SESSION_COOKIE,
        new.cookie,
        httponly=True,
        samesite="Lax",
        secure=cookie_is_secure(request),
        path="/",
    )
    response.del_cookie(LOGIN_COOKIE, path="/login")
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    principal: Principal | None = request.get(PRINCIPAL)
    if principal is not None:
        await sessions.end(request.app[CORE].db, principal)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


# --- the pages -------------------------------------------------------------------------


@page(Permission.LIVE_READ)
async def live_page(request: web.Request, principal: Principal) -> web.StreamResponse:
    return render(request, "live.html", principal, categories=CATEGORIES)


@page(Permission.CASES_READ, Permission.CASES_READ_OWN)
async def cases_page(request: web.Request, principal: Principal) -> web.StreamResponse:
    raw = {k: v for k, v in request.query.items() if v != ""}
    error = None
    try:
        query = CasesQuery.model_validate(raw)
    except ValidationError:
        query, error = CasesQuery(), "cases.none"
    core = request.app[CORE]
    try:
        async with core.db.session() as s:
            cases, next_before = await query_cases(request.app, s, query, principal)
    except ApiError:
        cases, next_before = [], None
    return render(
        request,
        "cases.html",
        principal,
        cases=cases,
        query=query,
        raw=raw,
        error=error,
        next_before=next_before,
        statuses=[s.value for s in CaseStatus],
        categories=CATEGORIES,
    )


@page(Permission.CASES_READ, Permission.CASES_READ_OWN)
async def case_page(request: web.Request, principal: Principal) -> web.StreamResponse:
    core = request.app[CORE]
    async with core.db.session() as s:
        view = await load_case(s, principal, request.match_info["id"])
        case = await detail(s, view, principal, via="page")
        events = await case_history(s, view)
        lookup = lookup_for(request.app[CATALOGS], _language(request, principal))
        history = await worded(s, events, lookup, event_details)
        assigned = await access.assignees(s, view.case.id or 0)
        requests = None
        if principal.can_any(Permission.COPIES_REQUEST, Permission.COPIES_APPROVE):
            requests = [r.json() for r in await copies.listing(s, case_id=view.case.id)]
    return render(
        request,
        "case.html",
        principal,
        case=case,
        content=may_read_content(principal, view.case),
        history=history,
        categories=CATEGORIES,
        editable=principal.can(Permission.CASES_WRITE),
        rerun_models=rerun_models(request.app[CORE].settings),
        rerun_language=request.app[CORE].settings.language,
        can_forward=principal.can(Permission.CASES_FORWARD),
        can_unmask=principal.can(Permission.CALLER_UNMASK) and case.caller.masked,
        can_set_level=principal.can(Permission.CONFIDENTIALITY_SET),
        levels=LEVELS,
        assignees=assigned,
        copy_requests=requests,
        can_request_copy=principal.can(Permission.COPIES_REQUEST),
        id_types=ID_TYPES,
        can_mark=principal.can(Permission.PRESERVATION_MARK),
        can_lift=principal.can(Permission.PRESERVATION_LIFT),
        reasons=[r.value for r in Reason],
    )


@page(Permission.COPIES_REQUEST, Permission.COPIES_APPROVE)
async def copies_page(request: web.Request, principal: Principal) -> web.StreamResponse:
    """Copy requests of every case the user may see: the head decides here, handlers
    issue and download."""
    status = request.query.get("status", "")
    status = status if status in COPY_STATES else ""
    async with request.app[CORE].db.session() as s:
        rows = await copies.listing(s, limit=500)
        shown = []
        for item in rows:
            case = await s.get(Case, item.row.case_id)
            if case is not None and await may_see(s, principal, case):
                shown.append(item.json())
    counts = {state: sum(1 for r in shown if r["status"] == state) for state in COPY_STATES}
    return render(
        request,
        "copies.html",
        principal,
        requests=[r for r in shown if not status or r["status"] == status],
        chosen=status,
        counts=counts,
        states=COPY_STATES,
        total=len(shown),
    )


@page(Permission.AUDIT_READ)
async def audit_page(request: web.Request, principal: Principal) -> web.StreamResponse:
    return render(request, "audit.html", principal, query=dict(request.query))


@page(Permission.AUDIT_READ)
async def retention_page(request: web.Request, principal: Principal) -> web.StreamResponse:
    settings = request.app[CORE].settings
    try:
        query = RetentionQuery.model_validate({k: v for k, v in request.query.items() if v != ""})
    except ValidationError:
        query = RetentionQuery()
    today = query.today or datetime.now(settings.tz).date()
    async with request.app[CORE].db.session() as s:
        report = await retention.report(
            s, settings, today, query.within, access.visible_clause(principal)
        )
    return render(request, "retention.html", principal, report=report)


@page()
async def account_page(request: web.Request, principal: Principal) -> web.StreamResponse:
    return render(request, "account.html", principal, message=request.query.get("m"))


@page()
async def account_submit(request: web.Request, principal: Principal) -> web.StreamResponse:
    form = await request.post()
    db = request.app[CORE].db
    if "language" in form:
        try:
            await users.set_language(db, principal.id, str(form["language"]))
        except InputError as exc:
            return render(
                request, "account.html", principal, message=None, error=str(exc), status=400
            )
        raise web.HTTPSeeOther("/account?m=account.saved")
    try:
        await users.change_password(
            db,
            principal.id,
            str(form.get("current_password", "")),
            str(form.get("new_password", "")),
        )
    except LoginRefused:
        raise web.HTTPSeeOther("/account?m=account.password_wrong") from None
    except InputError as exc:
        return render(request, "account.html", principal, message=None, error=str(exc), status=400)
    raise web.HTTPSeeOther("/account?m=account.password_changed")


def setup(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout)
    app.router.add_get("/live", live_page)
    app.router.add_get("/cases", cases_page)
    app.router.add_get("/cases/{id}", case_page)
    app.router.add_get("/copies", copies_page)
    app.router.add_get("/audit", audit_page)
    app.router.add_get("/retention", retention_page)
    app.router.add_get("/account", account_page)
    app.router.add_post("/account", account_submit)
    app.router.add_static("/static", _HERE / "static", append_version=False)
    app.router.add_get("/favicon.ico", favicon)


async def favicon(request: web.Request) -> web.StreamResponse:
    raise web.HTTPMovedPermanently("/static/favicon.svg")
