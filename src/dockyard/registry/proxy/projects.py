"""Harbor's proxy cache projects: in ``auth: projects``, a project created with a ``registry_id``
(``POST /api/v2.0/projects``) is a pull-through cache of that endpoint registry
(``/api/v2.0/registries``).

``/v2/<project>/<repository>`` of such a project is served by the same :class:`ProxyCache` as a
``proxy:`` mirror (TTL, ``HEAD`` revalidation, stale-if-error, one fetch per missing blob),
its upstream being the endpoint's URL and credential, its repository upstream ``<repository>``
(Docker Hub's ``library/`` before a one-component name, as Harbor's ``docker-hub`` endpoints
do). What is fetched is kept in the project itself, ``<project>/<repository>``, so the project's
members, robots, quotas and listings see it as Harbor shows a proxy project's artifacts.
Pushes into a proxy project are refused as Harbor refuses them (403 ``DENIED``, "can not push
artifact to a proxy project"), and so is any other write the registry's guard chain hears of
(a tag added through the API: 405, "the operation isn't supported for a proxy cache
project", Harbor's answer); every other project is served by the registry's own handlers.
The project's access rules apply before any of this: a pull needs ``pull`` in the project.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from dockyard.errors import Denied
from dockyard.registry._push_guard import GuardChain
from dockyard.registry._registry import Registry
from dockyard.registry.access._schema import projects as project_table
from dockyard.registry.harbor._errors import MethodNotAllowed
from dockyard.registry.http import _blobs, _manifests, _uploads
from dockyard.registry.http._io import Request
from dockyard.registry.http._routes import Route
from dockyard.registry.metrics import MetricsRegistry
from dockyard.registry.proxy._errors import UpstreamBadGateway
from dockyard.registry.proxy.cache import ProxyCache, Where
from dockyard.registry.proxy.config import DEFAULT_TTL, Upstream
from dockyard.registry.replication import RegistryStore, RemoteRegistry
from dockyard.registry.replication._registries import RegistryNotFound

__all__ = ["PROXY_CACHE_TYPES", "ProxyProjects", "endpoint_upstream", "upstream_repository"]

Handler = Callable[..., Awaitable[None]]

#: The endpoint types a proxy cache project may name: those of Harbor's
#: ``PERMITTED_REGISTRY_TYPES_FOR_PROXY_CACHE`` that speak the distribution API with Basic or
#: Bearer-token credentials (not the cloud registries whose tokens need their own SDKs).
PROXY_CACHE_TYPES = ("docker-hub", "docker-registry", "harbor", "github-ghcr", "quay")

#: Where Docker Hub's registry API is, whatever URL its endpoint was given (Harbor's
#: ``docker-hub`` adapter keeps ``https://hub.docker.com``).
DOCKER_HUB_API = "https://registry-1.docker.io"
_HUB_HOSTS = {"hub.docker.com", "docker.io", "index.docker.io", "registry-1.docker.io",
              "registry.hub.docker.com"}  # fmt: skip

#: Seconds a process trusts what it read of a project (proxy or not, and its endpoint).
LOOKUP_TTL = 2.0
_MAX_KNOWN = 4096


def endpoint_upstream(project: str, endpoint: RemoteRegistry) -> Upstream:
    """The upstream of proxy project ``project``: its endpoint registry's URL and credential
    (the project's name labels its metrics)."""
    url = endpoint.url
    if endpoint.type == "docker-hub" and (urlsplit(url).hostname or "") in _HUB_HOSTS:
        url = DOCKER_HUB_API
    key, secret = endpoint.access_key, endpoint.access_secret
    return Upstream(
        name=project,
        remoteurl=url,
        username=key if key and secret else None,
        password=secret if key and secret else None,
        ttl=DEFAULT_TTL,
        insecure=endpoint.insecure,
    )


def upstream_repository(endpoint_type: str, repository: str) -> str:
    """The repository upstream for ``repository`` (the name after the project): Docker Hub's
    official images live under ``library/``."""
    if endpoint_type == "docker-hub" and "/" not in repository:
        return f"library/{repository}"
    return repository


@dataclass(frozen=True, slots=True)
class _Proxy:
    project: str
    #: None when the project's endpoint registry is gone
    upstream: Upstream | None
    endpoint_type: str
    registry_id: int


class ProxyProjects:
    """The ``/v2/`` handlers of a projects-mode registry: proxy projects' reads through the
    cache, pushes into them refused, everything else the registry's own."""

    def __init__(
        self,
        registry: Registry,
        endpoints: RegistryStore,
        *,
        metrics: MetricsRegistry | None = None,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.registry = registry
        self.endpoints = endpoints
        self.cache = ProxyCache(registry, metrics=metrics, clock=clock, transport=transport)
        self._clock = clock
        #: project name → (when it is read again, what it is: None for an ordinary project)
        self._known: dict[str, tuple[float, _Proxy | None]] = {}

    def handlers(self) -> dict[tuple[Route, str], Handler]:
        reads = {
            (Route.MANIFEST, "GET"): self.get_manifest,
            (Route.MANIFEST, "HEAD"): self.get_manifest,
            (Route.BLOB, "GET"): self.get_blob,
            (Route.BLOB, "HEAD"): self.get_blob,
        }
        writes: dict[tuple[Route, str], Handler] = {
            (Route.MANIFEST, "PUT"): _manifests.put_manifest,
            (Route.UPLOADS, "POST"): _uploads.start_upload,
            (Route.UPLOAD, "PATCH"): _uploads.patch_upload,
            (Route.UPLOAD, "PUT"): _uploads.finish_upload,
        }
        return {**reads, **{key: self._refusing(handler) for key, handler in writes.items()}}

    async def close(self) -> None:
        await self.cache.close()

    def guard_writes(self, chain: GuardChain) -> None:
        """Put the refusal of writes into proxy projects first in the registry's ``chain``."""
        chain.guards = (_ProxyGuard(self), *chain.guards)

    # --- which projects are proxies --------------------------------------------------------

    def _lookup(self, project: str) -> _Proxy | None:
        """What ``project`` is, from the database (blocking)."""
        with self.registry.meta.db.read() as conn:
            registry_id = conn.execute(
                select(project_table.c.registry_id).where(project_table.c.name == project)
            ).scalar()
        if not registry_id:
            return None
        try:
            endpoint = self.endpoints.get(int(registry_id))
        except RegistryNotFound:
            return _Proxy(project, None, "", int(registry_id))
        return _Proxy(project, endpoint_upstream(project, endpoint), endpoint.type, endpoint.id)

    def _known_proxy(self, project: str) -> tuple[bool, _Proxy | None]:
        """(whether what is known of ``project`` is fresh, the proxy it is)."""
        known = self._known.get(project)
        if known is not None and known[0] > self._clock():
            return True, known[1]
        return False, None

    def _remember(self, project: str, found: _Proxy | None) -> _Proxy | None:
        if len(self._known) >= _MAX_KNOWN:
            self._known.clear()
        self._known[project] = (self._clock() + LOOKUP_TTL, found)
        return found

    async def _proxy(self, request: Request, name: str) -> _Proxy | None:
        """The proxy project ``name`` is in, or None."""
        project, slash, _ = name.partition("/")
        if not slash:  # a repository is always <project>/<name> in projects mode
            return None
        fresh, found = self._known_proxy(project)
        if fresh:
            return found
        return self._remember(project, await request.run(self._lookup, project))

    def proxy_of(self, name: str) -> _Proxy | None:
        """:meth:`_proxy`, blocking (a guard's question, asked from a worker thread)."""
        project, slash, _ = name.partition("/")
        if not slash:
            return None
        fresh, found = self._known_proxy(project)
        return found if fresh else self._remember(project, self._lookup(project))

    async def locate(self, request: Request, name: str) -> Where | None:
        """Where repository ``name`` of a proxy project comes from (None: not a proxy's)."""
        proxy = await self._proxy(request, name)
        if proxy is None:
            return None
        if proxy.upstream is None:
            raise UpstreamBadGateway(
                f"proxy cache project {proxy.project} names registry endpoint "
                f"{proxy.registry_id}, which no longer exists",
                hint="create the endpoint again and point a new proxy cache project at it",
            )
        rest = name.partition("/")[2]
        remote = upstream_repository(proxy.endpoint_type, rest)
        return self.cache.where(proxy.upstream, name, remote)

    # --- handlers --------------------------------------------------------------------------

    async def get_manifest(
        self, request: Request, registry: Registry, name: str, reference: str
    ) -> None:
        where = await self.locate(request, name)
        if where is None:
            await _manifests.get_manifest(request, registry, name, reference)
        else:
            await self.cache.serve_manifest(request, registry, where, reference)

    async def get_blob(self, request: Request, registry: Registry, name: str, digest: str) -> None:
        where = await self.locate(request, name)
        if where is None:
            await _blobs.get_blob(request, registry, name, digest)
        else:
            await self.cache.serve_blob(request, registry, where, digest)

    def _refusing(self, ordinary: Handler) -> Handler:
        async def handler(
            request: Request, registry: Registry, name: str, *args: object, **kwargs: object
        ) -> None:
            proxy = await self._proxy(request, name)
            if proxy is not None:
                raise Denied(
                    f"can not push artifact to a proxy project: {proxy.project}",
                    hint="push to the registry the project caches; pulls fetch from it",
                )
            await ordinary(request, registry, name, *args, **kwargs)

        return handler


class _ProxyGuard:
    """The guard chain's refusal of writes into a proxy project (Harbor's
    ``requireNonProxyCacheProject``); what the cache stores does not pass through it."""

    def __init__(self, proxies: ProxyProjects) -> None:
        self.proxies = proxies

    def _refuse(self, repository: str) -> None:
        if self.proxies.proxy_of(repository) is not None:
            raise MethodNotAllowed(
                "the operation isn't supported for a proxy cache project", allow=()
            )

    def check_manifest(
        self, repository: str, tags: tuple[str, ...], body: bytes, content_type: str | None
    ) -> object:
        self._refuse(repository)
        return None

    def pushed_manifest(self, repository: str, ticket: object) -> None:
        pass

    def check_blob(self, repository: str, digest: str, size: int) -> None:
        self._refuse(repository)

    def check_delete(self, repository: str, reference: str) -> None:
        pass  # cached artifacts may be deleted, as in Harbor

    def deleted(self, repository: str) -> None:
        pass
