"""Checking ``/api/v2.0`` answers against Harbor's swagger definitions, held strictly.

Harbor's definitions allow any extra property; here every object is closed
(``additionalProperties: false``), ``x-nullable`` decides whether null is allowed, property
names lose the stray quotes Harbor's YAML gives a few (``'os.version'``), and a ``date-time``
must be written as Harbor writes one (``2024-01-02T03:04:05.678Z``).
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema

__all__ = [
    "HARBOR_DEFINITIONS",
    "check_error",
    "check_list",
    "check_one",
    "harbor_definitions",
    "strict",
    "validate",
]

HARBOR_DEFINITIONS = (
    Path(__file__).parent.parent / "registry" / "harbor" / "harbor_definitions.json"
)
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
_FORMATS = jsonschema.FormatChecker(formats=())
_FORMATS.checks("date-time")(
    lambda value: not isinstance(value, str) or bool(_DATE_TIME.fullmatch(value))
)


def strict(node: Any) -> Any:
    """A copy of a swagger schema with closed objects (see the module's docstring)."""
    if isinstance(node, list):
        return [strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: strict(v) for k, v in node.items() if not k.startswith("x-")}
    if "properties" in node:
        out["properties"] = {k.strip("'"): strict(v) for k, v in node["properties"].items()}
        out.setdefault("additionalProperties", False)
    if node.get("x-nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if "$ref" in out:  # draft 4: siblings of $ref are ignored; keep the $ref alone
        out = {"$ref": out["$ref"]}
    return out


@cache
def harbor_definitions() -> dict[str, Any]:
    return dict(json.loads(HARBOR_DEFINITIONS.read_text())["definitions"])


def validate(
    instance: Any, schema: dict[str, Any], definitions: dict[str, Any] | None = None
) -> None:
    """Raise jsonschema.ValidationError unless ``instance`` fits ``schema`` (which may refer to
    ``#/definitions/…``: Harbor's, held strictly, unless ``definitions`` are given)."""
    defs = strict(copy.deepcopy(definitions if definitions is not None else harbor_definitions()))
    root = {**strict(schema), "definitions": defs}
    jsonschema.Draft4Validator(root, format_checker=_FORMATS).validate(instance)


def check_one(response: httpx.Response, definition: str, status: int = 200) -> Any:
    """``response`` is ``status`` with one ``definition`` as its JSON body; the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers.get("x-request-id")
    body = response.json()
    validate(body, {"$ref": f"#/definitions/{definition}"})
    return body


def check_list(response: httpx.Response, definition: str) -> list[Any]:
    """``response`` is a 200 list of ``definition`` with ``X-Total-Count``; the list."""
    assert response.status_code == 200, response.text
    assert response.headers.get("x-request-id")
    assert response.headers["x-total-count"].isdigit()
    body = response.json()
    validate(body, {"type": "array", "items": {"$ref": f"#/definitions/{definition}"}})
    return list(body)


def check_error(response: httpx.Response, status: int, code: str) -> str:
    """``response`` is Harbor's error body with ``status`` and ``code``; the message."""
    assert response.status_code == status, response.text
    assert response.headers.get("x-request-id")
    body = response.json()
    validate(body, {"$ref": "#/definitions/Errors"})
    [error] = body["errors"]
    assert error["code"] == code, body
    assert error["message"]
    return str(error["message"])
