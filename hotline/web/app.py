"""The application factory: the API, the pages, the security middleware, and the
first administrator of a fresh installation."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiohttp import web

from hotline.auth import users
from hotline.search import SearchIndex
from hotline.web import (
    api,
    api_archive,
    api_cases,
    api_content,
    api_copies,
    api_custody,
    api_live,
    integrations,
    metrics,
    openapi,
    pages,
    security,
)
from hotline.web.i18n import Catalogs
from hotline.web.keys import CATALOGS, CORE, OPENAPI, RECENT_PLAYS, SEARCH, STREAMS
from hotline.web.routing import Api
from hotline.web.streams import Streams

if TYPE_CHECKING:
    from hotline.service import Hotline

log = logging.getLogger(__name__)

ROUTE_TABLES: tuple[Api, ...] = (
    api.routes,
    api_cases.routes,
    api_archive.routes,
    api_content.routes,
    api_custody.routes,
    api_copies.routes,
    api_live.routes,
    integrations.routes,
    metrics.routes,
)

__all__ = ["CORE", "ROUTE_TABLES", "make_app"]


async def _first_admin(app: web.Application) -> None:
    core = app[CORE]
    created = await users.ensure_first_admin(core.db)
    if created is not None and created.password is not None:
        # Shown once, on the console of the first start (``make run``); it must be
        # changed at the first sign-in.
        log.warning(
            "first start: created the administrator 'admin' with password %s - sign in "
            "at %s/login and choose your own; add people with `hotline users add NAME "
            "--role ROLE`",
            created.password,
            core.settings.base_url,
        )


async def _close_streams(app: web.Application) -> None:
    await app[STREAMS].close()


def make_app(core: Hotline, *, first_admin: bool = True) -> web.Application:
    app = web.Application(client_max_size=1 << 20, middlewares=[security.authenticate])
    app[CORE] = core
    app[SEARCH] = SearchIndex(core.db)
    app[STREAMS] = Streams()
    app[RECENT_PLAYS] = {}
    app[CATALOGS] = Catalogs()
    for table in ROUTE_TABLES:
        table.setup(app)
    app[OPENAPI] = openapi.document([op for t in ROUTE_TABLES for op in t.operations])
    pages.setup(app)
    app.on_response_prepare.append(security.add_headers)
    app.on_shutdown.append(_close_streams)
    if first_admin:
        app.on_startup.append(_first_admin)
    return app
