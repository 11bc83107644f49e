"""The console asks ``/api/v2.0`` what a user may see, in-process: the API's own router and
handlers run with a :class:`~dockyard.registry.harbor._call.Call` whose caller is the signed-in
user, so every page shows exactly what the API would answer that user, and nothing more."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from dockyard.errors import NotFound
from dockyard.registry._registry import Registry
from dockyard.registry.accesslog import new_request_id
from dockyard.registry.harbor import HarborApi
from dockyard.registry.harbor._call import Call
from dockyard.registry.http._io import Request
from dockyard.registry.identity import Identity

__all__ = ["ApiAnswer", "call_api", "segment"]


class _UserCall(Call):
    """A :class:`Call` whose caller is already known (the session's user)."""

    __slots__ = ()

    def __init__(self, *args: Any, identity: Identity) -> None:
        super().__init__(*args)
        self._identity = identity


@dataclass(frozen=True, slots=True)
class ApiAnswer:
    status: int
    json: Any
    total: int | None
    #: a text/plain answer (a job's log)
    text: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def location_id(self) -> str:
        """The last segment of the ``Location`` header (what a ``201`` created)."""
        for key, value in self.headers:
            if key.lower() == "location":
                return value.rstrip("/").rsplit("/", 1)[-1]
        return ""


def segment(name: str) -> str:
    """A path parameter as Harbor's router wants it (``a/b`` → ``a%252Fb``)."""
    return quote(quote(name, safe=""), safe="")


async def call_api(
    api: HarborApi,
    outer: Request,
    registry: Registry,
    identity: Identity,
    method: str,
    path: str,
    query: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> ApiAnswer:
    """``method path`` (relative to ``/api/v2.0``) as ``identity``; the API's errors
    (DockyardError: denied, not found, invalid) are raised as they are."""
    data = json.dumps(body).encode() if body is not None else b""
    scope: dict[str, Any] = {
        "type": "http",
        "method": method,
        "path": "/api/v2.0" + path,
        "query_string": urlencode(query or {}).encode(),
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(data)).encode()),
        ],
        "client": outer.scope.get("client"),
        "scheme": outer.scope.get("scheme", "http"),
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": data, "more_body": False}

    async def send(
        message: MutableMapping[str, Any],
    ) -> None:  # handlers return replies; never called
        raise AssertionError("an API handler sent a message itself")

    request = Request(scope, receive, send, "/api/v2.0" + path, outer.executor, outer.limits)
    found = api.router.match(method, path)
    if found is None:
        raise NotFound(f"no such API endpoint {path}")
    route, params = found
    call = _UserCall(api, request, registry, params, new_request_id(None), identity=identity)
    reply = await route.handler(call)
    if outer.user is None and not identity.anonymous:
        outer.user = identity.name  # the access log names them
    total = next((int(v) for k, v in reply.headers if k.lower() == "x-total-count"), None)
    return ApiAnswer(reply.status, reply.json, total, reply.text, tuple(reply.headers))
