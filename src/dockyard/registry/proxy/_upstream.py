"""Talking to one upstream registry: Basic and Bearer-token challenges, streamed responses.

Each request first goes out with what worked last time for its scope (a token, or Basic
credentials); a 401 is answered once: Basic credentials for a ``Basic`` challenge, a token from
the challenge's realm (with the credentials, when there are any) for a ``Bearer`` one.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from dockyard.errors import Unauthorized
from dockyard.registry.proxy._errors import (
    UpstreamBadGateway,
    UpstreamThrottled,
    UpstreamUnreachable,
)
from dockyard.registry.proxy.config import Upstream

__all__ = ["MANIFEST_ACCEPT", "UpstreamClient"]

#: What the mirror accepts for a manifest: every type the registry stores.
MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
_PARAM = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]*))')
#: seconds a token is used when its response says nothing of its lifetime (registry:2's 60)
_TOKEN_LIFETIME = 60.0


@dataclass(slots=True)
class _Token:
    value: str
    expires: float


class UpstreamClient:
    """Requests to one upstream over one connection pool."""

    def __init__(
        self,
        upstream: Upstream,
        client: httpx.AsyncClient,
        count: Callable[[str, str], None] | None = None,
    ) -> None:
        self.upstream = upstream
        self._client = client
        #: told (method, status code; "0" when unreachable) of every request sent
        self._count = count
        self._tokens: dict[str, _Token] = {}
        self._basic: str | None = None
        if upstream.username is not None and upstream.password is not None:
            pair = f"{upstream.username}:{upstream.password}".encode()
            self._basic = "Basic " + base64.b64encode(pair).decode()
        #: "basic" or "bearer" once a challenge said which
        self._scheme: str | None = None

    async def send(
        self,
        method: str,
        path: str,
        repository: str,
        *,
        accept: str | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """``method path`` upstream, authenticated for pulling ``repository``. The response
        is the upstream's (the caller checks its status); ``stream``: the body is not read."""
        scope = f"repository:{repository}:pull"
        url = self.upstream.remoteurl + path
        headers = {"accept": accept} if accept else {}
        for attempt in (0, 1):
            auth = self._authorization(scope)
            if auth is not None:
                headers["authorization"] = auth
            request = self._client.build_request(method, url, headers=headers)
            try:
                response = await self._client.send(request, stream=stream)
            except httpx.HTTPError as exc:
                if self._count is not None:
                    self._count(method, "0")
                raise UpstreamUnreachable(
                    f"upstream {self.upstream.name} ({self.upstream.remoteurl}) is unreachable: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            if response.status_code != 401 or attempt:
                if self._count is not None:
                    self._count(method, str(response.status_code))
                return response
            challenge = response.headers.get("www-authenticate", "")
            await response.aclose()
            await self._answer(challenge, scope)
        raise AssertionError("unreachable")

    def _authorization(self, scope: str) -> str | None:
        if self._scheme == "bearer":
            token = self._tokens.get(scope)
            if token is not None and token.expires > time.monotonic():
                return f"Bearer {token.value}"
            return None
        if self._scheme == "basic":
            return self._basic
        return None

    async def _answer(self, challenge: str, scope: str) -> None:
        kind, _, rest = challenge.strip().partition(" ")
        kind = kind.lower()
        if kind == "basic":
            if self._basic is None:
                raise Unauthorized(
                    f"upstream {self.upstream.name} asks for a password",
                    hint="set username and password for this upstream in the proxy section",
                )
            self._scheme = "basic"
            return
        if kind != "bearer":
            raise UpstreamBadGateway(
                f"upstream {self.upstream.name} asks for unsupported authentication "
                f"{challenge!r}; only Basic and Bearer are supported"
            )
        params = {m.group(1).lower(): m.group(2) or m.group(3) or "" for m in _PARAM.finditer(rest)}
        realm = params.get("realm")
        if not realm:
            raise UpstreamBadGateway(
                f"upstream {self.upstream.name} sent a Bearer challenge without a realm"
            )
        query = {"scope": scope}
        if params.get("service"):
            query["service"] = params["service"]
        headers = {"authorization": self._basic} if self._basic else {}
        try:
            response = await self._client.get(realm, params=query, headers=headers)
        except httpx.HTTPError as exc:
            raise UpstreamUnreachable(
                f"the token service of upstream {self.upstream.name} ({realm}) is unreachable: "
                f"{exc}"
            ) from exc
        if response.status_code == 429:
            raise UpstreamThrottled(
                f"the token service of upstream {self.upstream.name} is rate-limiting the mirror",
                hint="retry later",
            )
        if response.status_code != 200:
            raise UpstreamBadGateway(
                f"the token service of upstream {self.upstream.name} refused the mirror "
                f"({response.status_code}); check the upstream's username and password"
            )
        try:
            body = response.json()
            value = str(body.get("token") or body.get("access_token"))
            lifetime = float(body.get("expires_in") or _TOKEN_LIFETIME)
        except (ValueError, AttributeError) as exc:
            raise UpstreamBadGateway(
                f"the token service of upstream {self.upstream.name} sent no token"
            ) from exc
        # renewed a little early, so that a token never expires on the way
        self._tokens[scope] = _Token(value, time.monotonic() + max(lifetime - 5, 1))
        self._scheme = "bearer"
