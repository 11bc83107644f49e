"""Where the registry's own pushes, pulls and deletes become events.

A push is published by :class:`PushEvents`, a push guard (the chain runs it around every
manifest PUT, through ``/v2/`` or the API): the ticket of ``check_manifest`` carries the
manifest's digest, type, size and tags, and ``pushed_manifest`` publishes once it is stored;
the response observer then notes who made the request, and the sink gives the push its
operator. Pulls (``GET`` of a manifest, 200) and ``/v2/`` deletes (manifest DELETE, 202) are
seen by the response observer: it only records the request; the sink makes the events. The
Harbor API's artifact and repository deletes publish from their handlers
(:mod:`dockyard.registry.harbor._delete_events`), which know what they deleted.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

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
from dockyard.registry.webhooks._sink import Seen

__all__ = ["PushEvents", "event_observer"]


def _project(repository: str) -> str:
    return repository.partition("/")[0] if "/" in repository else ""


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


class Noter(Protocol):
    """Where the observer's records go (:class:`~dockyard.registry.webhooks.WebhookSink`)."""

    def note(self, seen: Seen) -> None: ...

    def wants(self, event_type: str) -> bool: ...


#: (repository, reference) → (digest, media type, size) from memory only, or None
CachedLookup = Callable[[str, str], tuple[str, str, int] | None]


def event_observer(sink: Noter, cached: CachedLookup | None = None) -> ResponseObserver:
    """The observer noting pulls and deletes (``/v2/`` and the API's artifact DELETE);
    pushes come from :class:`PushEvents`. It runs on the event loop: it only records what
    the request was (a :class:`Seen`, with what a pulled reference names from ``cached``,
    the registry's manifest cache: the tag may move or go before the sink looks); the sink
    makes the event and merges repeated pulls off the request path (and looks up a digest
    the cache did not have). Kinds nobody takes are not noted."""

    def observe(request: Request, route: str, status: int, seconds: float, sent: int) -> None:
        kind = None
        if route == "manifest" and request.method == "GET" and status == 200:
            kind = PULL_ARTIFACT
        elif route == "manifest" and request.method == "DELETE" and status == 202:
            kind = DELETE_ARTIFACT
        elif route == "manifest" and request.method == "PUT" and status == 201:
            kind = PUSH_ARTIFACT  # the push's events are published by PushEvents: who it was
        if kind is not None:
            if not sink.wants(kind):
                return
            target = match(request.path)
            if target is None:
                return
            repository, reference = target.name, target.arg
        else:
            return
        named = None
        if kind == PULL_ARTIFACT and cached is not None:
            named = cached(repository, reference)
        client = request.scope.get("client")
        sink.note(
            Seen(kind, repository, reference, request.user or "",
                 request.header("x-request-id") or "",
                 f"{client[0]}:{client[1]}" if client else "", request.method,
                 request.header("user-agent") or "", time.time(), named)
        )  # fmt: skip

    return observe
