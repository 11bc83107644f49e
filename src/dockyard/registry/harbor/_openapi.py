"""``GET /api/v2.0/swagger.json``: a Swagger 2.0 document of exactly what is served, built from
the route table and :data:`DEFINITIONS`, so it cannot drift from the code."""

from __future__ import annotations

from typing import Any

from dockyard import __version__
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._models import DEFINITIONS
from dockyard.registry.harbor._router import Route

__all__ = ["get_swagger", "swagger"]

_ERRORS = {
    "400": "Bad request: a parameter, the query or the body is invalid.",
    "401": "Unauthorized: authentication is required.",
    "403": "Forbidden: the caller may not do this.",
    "404": "Not found.",
    "405": "Method not allowed.",
    "409": "Conflict.",
    "412": "Precondition failed.",
    "429": "Too many requests: failed logins from this address or name; retry later.",
    "500": "Internal server error.",
}
_REQUEST_ID = {"$ref": "#/parameters/requestId"}


def _schema(response: str) -> dict[str, Any]:
    if response in ("string", "object"):
        return {"type": response}
    if response == "[object]":
        return {"type": "array", "items": {"type": "object"}}
    if response == "json":  # an addition: an object or an array, as the addition is
        return {}
    if response.startswith("["):
        return {"type": "array", "items": {"$ref": f"#/definitions/{response[1:-1]}"}}
    return {"$ref": f"#/definitions/{response}"}


def _body(body: str) -> dict[str, Any]:
    """A request body: a definition, or ``object`` (a map of strings, as project metadata)."""
    if body == "object":
        return {"type": "object", "additionalProperties": {"type": "string"}}
    return {"$ref": f"#/definitions/{body}"}


def _operation(route: Route) -> dict[str, Any]:
    params: list[dict[str, Any]] = [_REQUEST_ID]
    for p in route.params:
        params.append(
            {"name": p.name, "in": "path", "required": True, "type": p.type,
             "description": p.description}
        )  # fmt: skip
    for q in route.query:
        entry: dict[str, Any] = {
            "name": q.name, "in": "query", "required": False, "type": q.type,
            "description": q.description,
        }  # fmt: skip
        if q.type == "integer":
            entry["format"] = "int64"
        for key in ("default", "maximum", "minimum"):
            value = getattr(q, key)
            if value is not None:
                entry[key] = value
        params.append(entry)
    if route.body is not None:
        params.append({"name": "body", "in": "body", "required": True, "schema": _body(route.body)})
    ok: dict[str, Any] = {"description": "Success"}
    if route.status == 201:
        ok["headers"] = {"Location": {"type": "string", "description": "The new resource"}}
    if route.response is not None:
        ok["schema"] = _schema(route.response)
    if route.paged:
        ok["headers"] = {
            "X-Total-Count": {"type": "integer", "description": "The total count"},
            "Link": {"type": "string", "description": "Links to the previous and next page"},
        }
    responses: dict[str, Any] = {str(route.status): ok}
    for code, text in _ERRORS.items():
        responses[code] = {"description": text, "schema": {"$ref": "#/definitions/Errors"}}
    if route.paged:  # go-swagger's answer to page/page_size out of bounds (see _paging)
        responses["422"] = {
            "description": "Unprocessable: page or page_size is not an int64 or out of bounds.",
            "schema": {"$ref": "#/definitions/Errors"},
        }
    op: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.tag],
        "parameters": params,
        "responses": responses,
    }
    if route.response == "string":
        op["produces"] = ["text/plain"]
    return op


def swagger(routes: list[Route]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.template, {})[route.method.lower()] = _operation(route)
    return {
        "swagger": "2.0",
        "info": {
            "title": "dockyard registry API (Harbor API v2.0 subset)",
            "version": __version__,
            "description": "The parts of Harbor's /api/v2.0 that dockyard's registry serves.",
        },
        "basePath": "/api/v2.0",
        "schemes": ["http", "https"],
        "produces": ["application/json"],
        "consumes": ["application/json"],
        "securityDefinitions": {"basic": {"type": "basic"}},
        "security": [{"basic": []}, {}],
        "paths": paths,
        "parameters": {
            "requestId": {
                "name": "X-Request-Id",
                "in": "header",
                "type": "string",
                "required": False,
                "minLength": 1,
                "description": "An unique ID for the request",
            }
        },
        "definitions": DEFINITIONS,
    }


async def get_swagger(call: Call) -> Reply:
    return Reply(json=swagger(call.api.router.routes))
