"""Projects' storage quotas at push time (Harbor's quota middleware, for ``/v2/``).

A manifest PUT into a project with a hard limit is checked with the bytes it would add that the
project does not hold yet (its config and layers, and the manifest itself); an upload finish is
checked with its blob's bytes. Refusals are :class:`~dockyard.registry.access.QuotaExceeded`
(403 ``DENIED``, the message naming the quota). A stored manifest's blobs are then counted
(:meth:`QuotaStore.record_push`); after a delete the project gives back every counted blob no
manifest of its repositories references any more (:meth:`QuotaGuard.reconcile`, also for
deletes made elsewhere, such as the API).

A push into a project that does not exist is refused here too: a system administrator is
granted every repository, but content outside any project would be counted nowhere.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select, union

from dockyard.errors import Denied, DockyardError, NameInvalid
from dockyard.oci import Manifest, mediatypes, parse_manifest_or_index
from dockyard.registry.access import AccessService, project_of
from dockyard.registry.access._quotas import MAX_BLOBS, QuotaExceeded
from dockyard.registry.events import NO_EVENTS, QUOTA_EXCEED, QUOTA_WARNING, Event, EventSink
from dockyard.registry.metadata import Database
from dockyard.registry.metadata._schema import manifest_refs, manifests, repositories

__all__ = ["NoSuchProject", "QuotaGuard"]


#: Harbor's default: a push that takes usage past this share of the limit raises a warning.
WARNING_PERCENT = 85


class NoSuchProject(Denied):
    """A push into a project that does not exist."""


@dataclass(frozen=True, slots=True)
class _Ticket:
    project: str
    blobs: dict[str, int]


def manifest_blobs(body: bytes, content_type: str | None) -> dict[str, int]:
    """digest → size of what a manifest brings into a project: itself, and (an image
    manifest) its config and layers stored here. Empty when it cannot be parsed (the registry
    then refuses it with the precise error)."""
    blobs = {"sha256:" + hashlib.sha256(body).hexdigest(): len(body)}
    try:
        parsed = parse_manifest_or_index(body, mediatypes.base(content_type or "") or None)
    except DockyardError:
        return {}
    if isinstance(parsed, Manifest):
        for d in (parsed.config, *(layer for layer in parsed.layers if not layer.urls)):
            blobs[str(d.digest)] = d.size
    return blobs


def _chunks(items: set[str]) -> Iterator[list[str]]:
    it = iter(sorted(items))
    while chunk := list(itertools.islice(it, MAX_BLOBS)):
        yield chunk


class QuotaGuard:
    """The :class:`~dockyard.registry._push_guard.PushGuard` of a projects-mode registry."""

    def __init__(
        self, access: AccessService, db: Database, *, events: EventSink = NO_EVENTS
    ) -> None:
        self.access = access
        self._db = db
        #: QUOTA_EXCEED when a push is refused, QUOTA_WARNING when one passes
        #: ``WARNING_PERCENT`` of the hard limit (Harbor's quota events)
        self.events = events

    def _check(
        self, project: str, repository: str, new_bytes: int, digest: str, *, warn: bool = True
    ) -> None:
        quotas = self.access.quotas
        try:
            quotas.check_push(project, new_bytes)
        except QuotaExceeded as exc:
            self._publish(QUOTA_EXCEED, project, repository, digest, str(exc.message))
            raise
        if not warn or self.events is NO_EVENTS or new_bytes <= 0:
            return
        quota = quotas.get(project)
        if quota.hard > 0 and (quota.used + new_bytes) * 100 >= quota.hard * WARNING_PERCENT:
            self._publish(
                QUOTA_WARNING, project, repository, digest,
                f"quota usage reach {WARNING_PERCENT}%: storage "
                f"{quota.used + new_bytes} of {quota.hard} bytes",
            )  # fmt: skip

    def _publish(self, kind: str, project: str, repository: str, digest: str, msg: str) -> None:
        details = {"Details": msg}  # Harbor: event_data.custom_attributes.Details
        self.events.publish(Event(kind, project, repository, digest=digest, details=details))

    def _project(self, repository: str) -> str:
        try:
            project = project_of(repository)
        except NameInvalid as exc:
            raise NoSuchProject(str(exc.message), hint=exc.hint) from None
        if self.access.projects.ref(project) is None:
            raise NoSuchProject(
                f"project {project!r} does not exist",
                hint="create the project first (an administrator, or any user allowed to "
                "create projects)",
            )
        return project

    def check_manifest(
        self, repository: str, tags: tuple[str, ...], body: bytes, content_type: str | None
    ) -> object:
        project = self._project(repository)
        blobs = manifest_blobs(body, content_type)
        digest = next(iter(blobs), "")
        self._check(project, repository, self.access.quotas.new_bytes(project, blobs), digest)
        return _Ticket(project, blobs)

    def pushed_manifest(self, repository: str, ticket: object) -> None:
        if isinstance(ticket, _Ticket) and ticket.blobs:
            self.access.quotas.record_push(ticket.project, ticket.blobs)

    def check_blob(self, repository: str, digest: str, size: int) -> None:
        project = self._project(repository)
        new_bytes = self.access.quotas.new_bytes(project, {digest: size})
        self._check(project, repository, new_bytes, digest, warn=False)

    def check_delete(self, repository: str, reference: str) -> None:
        """A delete never needs quota."""

    def deleted(self, repository: str) -> None:
        try:
            project = project_of(repository)
        except NameInvalid:
            return
        if self.access.projects.ref(project) is not None:
            self.reconcile(project)

    def reconcile(self, project: str) -> int:
        """Give back every blob the project counts that none of its manifests references
        (after deletes, or a garbage collection); returns the bytes given back."""
        quotas = self.access.quotas
        held = quotas.held(project)
        if not held:
            return 0
        gone = held - self._referenced(project)
        return sum(quotas.release(project, chunk) for chunk in _chunks(gone))

    def _referenced(self, project: str) -> set[str]:
        inside = repositories.c.name.startswith(project + "/", autoescape=True)
        own = (
            select(manifests.c.digest)
            .select_from(manifests.join(repositories, repositories.c.id == manifests.c.repo_id))
            .where(inside)
        )
        refs = (
            select(manifest_refs.c.digest)
            .select_from(
                manifest_refs.join(manifests, manifests.c.id == manifest_refs.c.manifest_id).join(
                    repositories, repositories.c.id == manifests.c.repo_id
                )
            )
            .where(inside)
        )
        with self._db.read() as conn:
            return {row[0] for row in conn.execute(union(own, refs))}
