"""Typed keys of the application and of requests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from hotline.auth.roles import Principal

if TYPE_CHECKING:
    from hotline.search import SearchIndex
    from hotline.service import Hotline
    from hotline.web.i18n import Catalogs
    from hotline.web.streams import Streams

CORE: web.AppKey[Hotline] = web.AppKey("core")
SEARCH: web.AppKey[SearchIndex] = web.AppKey("search")
STREAMS: web.AppKey[Streams] = web.AppKey("streams")
CATALOGS: web.AppKey[Catalogs] = web.AppKey("catalogs")
OPENAPI: web.AppKey[dict[str, Any]] = web.AppKey("openapi")
RECENT_PLAYS: web.AppKey[dict[tuple[str, int], float]] = web.AppKey("recent_plays")
"""(viewer, recording) -> when its last playback was audited (monotonic seconds)."""
PRINCIPAL: web.RequestKey[Principal | None] = web.RequestKey("principal")
"""The ``Principal`` the request acts as, or ``None``."""
AUTH_ERROR: web.RequestKey[str] = web.RequestKey("auth_error")
"""Why presented credentials were not accepted (for the 401's message)."""
BEARER: web.RequestKey[str] = web.RequestKey("bearer")
"""The bearer token as presented (event streams re-check it)."""

__all__ = [
    "AUTH_ERROR",
    "BEARER",
    "CATALOGS",
    "CORE",
    "OPENAPI",
    "PRINCIPAL",
    "RECENT_PLAYS",
    "SEARCH",
    "STREAMS",
    "Principal",
]
