"""Where the registry's own pushes, pulls and deletes become events.

A push is published by :class:`PushEvents`, a push guard (the chain runs it around every
manifest PUT, through ``/v2/`` or the API): the ticket of ``check_manifest`` carries the
manifest's digest, type, size and tags, and ``pushed_manifest`` publishes once it is stored.
Pulls (``GET`` of a manifest, 200) and deletes (``/v2/`` manifest DELETE, 202; the API's
artifact DELETE, 200) are seen by a response observer: it only builds an :class:`Event` and
hands it to the sink, which resolves a pulled tag's digest off the request path.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from dockyard.oci import mediatypes
from dockyard.registry.events import (
    DELETE_ARTIFACT,
    PULL_ARTIFACT,
    PUSH_ARTIFACT,
    Event,
    EventSink,
)
from dockyard.registry.http import Request, ResponseObserver
from dockyard.registry.http._routes import match

__all__ = ["PushEvents", "event_observer"]

_API_ARTIFACT = re.compile(
    r"^/api/v2\.0/projects/(?P<project>[^/]+)/repositories/(?P<repo>[^/]+)"
    r"/artifacts/(?P<ref>[^/]+)$"
)


def _project(repository: str) -> str:
    return repository.partition("/")[0] if "/" in repository else ""


def _reference(reference: str) -> tuple[str, str]:
    """(digest, tag) of a path's reference."""
    if reference.startswith(("sha256:", "sha512:")):
        return reference, ""
    return "", reference


@dataclass(frozen=True, slots=True)
class _Pushed:
    digest: str
    media_type: str
    size: int
    tags: tuple[str, ...]


class PushEvents:
    """A :class:`~dockyard.registry._push_guard.PushGuard` that refuses nothing and
    publishes ``PUSH_ARTIFACT`` for every stored manifest (one event per tag; one without a
    tag for a push by digest). ``operator`` is unknown to a guard: the sink's events name the
    repository's project, and the operator stays empty unless the caller knows it."""

    def __init__(self, sink: EventSink) -> None:
        self.sink = sink

    def check_manifest(
        self, repository: str, tags: tuple[str, ...], body: bytes, content_type: str | None
    ) -> object:
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        return _Pushed(digest, mediatypes.base(content_type or ""), len(body), tags)

    def pushed_manifest(self, repository: str, ticket: object) -> None:
        if not isinstance(ticket, _Pushed):
            return
        for tag in ticket.tags or ("",):
            self.sink.publish(
                Event(PUSH_ARTIFACT, _project(repository), repository, digest=ticket.digest,
                      tag=tag, media_type=ticket.media_type, size=ticket.size)
            )  # fmt: skip

    def check_blob(self, repository: str, digest: str, size: int) -> None:
        return None

    def check_delete(self, repository: str, reference: str) -> None:
        return None

    def deleted(self, repository: str) -> None:
        return None


def _details(request: Request) -> dict[str, object]:
    client = request.scope.get("client")
    return {
        "request_id": request.header("x-request-id") or "",
        "client_addr": f"{client[0]}:{client[1]}" if client else "",
        "method": request.method,
        "user_agent": request.header("user-agent") or "",
    }


#: (repository, reference) → (digest, media type, size) from memory only, or None
CachedLookup = Callable[[str, str], tuple[str, str, int] | None]


def event_observer(sink: EventSink, cached: CachedLookup | None = None) -> ResponseObserver:
    """The observer publishing pulls and deletes (``/v2/`` and the API's artifact DELETE);
    pushes come from :class:`PushEvents`. It runs on the event loop: no I/O here; a pulled
    tag's digest is taken from ``cached`` (the registry's manifest cache) when it is there,
    else the sink looks it up."""

    def observe(request: Request, route: str, status: int, seconds: float, sent: int) -> None:
        kind = None
        if route == "manifest" and request.method == "GET" and status == 200:
            kind = PULL_ARTIFACT
        elif route == "manifest" and request.method == "DELETE" and status == 202:
            kind = DELETE_ARTIFACT
        if kind is not None:
            target = match(request.path)
            if target is None:
                return
            repository, reference = target.name, target.arg
        elif request.method == "DELETE" and status == 200:
            found = _API_ARTIFACT.match(request.path)
            if found is None:
                return
            kind = DELETE_ARTIFACT
            project = unquote(found["project"])
            repository = f"{project}/{unquote(unquote(found['repo']))}"
            reference = unquote(found["ref"])
        else:
            return
        digest, tag = _reference(reference)
        media_type, size = "", 0
        if kind == PULL_ARTIFACT and cached is not None:
            hit = cached(repository, reference)
            if hit is not None:
                digest, media_type, size = hit
        sink.publish(
            Event(kind, _project(repository), repository, operator=request.user or "",
                  digest=digest, tag=tag, media_type=media_type, size=size,
                  details=_details(request))
        )  # fmt: skip

    return observe
