"""Who is asking, and may they: the authentication middleware (session cookie or bearer
token), CSRF protection for cookie-authenticated unsafe requests, and the headers that
every response carries.

CSRF: a cookie is sent by the browser whatever page makes the request, so an unsafe
request (POST, PUT, PATCH, DELETE) made with the session cookie must also carry the
session's CSRF token (``X-CSRF-Token`` header, or the ``_csrf`` field of a form), and an
``Origin`` header, when present, must be this site. Bearer tokens are not sent by
browsers on their own and need neither.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web
from yarl import URL

from hotline.auth import sessions, tokens
from hotline.web.keys import AUTH_ERROR, BEARER, CORE, PRINCIPAL
from hotline.web.routing import error_response, operation_of

SESSION_COOKIE = "hotline_session"
LOGIN_COOKIE = "hotline_login"
"""Double-submit CSRF token for the sign-in form (there is no session yet)."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORMS = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})

_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def cookie_is_secure(request: web.Request) -> bool:
    """``Secure`` cookies when served over TLS, directly or behind a TLS proxy
    (``HOTLINE_PUBLIC_URL`` starting with https)."""
    return request.secure or request.app[CORE].settings.base_url.startswith("https://")


def _deny(request: web.Request, status: int, message: str) -> web.StreamResponse:
    if request.path.startswith("/api/") or request.path == "/metrics":
        return error_response(status, message)
    return web.Response(status=status, text=message, content_type="text/plain")


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    if origin == "null":
        return False
    try:
        url = URL(origin)
        return url.host is not None and url.authority == request.host
    except ValueError:  # not a URL at all (``http://[::1``, a port out of range)
        return False


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    core = request.app[CORE]
    principal = None
    via = None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            via = "bearer"
            request[BEARER] = value.strip()
            principal = await tokens.resolve(core.db, value.strip())
            if principal is None:
                request[AUTH_ERROR] = "the API token is unknown, revoked or expired"
        else:
            request[AUTH_ERROR] = "send API tokens as 'Authorization: Bearer hlt_…'"
    elif cookie := request.cookies.get(SESSION_COOKIE):
        via = "cookie"
        principal = await sessions.resolve(core.db, cookie, core.settings)
        if principal is None:
            request[AUTH_ERROR] = "the session has ended: sign in again"
    request[PRINCIPAL] = principal

    # The sign-in form has a CSRF token of its own (there may be no session yet).
    checked = request.path != "/login"
    if request.method not in SAFE_METHODS and via == "cookie" and principal and checked:
        if not _same_origin(request):
            return _deny(request, 403, "cross-site request refused")
        sent = request.headers.get("X-CSRF-Token", "")
        if not sent and request.content_type in _FORMS:
            form = await request.post()
            field = form.get("_csrf", "")
            sent = field if isinstance(field, str) else ""
        if not hmac.compare_digest(sent.encode(), (principal.csrf_token or "").encode()):
            return _deny(request, 403, "missing or wrong CSRF token: reload the page")

    # Every route under /api names its access; one that does not is refused to
    # anonymous callers rather than served by accident.
    matched = request.match_info.http_exception is None
    if (
        principal is None
        and matched
        and request.path.startswith("/api/")
        and operation_of(request) is None
    ):
        return _deny(request, 401, "sign in, or send an API token")
    return await handler(request)


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: security headers on every response."""
    for name, value in _HEADERS.items():
        response.headers.setdefault(name, value)
    if request.get(PRINCIPAL) is not None:
        response.headers.setdefault("Cache-Control", "no-store")
