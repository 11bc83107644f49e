"""The events the Harbor API's deletes raise, as Harbor raises them: ``DELETE_ARTIFACT`` for
each artifact an artifact or repository delete removes (its digest, its tags, the operator);
a tag delete raises none (Harbor notifies its replication and audit log of a deleted tag, not
webhooks). The registry's event sink is attached to the API the way retention's service is."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dockyard.registry.events import DELETE_ARTIFACT, NO_EVENTS, Event, EventSink
from dockyard.registry.metadata import ArtifactQuery

if TYPE_CHECKING:
    from dockyard.registry._registry import Registry
    from dockyard.registry.harbor._api import HarborApi
    from dockyard.registry.harbor._call import Call

__all__ = ["Doomed", "attach_events", "audit_deleted", "doomed_artifacts", "publish_deleted"]

_SINKS: weakref.WeakKeyDictionary[HarborApi, EventSink] = weakref.WeakKeyDictionary()
#: Artifacts read per query while listing a repository about to go.
_PAGE = 500


def attach_events(api: HarborApi, sink: EventSink) -> None:
    """Publish what ``api``'s deletes remove to ``sink``."""
    _SINKS[api] = sink


def sink_of(api: HarborApi) -> EventSink:
    return _SINKS.get(api, NO_EVENTS)


@dataclass(frozen=True, slots=True)
class Doomed:
    """An artifact about to be deleted, as its event will name it."""

    digest: str
    media_type: str
    size: int
    tags: tuple[str, ...]


def doomed_artifacts(
    registry: Registry, api: HarborApi, repository: str, digests: Sequence[str] | None = None
) -> list[Doomed]:
    """The artifacts of ``repository`` (those of ``digests`` only, when given) with their
    tags, read before they go (nothing is read when no sink listens)."""
    if sink_of(api) is NO_EVENTS:
        return []
    inventory = api.inventory(registry)
    out: list[Doomed] = []
    offset = 0
    while True:
        query = ArtifactQuery(
            digests=None if digests is None else tuple(digests), offset=offset, limit=_PAGE
        )
        _, rows = inventory.artifacts(repository, query)
        tags = inventory.tags_of([r.id for r in rows])
        for row in rows:
            names = tuple(t.name for t in tags.get(row.id, ()))
            out.append(Doomed(row.digest, row.media_type, len(row.content), names))
        if len(rows) < _PAGE:
            return out
        offset += _PAGE


async def publish_deleted(call: Call, repository: str, doomed: Sequence[Doomed]) -> None:
    """One ``DELETE_ARTIFACT`` per artifact deleted, by the caller (Harbor's payload names the
    first tag, or the digest when there is none)."""
    sink = sink_of(call.api)
    if sink is NO_EVENTS or not doomed:
        return
    operator = (await call.identity()).name
    project = repository.partition("/")[0]
    for artifact in doomed:
        sink.publish(
            Event(DELETE_ARTIFACT, project, repository, operator=operator,
                  digest=artifact.digest, tag=artifact.tags[0] if artifact.tags else "",
                  media_type=artifact.media_type, size=artifact.size)
        )  # fmt: skip


async def audit_deleted(call: Call, resource_type: str, resource: str) -> None:
    """The audit log's entry for a delete done through the API, as Harbor writes it: operation
    ``delete`` of ``artifact`` (``<repository>@<digest>``), ``tag`` (``<repository>:<tag>``) or
    ``repository``, by the caller, from their address (nothing without the access model)."""
    access = call.api.access
    if access is None:
        return
    operator = (await call.identity()).name
    project = resource.partition("/")[0]
    await call.run(
        access.audit.record, "delete", resource_type, resource, operator, project, call.client_ip
    )
