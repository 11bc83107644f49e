"""One API call as handlers see it (the request, its parameters, who is asking) and what a
handler returns (:class:`Reply`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from dockyard.errors import Denied
from dockyard.registry._registry import Registry
from dockyard.registry.auth import AuthenticationRequired, basic_challenge
from dockyard.registry.harbor._errors import BadRequest
from dockyard.registry.harbor._paging import Page, link_header, parse_page
from dockyard.registry.http._io import Request, read_body
from dockyard.registry.identity import Identity

if TYPE_CHECKING:
    from dockyard.registry.harbor._api import HarborApi

__all__ = ["MAX_BODY", "REFUSED", "Call", "Reply"]

P = ParamSpec("P")
T = TypeVar("T")

#: Largest JSON request body the API reads.
MAX_BODY = 64 << 10
#: The ASGI scope key where :meth:`Call.require` leaves (project, resource, action) it refused.
REFUSED = "dockyard.api.refused"


@dataclass(slots=True)
class Reply:
    """``json`` is sent as application/json, ``text`` as text/plain; neither: no body."""

    status: int = 200
    json: Any = None
    text: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)


class Call:
    __slots__ = ("_identity", "api", "params", "registry", "request", "request_id")

    def __init__(
        self,
        api: HarborApi,
        request: Request,
        registry: Registry,
        params: dict[str, str | int],
        request_id: str,
    ) -> None:
        self.api = api
        self.request = request
        self.registry = registry
        self.params = params
        self.request_id = request_id
        self._identity: Identity | None = None

    def param(self, name: str) -> str:
        return str(self.params[name])

    def query(self, name: str) -> str | None:
        return self.request.query(name)

    @property
    def client_ip(self) -> str:
        client = self.request.scope.get("client")
        return str(client[0]) if client else ""

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Blocking work (SQL, bcrypt) in the registry's threads."""
        return await self.request.run(fn, *args, **kwargs)

    async def identity(self) -> Identity:
        """Who is calling (ANONYMOUS without credentials; 401 for wrong ones)."""
        if self._identity is None:
            self._identity = await self.run(
                self.api.security.identify,
                self.request.header("authorization"),
                client_ip=self.client_ip,
            )
            if not self._identity.anonymous:
                self.request.user = self._identity.name  # the access and audit logs name them
        return self._identity

    async def authenticated(self) -> Identity:
        """The caller; 401 (with a Basic challenge) for an anonymous one."""
        identity = await self.identity()
        if identity.anonymous:
            raise AuthenticationRequired(
                "authentication required", challenge=basic_challenge(self.api.settings.realm)
            )
        return identity

    async def allowed(self, project: str | None, resource: str, action: str) -> bool:
        identity = await self.identity()
        return await self.run(self.api.security.can, identity, project, resource, action)

    async def require(self, project: str | None, resource: str, action: str) -> Identity:
        """The caller, when allowed ``action`` on ``resource`` (in ``project``); else 401 for
        an anonymous caller (with a Basic challenge) and 403 for an authenticated one."""
        identity = await self.identity()
        if await self.run(self.api.security.can, identity, project, resource, action):
            return identity
        where = f" in project {project}" if project else ""
        # what was refused, for the audit log (the response observer reads it)
        self.request.scope[REFUSED] = (project or "", resource, action)
        if identity.anonymous:
            raise AuthenticationRequired(
                f"authentication required to {action} {resource}{where}",
                challenge=basic_challenge(self.api.settings.realm),
            )
        raise Denied(f"{identity.name} may not {action} {resource}{where}")

    def page(self) -> Page:
        return parse_page(self.query("page"), self.query("page_size"))

    def paged(self, items: list[Any], total: int, page: Page) -> Reply:
        """A list reply with ``X-Total-Count`` and, where there are more pages, ``Link``."""
        headers = [("X-Total-Count", str(total))]
        query = self.request.scope.get("query_string", b"").decode("latin-1")
        link = link_header(self.request.path, query, total, page)
        if link is not None:
            headers.append(("Link", link))
        return Reply(json=items, headers=headers)

    async def json_body(self, *, optional: bool = False) -> dict[str, Any]:
        """The request's JSON object body (at most :data:`MAX_BODY` bytes); ``optional``: an
        empty body is ``{}``."""
        body = await read_body(self.request, MAX_BODY, "request body", "the API's 64 KiB")
        if optional and not body.strip():
            return {}
        try:
            value = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadRequest(f"the request body is not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise BadRequest("the request body must be a JSON object")
        return value
