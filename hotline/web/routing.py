"""Routes declared with their contract, so that one declaration drives the router, the
access check, request parsing, response serialisation and ``/api/openapi.json``.

    @api.route("GET", "/api/cases/{id}", summary="One case", tag="cases",
               allow={Permission.CASES_READ, Permission.CASES_READ_OWN},
               response=CaseOut, errors=(404,))
    async def case_detail(ctx: Ctx) -> CaseOut: ...

A handler returns its response model (serialised through it) or, for audio and event
streams, an aiohttp response of its own. Bad input is a 400 with the reasons; a missing
principal a 401, a missing permission a 403.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from hotline.auth.roles import Permission, Principal
from hotline.errors import InputError, NotFound
from hotline.web.keys import AUTH_ERROR, CORE, PRINCIPAL
from hotline.web.schemas import ErrorBody

if TYPE_CHECKING:
    from hotline.service import Hotline

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
Handler = Callable[["Ctx"], Awaitable[BaseModel | web.StreamResponse]]
RawHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Access = Literal["public", "signed-in"] | frozenset[Permission]

_PATH_PARAM = re.compile(r"\{(\w+)\}")


class ApiError(Exception):
    """Raised by a handler: answered as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def error_response(
    status: int,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = ErrorBody(error=message, details=details).model_dump_json(exclude_none=True)
    return web.Response(
        text=body,
        status=status,
        content_type="application/json",
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def _clean_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_input=False)
    ]


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    access: Access
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    media: dict[str, dict[str, Any]] | None = None
    """Non-JSON success bodies: content type -> schema (audio, event streams, text)."""
    errors: tuple[int, ...] = ()
    path_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    description: str = ""
    raw: RawHandler | None = None
    """A plain aiohttp handler that parses and answers by itself (its contract is
    described by ``query_params`` / ``body_schema`` / ``media``)."""
    query_params: tuple[dict[str, Any], ...] = ()
    body_schema: dict[str, Any] | None = None

    @property
    def operation_id(self) -> str:
        return (self.raw or self.handler).__name__

    @property
    def public(self) -> bool:
        return self.access == "public"


@dataclass(slots=True)
class Ctx:
    """What a handler gets: the request, the core, the principal, parsed input."""

    request: web.Request
    op: Operation
    principal: Principal | None

    @property
    def core(self) -> Hotline:
        return self.request.app[CORE]

    @property
    def user(self) -> Principal:
        """The principal of a route that is not public (the dispatcher checked)."""
        assert self.principal is not None
        return self.principal

    def path(self, name: str) -> str:
        return self.request.match_info[name]

    def query(self, model: type[M]) -> M:
        assert model is self.op.query, f"{self.op.operation_id} declares {self.op.query}"
        try:
            return model.model_validate(dict(self.request.query))
        except ValidationError as exc:
            raise _BadInput("invalid query parameters", _clean_errors(exc)) from None

    async def body(self, model: type[M]) -> M:
        assert model is self.op.body, f"{self.op.operation_id} declares {self.op.body}"
        if self.request.content_type != "application/json":
            raise ApiError(415, "send the body as application/json")
        try:
            data = json.loads(await self.request.text())
        except LookupError:
            charset = (self.request.charset or "")[:40]
            raise ApiError(415, f"unknown charset {charset!r}: send UTF-8") from None
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "the body is not valid JSON") from None
        except RecursionError:
            raise ApiError(400, "the body is not valid JSON: nested too deeply") from None
        except web.HTTPRequestEntityTooLarge:
            limit = self.request.client_max_size
            raise ApiError(413, f"the body is larger than {limit} bytes") from None
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise _BadInput("invalid body", _clean_errors(exc)) from None


