"""The application factory and its typed keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from hotline.web import api, integrations

if TYPE_CHECKING:
    from hotline.service import Hotline

CORE: web.AppKey[Hotline] = web.AppKey("core")


def make_app(core: Hotline) -> web.Application:
    app = web.Application(client_max_size=1 << 20)
    app[CORE] = core
    api.setup(app)
    integrations.setup(app)
    return app
