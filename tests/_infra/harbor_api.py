"""Checking ``/api/v2.0`` answers against Harbor's swagger definitions, held strictly.

Harbor's definitions allow any extra property; here every object is closed
(``additionalProperties: false``), ``x-nullable`` decides whether null is allowed, property
names lose the stray quotes Harbor's YAML gives a few (``'os.version'``), and a ``date-time``
must be written as Harbor writes one (``2024-01-02T03:04:05.678Z``).
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema

from _infra import backend

__all__ = [
    "ADMIN_PASSWORD",
    "HARBOR_DEFINITIONS",
    "AccessRegistry",
    "access_registry",
    "basic",
    "check_created",
    "check_empty",
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


def check_empty(response: httpx.Response, status: int = 200) -> httpx.Response:
    """``response`` is ``status`` with no body (Harbor's answer to a change)."""
    assert response.status_code == status, response.text
    assert response.headers.get("x-request-id")
    assert response.content == b""
    return response


def check_created(response: httpx.Response, prefix: str) -> str:
    """``response`` is 201 with a Location under ``prefix``; the new resource's last segment."""
    assert response.status_code == 201, response.text
    assert response.headers.get("x-request-id")
    location = response.headers["location"]
    assert location.startswith(prefix + "/"), location
    return location.removeprefix(prefix + "/")


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


# --- a registry with the access model behind /api/v2.0 ------------------------------------

#: The first administrator's password in :func:`access_registry`.
ADMIN_PASSWORD = "Admin12345"


class _LateGranter:
    """The token service's granter, bound to the access model once the app (and so its
    database) exists."""

    def __init__(self) -> None:
        self.target: Any = None

    def authenticate(self, username: str, password: str, *, client_ip: str) -> Any:
        return self.target.authenticate(username, password, client_ip=client_ip)

    def grant(self, identity: Any, requested: Any) -> Any:
        return self.target.grant(identity, requested)


def basic(user: str, password: str) -> dict[str, str]:
    """An ``Authorization: Basic`` header."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"authorization": f"Basic {token}"}


@dataclass
class AccessRegistry:
    """The registry app (in process) with an AccessService as the API's security and as the
    token service's granter; ``client`` talks to it over ASGI, ``admin`` is the Basic header of
    the first administrator."""

    app: Any
    access: Any
    client: Any

    @property
    def admin(self) -> dict[str, str]:
        return basic("admin", ADMIN_PASSWORD)

    def user(self, name: str, password: str = "Passw0rd1", *, sysadmin: bool = False) -> int:
        """Create a local user (through the library); its id."""
        user = self.access.users.create(
            name, password, email=f"{name}@example.org", realname=name, sysadmin=sysadmin
        )
        return int(user.id)


@contextmanager
def access_registry(
    root: Path, *, creation: str = "everyone", auth_mode: str = "db_auth"
) -> Iterator[AccessRegistry]:
    """The real app from a config (filesystem storage under ``root``, or with
    DOCKYARD_TEST_BACKEND=cluster the cluster's servers; deletes on) with the
    access model wired as ``auth: projects`` wires it; served in process."""
    from _infra.registry_server import ASGIClient
    from dockyard.registry._server import build_app
    from dockyard.registry.access import AccessConfig, AccessService, LockoutPolicy
    from dockyard.registry.config import load
    from dockyard.registry.harbor import PREFIX, ApiSettings, HarborApi

    config = load(
        None,
        {
            # DOCKYARD_TEST_BACKEND=cluster: on PostgreSQL, S3 and Redis
            **backend.serve_env(root / "data", {}),
            "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(root / "data"),
            "REGISTRY_STORAGE_DELETE_ENABLED": "true",
            "REGISTRY_LOG_ACCESSLOG_DISABLED": "true",
        },
    )
    granter = _LateGranter()
    app = build_app(config, access_log=False, granter=granter)
    access = AccessService(
        app.registry.meta.db,
        AccessConfig(
            password_cost=4,
            lockout=LockoutPolicy(delay_after=50, refuse_after=100, window=60.0, delay=0.0),
        ),
    )
    granter.target = access
    access.users.ensure_admin(ADMIN_PASSWORD)
    settings = ApiSettings(
        realm="dockyard-tests",
        auth_mode=auth_mode,
        project_creation_restriction=creation,  # type: ignore[arg-type]
    )
    app.prefix_routes[PREFIX + "/"] = HarborApi(access, settings)
    client = ASGIClient(app)
    try:
        yield AccessRegistry(app, access, client)
    finally:
        client.close()
        app.registry.close()