class _BadInput(Exception):
    def __init__(self, message: str, details: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Api:
    """A table of operations, added to an app by ``setup``."""

    def __init__(self) -> None:
        self.operations: list[Operation] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tag: str,
        allow: Access | Collection[Permission],
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        media: dict[str, dict[str, Any]] | None = None,
        errors: tuple[int, ...] = (),
        path_params: dict[str, dict[str, Any]] | None = None,
        description: str = "",
    ) -> Callable[[Handler], Handler]:
        access: Access = allow if isinstance(allow, str) else frozenset(allow)

        def register(handler: Handler) -> Handler:
            self.operations.append(
                Operation(
                    method=method,
                    path=path,
                    handler=handler,
                    summary=summary,
                    tag=tag,
                    access=access,
                    query=query,
                    body=body,
                    response=response,
                    status=status,
                    media=media,
                    errors=errors,
                    path_params=path_params or {},
                    description=description or (handler.__doc__ or "").strip(),
                )
            )
            return handler

        return register

    def add(
        self,
        method: str,
        path: str,
        handler: RawHandler,
        *,
        summary: str,
        tag: str,
        allow: Access | Collection[Permission],
        media: dict[str, dict[str, Any]] | None = None,
        response: type[BaseModel] | None = None,
        errors: tuple[int, ...] = (),
        path_params: dict[str, dict[str, Any]] | None = None,
        query_params: tuple[dict[str, Any], ...] = (),
        body_schema: dict[str, Any] | None = None,
        description: str = "",
    ) -> None:
        """Declare a plain aiohttp handler: the access check and the document apply."""

        async def unused(ctx: Ctx) -> web.StreamResponse:
            raise AssertionError("raw operations are called with the request")

        self.operations.append(
            Operation(
                method=method,
                path=path,
                handler=unused,
                summary=summary,
                tag=tag,
                access=allow if isinstance(allow, str) else frozenset(allow),
                response=response,
                media=media,
                errors=errors,
                path_params=path_params or {},
                description=description or (handler.__doc__ or "").strip(),
                raw=handler,
                query_params=query_params,
                body_schema=body_schema,
            )
        )

    def setup(self, app: web.Application) -> None:
        for op in self.operations:
            app.router.add_route(op.method, op.path, _dispatcher(op))


_BEFORE_A_NEW_PASSWORD = frozenset({"/api/session", "/api/account", "/api/account/password"})
"""What a session whose password must be changed may use."""


def _dispatcher(op: Operation) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def dispatch(request: web.Request) -> web.StreamResponse:
        principal = request.get(PRINCIPAL)
        if not op.public:
            if principal is None:
                return error_response(
                    401,
                    request.get(AUTH_ERROR) or "sign in, or send an API token",
                    headers={"WWW-Authenticate": 'Bearer realm="hotline"'},
                )
            if isinstance(op.access, frozenset) and not principal.can_any(*op.access):
                return error_response(403, f"the {principal.role} role may not do this")
            if principal.must_change_password and op.path not in _BEFORE_A_NEW_PASSWORD:
                # A one-time password (the first administrator's, one an administrator
                # set) opens nothing until it is replaced, in the API as on the pages.
                return error_response(
                    403, "choose a new password first: POST /api/account/password"
                )
        if op.raw is not None:
            return await op.raw(request)
        try:
            result = await op.handler(Ctx(request, op, principal))
        except ApiError as exc:
            return error_response(exc.status, exc.message, headers=exc.headers)
        except _BadInput as exc:
            return error_response(400, exc.message, exc.details)
        except NotFound as exc:
            return error_response(404, str(exc))
        except InputError as exc:
            return error_response(400, str(exc))
        if isinstance(result, web.StreamResponse):
            return result
        assert op.response is not None and isinstance(result, op.response), op.operation_id
        return web.Response(
            text=result.model_dump_json(),
            status=op.status,
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    dispatch.__name__ = op.operation_id
    dispatch.hotline_operation = op  # type: ignore[attr-defined]
    return dispatch


def operation_of(request: web.Request) -> Operation | None:
    handler = request.match_info.handler
    found = getattr(handler, "hotline_operation", None)
    return found if isinstance(found, Operation) else None


def path_params(path: str) -> list[str]:
    return _PATH_PARAM.findall(path)
