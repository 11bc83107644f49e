"""Webhooks put together: the policy store, the queue, the sink producers publish to, the
delivery worker, and the hooks on the registry's request paths. ``ProjectsMode`` opens one
with the access model (Harbor's policies); the plain registry opens one when
``notifications.endpoints`` is configured."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dockyard.errors import DockyardError
from dockyard.registry._names import parse_lookup_reference
from dockyard.registry._registry import Registry
from dockyard.registry.access import AccessService
from dockyard.registry.http import ResponseObserver
from dockyard.registry.metrics import MetricsRegistry
from dockyard.registry.webhooks._endpoints import Endpoint
from dockyard.registry.webhooks._hooks import CachedLookup, PushEvents, event_observer
from dockyard.registry.webhooks._metrics import NotificationMetrics
from dockyard.registry.webhooks._policies import PolicyStore
from dockyard.registry.webhooks._queue import DeliveryQueue
from dockyard.registry.webhooks._sink import ProjectInfo, ProjectLookup, Resolver, WebhookSink
from dockyard.registry.webhooks._worker import DeliveryWorker

__all__ = ["Webhooks", "open_webhooks", "projects_of"]


@dataclass
class Webhooks:
    policies: PolicyStore
    queue: DeliveryQueue
    sink: WebhookSink
    worker: DeliveryWorker
    guard: PushEvents
    observer: ResponseObserver

    def add_endpoints(self, endpoints: Sequence[Endpoint]) -> None:
        """registry:2's notification endpoints, besides the policies."""
        self.sink.add_endpoints(endpoints)

    def attach_metrics(self, metrics: MetricsRegistry) -> None:
        """distribution's ``registry_notifications_*`` families for the notification
        endpoints, on ``metrics`` (the registry's metrics page); none without endpoints."""
        if not self.sink.endpoints:
            return
        counted = NotificationMetrics(
            metrics, self.queue, [endpoint.name for endpoint in self.sink.endpoints]
        )
        self.sink.queued = counted.queued
        self.worker.metrics = counted

    def close(self) -> None:
        """Queue what was published, then stop delivering (rows left wait in the database)."""
        self.sink.close()
        self.worker.close()
        self.queue.close()


def _resolver(registry: Registry) -> Resolver:
    def resolve(repository: str, tag: str) -> tuple[str, str, int] | None:
        try:
            record = registry.manifest(repository, parse_lookup_reference(tag))
        except DockyardError:
            return None
        return record.digest, record.media_type, len(record.content)

    return resolve


def _cached(registry: Registry) -> CachedLookup:
    def cached(repository: str, reference: str) -> tuple[str, str, int] | None:
        record = registry.cached_manifest(repository, reference)
        return None if record is None else (record.digest, record.media_type, len(record.content))

    return cached


def projects_of(access: AccessService) -> ProjectLookup:
    """The project lookup of the access model (a project's id and visibility by name)."""

    def find(name: str) -> ProjectInfo | None:
        project = access.projects.find(name)
        return None if project is None else ProjectInfo(project.id, project.public)

    return find


def open_webhooks(
    registry: Registry,
    *,
    projects: ProjectLookup | None = None,
    endpoints: Sequence[Endpoint] = (),
    host: str = "",
    deliver: bool = True,
) -> Webhooks:
    """Webhooks over ``registry``'s database; the delivery worker is started unless
    ``deliver`` is false (a process that only queues)."""
    db = registry.meta.db
    policies = PolicyStore(db)
    queue = DeliveryQueue(db)
    worker = DeliveryWorker(queue)
    sink = WebhookSink(
        db,
        policies=policies if projects is not None else None,
        projects=projects,
        endpoints=endpoints,
        resolve=_resolver(registry),
        host=host,
        wake=worker.wake,
    )
    if deliver:
        worker.start()
    return Webhooks(
        policies, queue, sink, worker, PushEvents(sink), event_observer(sink, _cached(registry))
    )
