"""HarborApi: ``/api/v2.0/`` on the registry's ASGI app (a prefix route of RegistryApp).

Every answer carries an ``X-Request-Id`` (the client's, if sane, else a new one); errors are
Harbor's ``{"errors":[{"code":…,"message":…}]}`` with Harbor's codes.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Literal

from dockyard.errors import DockyardError, NotFound
from dockyard.registry._registry import Registry
from dockyard.registry.access import AccessService
from dockyard.registry.accesslog import new_request_id
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._descriptions import Descriptions
from dockyard.registry.harbor._errors import MethodNotAllowed, error_body, harbor_status
from dockyard.registry.harbor._router import Route, Router
from dockyard.registry.harbor._routes import ROUTES
from dockyard.registry.harbor._security import ApiSecurity, RegistrySecurity
from dockyard.registry.http._io import ClientGone, Request, send_bytes
from dockyard.registry.metadata import Inventory

__all__ = ["PREFIX", "ApiSettings", "HarborApi"]

log = logging.getLogger("dockyard.registry")

PREFIX = "/api/v2.0"

_JSON = b"application/json"
_TEXT = b"text/plain"
_ERROR = b"application/json; charset=utf-8"


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """What ``/systeminfo`` reports, and the realm of the Basic challenge on a 401."""

    realm: str = "dockyard"
    auth_mode: str = "db_auth"
    registry_url: str | None = None
    external_url: str | None = None
    project_creation_restriction: Literal["adminonly", "everyone"] = "everyone"
    read_only: bool = False
    storage_provider: str = "filesystem"


class HarborApi:
    """The ``/api/v2.0`` handler: ``app.prefix_routes[PREFIX + "/"] = api``.

    With an :class:`AccessService` (as ``security``, or as ``access``) it also serves Harbor's
    projects, members, users, robots, quotas and audit logs, and repositories belong to the
    access model's projects; without one those endpoints answer 412."""

    def __init__(
        self,
        security: ApiSecurity | None = None,
        settings: ApiSettings | None = None,
        routes: list[Route] | None = None,
        *,
        access: AccessService | None = None,
    ) -> None:
        self.security: ApiSecurity = security or RegistrySecurity()
        #: the access model behind projects, users, robots, quotas and the audit log: given,
        #: or the security itself (or its ``access``) when that is an AccessService; else None
        if access is None:
            for candidate in (security, getattr(security, "access", None)):
                if isinstance(candidate, AccessService):
                    access = candidate
                    break
        self.access = access
        self.settings = settings or ApiSettings()
        self.router = Router(routes if routes is not None else ROUTES)
        self._inventory: Inventory | None = None
        self._descriptions: Descriptions | None = None

    def inventory(self, registry: Registry) -> Inventory:
        if self._inventory is None:
            self._inventory = Inventory(registry.meta.db)
        return self._inventory

    def descriptions(self, registry: Registry) -> Descriptions:
        """Created on first use (it may create its table: call it from a thread)."""
        if self._descriptions is None:
            self._descriptions = Descriptions(registry.meta.db)
        return self._descriptions

    async def __call__(self, request: Request, registry: Registry) -> None:
        request_id = new_request_id(request.header("x-request-id"))
        request.headers["x-request-id"] = request_id  # the access log names the same id
        head = request.method == "HEAD"
        try:
            reply = await self._handle(request, registry, request_id)
        except ClientGone:
            raise
        except DockyardError as exc:
            reply = self._error(exc)
        except Exception:
            log.exception("%s %s failed (request %s)", request.method, request.path, request_id)
            error = {"code": "INTERNAL_SERVER_ERROR", "message": "internal server error"}
            reply = Reply(500, json={"errors": [error]})
        headers = [(b"x-request-id", request_id.encode())]
        headers += [(k.lower().encode(), v.encode("latin-1", "replace")) for k, v in reply.headers]
        if reply.text is not None:
            body, content_type = reply.text.encode(), _TEXT
        elif reply.json is not None:
            body = json.dumps(reply.json, separators=(",", ":")).encode()
            content_type = _ERROR if reply.status >= 400 else _JSON
        else:
            body, content_type = b"", None
        await send_bytes(
            request.send, reply.status, body, headers, content_type=content_type, head=head
        )

    async def _handle(self, request: Request, registry: Registry, request_id: str) -> Reply:
        path = request.path[len(PREFIX) :]
        found = None
        if request.method == "HEAD":  # a HEAD route of its own, else GET without the body
            try:
                found = self.router.match("HEAD", path)
            except MethodNotAllowed:
                found = None
        if found is None:
            method = "GET" if request.method == "HEAD" else request.method
            found = self.router.match(method, path)
        if found is None:
            raise NotFound(f"no such API endpoint {request.path}; see {PREFIX}/swagger.json")
        route, params = found
        reply = await route.handler(Call(self, request, registry, params, request_id))
        if reply.status == 200 and route.status != 200:
            reply.status = route.status
        return reply

    @staticmethod
    def _error(exc: DockyardError) -> Reply:
        status, code = harbor_status(exc)
        headers: list[tuple[str, str]] = []
        extra = getattr(exc, "headers", None)
        if isinstance(extra, dict):
            headers.extend((str(k), str(v)) for k, v in extra.items())
        if isinstance(exc, MethodNotAllowed):
            headers.append(("Allow", ", ".join(exc.allow)))
        if status >= 500:
            log.error("API error: %s", exc)
            message = "internal server error" if status == 500 else str(exc)
        else:
            message = str(exc)
        return Reply(status, json=json.loads(error_body(code, message)), headers=headers)
