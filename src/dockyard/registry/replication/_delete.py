"""Replicating a deletion (Harbor's ``replicate_deletion``): what was deleted here, a tag or a
manifest by digest, is deleted at the destination.

The task is queued when the deletion is asked for, before it is done; so it first looks
here: a reference this registry still holds was not deleted (yet): on the first attempt the
task waits for the deletion to land, afterwards it leaves the destination alone (the
deletion failed, or the tag was pushed again). A reference the destination does not hold is
nothing to do. A manifest is deleted by digest; a tag alone where the destination can (OCI
distribution 1.1), and where it cannot (distribution 2.8 answers a tag's DELETE with
DIGEST_INVALID) by its manifest's digest when no tag of the repository here names that
manifest any more (else the task fails saying so: the other tags would go too). A destination that refuses deletions (registry:2 without
``storage.delete.enabled``: 405 UNSUPPORTED) fails the task with its answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dockyard.client import RemoteRepository, Transport
from dockyard.errors import InvalidArgument, Unavailable, Unsupported
from dockyard.registry._registry import Registry
from dockyard.registry.replication._copy import CopyStats
from dockyard.registry.replication._policies import Policy, accessory_tag
from dockyard.registry.replication._queue import NewTask
from dockyard.registry.replication._select import selects_local

__all__ = [
    "DELETE",
    "DestinationDelete",
    "NotDeletedYet",
    "deletion_tasks",
    "is_digest_reference",
]

#: the operation of a deletion task
DELETE = "delete"


class NotDeletedYet(Unavailable):
    """The deletion this task follows has not landed here yet: try again shortly."""


def is_digest_reference(reference: str) -> bool:
    return ":" in reference


def deletion_tasks(
    registry: Registry, policy: Policy, repository: str, reference: str
) -> list[NewTask]:
    """What ``policy`` deletes at its destination when ``reference`` (a tag, or a digest
    with every tag on it) is about to be deleted from ``repository`` here: nothing unless
    it replicates deletions and its filters select the artifact (by the deleted tag; a
    digest by any of its tags, or as untagged; label and resource filters by its content,
    read now while it is still here)."""
    if not policy.replicate_deletion or policy.pull or not policy.selects_repository(repository):
        return []
    meta = registry.meta
    if is_digest_reference(reference):
        found = meta.manifest_by_digest(repository, reference)
        if found is None:
            return []
        tags = meta.tags_on(repository, reference)
        if tags and not any(policy.selects_tag(t) for t in tags):
            return []
        if not tags and not policy.selects_untagged:
            return []
        content = found.content
        tag = ""
    else:
        if not policy.selects_tag(reference):
            return []
        found = meta.manifest_by_tag(repository, reference)
        if found is None:
            return []
        content, tag = found.content, reference
    if not accessory_tag(tag) and not selects_local(registry, policy, repository, content):
        return []
    return [NewTask(repository, reference, policy.destination(repository), tag, DELETE)]


@dataclass(slots=True)
class DeleteStats(CopyStats):
    """What a deletion did: ``deleted`` manifests at the destination (0 or 1)."""

    deleted: int = 0

    def summary(self) -> str:
        if self.deleted:
            return f"{self.deleted} manifest(s) deleted at the destination"
        return "nothing deleted at the destination"


class DestinationDelete:
    """One deletion task: ``reference`` of ``task.src_repository`` was deleted here; delete
    ``task.dst_tag`` (a tag) or the digest at ``url``'s ``task.dst_repository``."""

    def __init__(
        self,
        registry: Registry,
        transport: Transport,
        url: str,
        *,
        first_attempt: bool = True,
        check: Callable[[], None] = lambda: None,
    ) -> None:
        self.registry = registry
        self.transport = transport
        self.url = url
        self.first_attempt = first_attempt
        self.check = check
        self.stats: CopyStats = DeleteStats()

    def _log(self, line: str) -> None:
        self.stats.lines.append(line)

    def _deleted(self, line: str) -> None:
        if isinstance(self.stats, DeleteStats):
            self.stats.deleted += 1
        self._log(line)

    def _held_here(self, repository: str, reference: str) -> str | None:
        """The digest ``reference`` names here (None: not held)."""
        meta = self.registry.meta
        if is_digest_reference(reference):
            found = meta.manifest_by_digest(repository, reference)
            return reference if found is not None else None
        return meta.tag_digest(repository, reference)

    def run(self, task: NewTask) -> CopyStats:
        src, reference = task.src_repository, task.src_reference
        if self._held_here(src, reference) is not None:
            if self.first_attempt:
                raise NotDeletedYet(f"{src}:{reference} is still in this registry; waiting for "
                                    "its deletion to finish")  # fmt: skip
            self._log(f"{src}:{reference} is still in this registry (its deletion did not "
                      "happen, or it was pushed again): the destination is left alone")  # fmt: skip
            return self.stats
        dest = RemoteRepository(self.transport, self.url, task.dst_repository)
        target = task.dst_tag or reference
        shown = f"{task.dst_repository}{'@' if is_digest_reference(target) else ':'}{target}"
        there = dest.head_manifest(target)
        if there is None:
            self._log(f"{shown} is not at the destination: nothing to delete")
            return self.stats
        self.check()
        if is_digest_reference(target):
            dest.delete_manifest(target)
            self._deleted(f"deleted {shown}")
            return self.stats
        try:
            dest.delete_manifest(target)
        except (InvalidArgument, Unsupported) as exc:
            digest = str(there.digest)
            others = self.registry.meta.tags_on(src, digest)
            if others:
                raise Unsupported(
                    f"the destination cannot delete the tag {shown} alone ({exc.message}), and "
                    f"its manifest {digest} is still tagged {', '.join(others[:5])} in {src} "
                    "here: not deleted",
                    hint="delete the tag at the destination by hand",
                ) from None
            dest.delete_manifest(digest)
            self._deleted(f"the destination cannot delete a tag alone ({exc.message}); deleted "
                      f"{shown}'s manifest {digest}, which no tag of {src} names here any "
                      "more")  # fmt: skip
            return self.stats
        self._deleted(f"deleted {shown}")
        return self.stats
