"""``/api/openapi.json``, generated from the operations and their pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from hotline import __version__
from hotline.web.routing import Operation, path_params
from hotline.web.schemas import ErrorBody

_REF = "#/components/schemas/{model}"
_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    206: "Partial content (HTTP Range)",
    400: "Bad input: the reasons are in `details`",
    401: "Not signed in, or the token is unknown, revoked or expired",
    403: "The role may not do this (or a CSRF token is missing)",
    404: "Not found",
    409: "Conflict with the current state",
    410: "Gone",
    413: "Too large",
    415: "The body must be application/json",
    416: "Range not satisfiable",
    429: "Too many attempts; see Retry-After",
}


def _schemas(ops: list[Operation]) -> tuple[dict[tuple[type[BaseModel], str], Any], Any]:
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorBody, "serialization")]
    for op in ops:
        if op.body is not None:
            wanted.append((op.body, "validation"))
        if op.query is not None:
            wanted.append((op.query, "validation"))
        if op.response is not None:
            wanted.append((op.response, "serialization"))
    unique = list(dict.fromkeys(wanted))
    keyed, top = models_json_schema(unique, ref_template=_REF)
    out: dict[tuple[type[BaseModel], str], Any] = {}
    for (model, mode), schema in keyed.items():
        assert isinstance(model, type) and issubclass(model, BaseModel)
        out[(model, str(mode))] = schema
    return out, top


def _parameters(op: Operation) -> list[Any]:
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": op.path_params.get(name, {"type": "string", "minLength": 1}),
        }
        for name in path_params(op.path)
    ]
    params.extend(op.query_params)
    if op.query is not None:
        model_schema = op.query.model_json_schema(ref_template=_REF)
        required = set(model_schema.get("required", []))
        for name, prop in model_schema.get("properties", {}).items():
            described = dict(prop)
            description = described.pop("description", None)
            described.pop("title", None)
            param: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": described,
            }
            if description:
                param["description"] = description
            params.append(param)
    return params


def _responses(op: Operation, schemas: dict[tuple[type[BaseModel], str], Any]) -> dict[str, Any]:
    error = {"application/json": {"schema": schemas[(ErrorBody, "serialization")]}}
    out: dict[str, Any] = {}
    if op.media:
        out[str(op.status)] = {
            "description": _STATUS_TEXT.get(op.status, "OK"),
            "content": op.media,
        }
    elif op.response is not None:
        out[str(op.status)] = {
            "description": _STATUS_TEXT.get(op.status, "OK"),
            "content": {"application/json": {"schema": schemas[(op.response, "serialization")]}},
        }
    codes = set(op.errors)
    if op.query is not None or op.body is not None or op.query_params or path_params(op.path):
        codes.add(400)
    if op.body is not None:
        codes |= {413, 415}
    if not op.public:
        codes |= {401, 403}
    for code in sorted(codes):
        if code == 206 and op.media:
            out["206"] = {"description": _STATUS_TEXT[206], "content": op.media}
        else:
            out[str(code)] = {"description": _STATUS_TEXT.get(code, "Error"), "content": error}
    return out


def document(ops: list[Operation]) -> dict[str, Any]:
    schemas, top = _schemas(ops)
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        entry: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": _parameters(op),
            "responses": _responses(op, schemas),
            "security": [] if op.public else [{"bearer": []}, {"session": []}],
        }
        if op.description:
            entry["description"] = op.description
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schemas[(op.body, "validation")]}},
            }
        elif op.body_schema is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": op.body_schema}},
            }
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hotline",
            "version": __version__,
            "description": (
                "Report calls recorded in full, sealed as evidence, transcribed, and "
                "forwarded as cases. People sign in with a session cookie (unsafe "
                "requests then need the X-CSRF-Token header); integrations send "
                "`Authorization: Bearer hlt_…`."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "hotline_session"},
            },
        },
    }
