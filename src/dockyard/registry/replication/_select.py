"""What a push-based policy selects in this registry: its filters applied as Harbor's filter
chain applies them (repository name, then each artifact's tags, labels and resource type).

A tagged artifact is selected by each tag its tag filters let through (one task per tag); an
untagged one (top-level: no index's child, no referrer of a manifest here) is matched as the
empty tag, so that no tag filter, ``**`` or an ``excludes`` takes it and ``v*`` leaves it;
it is copied by digest. cosign's accessory tags travel with their subjects. Label and resource
filters read the manifest (and an image's config) only when the policy has one; a label
filter also matches the names of the Harbor labels attached to the artifact here."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from dockyard.digest import Digest
from dockyard.errors import DockyardError
from dockyard.registry._registry import Registry
from dockyard.registry.labels import labels_of
from dockyard.registry.metadata import ArtifactQuery, Inventory
from dockyard.registry.replication._policies import (
    ArtifactFacts,
    Policy,
    accessory_tag,
    artifact_facts,
)
from dockyard.registry.replication._queue import NewTask

__all__ = ["local_facts", "local_tasks", "selects_local"]

#: The largest config blob read for its labels.
MAX_CONFIG = 1 << 20
#: Untagged artifacts listed per query.
PAGE = 500


def local_facts(
    registry: Registry, repository: str, content: bytes, digest: str | None = None
) -> ArtifactFacts:
    """The label/resource facts of a manifest of ``repository`` (its config read here): its
    content's labels and the names of the Harbor labels attached to it through the API
    (``digest``: the manifest's, by default the SHA-256 of ``content``)."""

    def config(digest: str) -> bytes | None:
        try:
            handle = registry.blob(repository, Digest.parse(digest))
            if handle.size > MAX_CONFIG:
                return None
            with handle.open() as stream:
                return bytes(stream.read(MAX_CONFIG))
        except (DockyardError, OSError, ValueError):
            return None

    facts = artifact_facts(content, config)
    if digest is None:
        digest = "sha256:" + hashlib.sha256(content).hexdigest()
    attached = labels_of(registry.meta.db).names(repository, digest)
    return replace(facts, labels=facts.labels | attached) if attached else facts


def selects_local(registry: Registry, policy: Policy, repository: str, content: bytes) -> bool:
    """What ``policy``'s label and resource filters say of a manifest here."""
    if not policy.reads_content:
        return True
    return policy.selects_facts(local_facts(registry, repository, content))


def _untagged(registry: Registry, repository: str) -> list[tuple[str, bytes]]:
    inventory = Inventory(registry.meta.db)
    out: list[tuple[str, bytes]] = []
    offset = 0
    while True:
        total, rows = inventory.artifacts(
            repository, ArtifactQuery(tagged=False, offset=offset, limit=PAGE)
        )
        out += [(r.digest, r.content) for r in rows]
        offset += len(rows)
        if not rows or offset >= total:
            return out


def local_tasks(registry: Registry, policy: Policy) -> list[NewTask]:
    """Every artifact of this registry ``policy`` selects now: its tagged artifacts, one
    task per selected tag, and its untagged ones when the tag filters take the empty tag."""
    out = []
    for repository in registry.catalog(None, None):
        if not policy.selects_repository(repository):
            continue
        target = policy.destination(repository)
        for tag in registry.meta.tags(repository, None, None) or []:
            if accessory_tag(tag) or not policy.selects_tag(tag):
                continue
            if policy.reads_content:
                try:
                    content = registry.manifest(repository, tag).content
                except DockyardError:
                    continue  # deleted meanwhile
                if not selects_local(registry, policy, repository, content):
                    continue
            out.append(NewTask(repository, tag, target, tag))
        if policy.selects_untagged:
            for digest, content in _untagged(registry, repository):
                if selects_local(registry, policy, repository, content):
                    out.append(NewTask(repository, digest, target, ""))
    return out
