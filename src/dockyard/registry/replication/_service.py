"""Replication put together: the endpoint registries, the policies, the queue, the worker,
and the push guard that tells the worker about pushes (event-based policies). ``open_replication``
starts it with the registry (projects mode); the API finds it with :func:`replication_of`."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from dockyard.errors import FailedPrecondition
from dockyard.registry._registry import Registry
from dockyard.registry.events import NO_EVENTS, EventSink
from dockyard.registry.jobs import CronSchedule
from dockyard.registry.metrics import MetricsRegistry
from dockyard.registry.replication._delete import deletion_tasks
from dockyard.registry.replication._observe import ReplicationMetrics, TaskObserver
from dockyard.registry.replication._policies import (
    EVENT_BASED,
    MANUAL,
    SCHEDULED,
    Policy,
    PolicyStore,
)
from dockyard.registry.replication._pull import remote_tasks
from dockyard.registry.replication._queue import NewTask, ReplicationQueue
from dockyard.registry.replication._registries import RegistryStore
from dockyard.registry.replication._secrets import load_box
from dockyard.registry.replication._select import local_tasks
from dockyard.registry.replication._settings import ReplicationSettings
from dockyard.registry.replication._worker import Pushed, ReplicationWorker

__all__ = [
    "Replication",
    "ReplicationPushes",
    "ReplicationSchedule",
    "manual_tasks",
    "open_replication",
    "replication_of",
]


@dataclass(frozen=True, slots=True)
class _Ticket:
    digest: str
    tags: tuple[str, ...]
    subject: str | None


class ReplicationPushes:
    """A :class:`~dockyard.registry._push_guard.PushGuard` that refuses nothing and tells the
    worker about every stored manifest (its tags, and the subject of a referrer)."""

    def __init__(self, worker: ReplicationWorker) -> None:
        self.worker = worker

    def check_manifest(
        self, repository: str, tags: tuple[str, ...], body: bytes, content_type: str | None
    ) -> object:
        subject = None
        if not tags:  # only a referrer pushed by digest needs its subject named
            try:
                found = json.loads(body).get("subject")
            except (ValueError, AttributeError):
                found = None
            if isinstance(found, dict) and isinstance(found.get("digest"), str):
                subject = found["digest"]
        return _Ticket("sha256:" + hashlib.sha256(body).hexdigest(), tags, subject)

    def pushed_manifest(self, repository: str, ticket: object) -> None:
        if isinstance(ticket, _Ticket):
            self.worker.pushed(Pushed(repository, ticket.digest, ticket.tags, ticket.subject))

    def check_blob(self, repository: str, digest: str, size: int) -> None:
        return None

    def check_delete(self, repository: str, reference: str) -> None:
        """Queue the deletions of the event-based policies that replicate them (each task
        waits for this deletion to land before it deletes at the destination)."""
        queued = False
        for policy in self.worker.policies.triggered_by_events():
            items = deletion_tasks(self.worker.registry, policy, repository, reference)
            if items:
                self.worker.queue.start(policy.id, EVENT_BASED, items, time.time())
                queued = True
        if queued:
            self.worker.wake()

    def deleted(self, repository: str) -> None:
        return None


def manual_tasks(registry: Registry, policy: Policy) -> list[NewTask]:
    """Every artifact of this registry ``policy`` selects (cosign's accessory tags are left
    out: they travel with their subjects; untagged artifacts as Harbor's filters take them)."""
    return local_tasks(registry, policy)


#: Seconds between two looks at the scheduled policies.
TICK = 5.0
log = logging.getLogger("dockyard.registry.replication")


class ReplicationSchedule(CronSchedule[Policy, int]):
    """A daemon thread that, every ``tick`` seconds, starts an execution of each scheduled
    policy whose cron fired since it last looked. Each firing is claimed in the database
    first, so several processes (or replicas) sharing it start it once."""

    def __init__(
        self,
        start: Callable[[Policy, str], int],
        policies: PolicyStore,
        *,
        tick: float = TICK,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.policies = policies
        super().__init__(
            lambda: [(p, p.cron) for p in policies.scheduled()],
            lambda policy, fire: policies.claim_fire(policy.id, fire),
            lambda policy: start(policy, SCHEDULED),
            clock=clock, tick=tick, name="replication-schedule", log=log,
            failure="replication schedule: cannot start due executions",
        )  # fmt: skip


@dataclass
class Replication:
    registry: Registry
    registries: RegistryStore
    policies: PolicyStore
    queue: ReplicationQueue
    worker: ReplicationWorker
    guard: ReplicationPushes
    running: bool = False
    schedule: ReplicationSchedule | None = None
    #: told of every task attempt's end: metrics, REPLICATION events
    observer: TaskObserver | None = None

    def attach_metrics(self, metrics: MetricsRegistry) -> None:
        """Count replication on ``metrics`` (the registry's metrics endpoint)."""
        if self.observer is not None:
            self.observer.metrics = ReplicationMetrics(metrics)

    def start_manual(self, policy_id: int, *, now: float | None = None) -> int:
        """Start a manual execution of a policy: one task per artifact it selects now."""
        policy = self.policies.get(policy_id)
        if not policy.enabled:
            raise FailedPrecondition(
                f"replication policy {policy.name!r} is disabled", hint="enable it first"
            )
        return self.run(policy, MANUAL, now=now)

    def run(self, policy: Policy, trigger: str, *, now: float | None = None) -> int:
        """An execution of ``policy`` now: one task per artifact it selects."""
        if policy.pull:
            transport, url, _ = self.worker.transport(policy.src_registry_id)
            harbor = self.registries.get(policy.src_registry_id).type == "harbor"
            items = remote_tasks(transport, url, policy, lists_untagged=harbor)
        else:
            items = manual_tasks(self.registry, policy)
        execution = self.queue.start(policy.id, trigger, items, time.time() if now is None else now)
        self.worker.wake()
        return execution

    def stop(self, execution_id: int, *, now: float | None = None) -> int:
        """Stop an execution by hand: its tasks not done are Stopped, and when that ends it,
        its ``REPLICATION`` event says so (``job_status`` Stopped); the tasks stopped."""
        stopped = self.queue.stop(execution_id, time.time() if now is None else now)
        if stopped and self.observer is not None:
            self.observer.stopped(execution_id)
        return stopped

    def close(self) -> None:
        """Stop copying (tasks being copied are given back; pending pushes are queued)."""
        if self.schedule is not None:
            self.schedule.close()
            self.schedule = None
        if self.running:
            self.worker.close()
            self.running = False
        self.queue.close()
        with _LOCK:
            if _OPEN.get(self.registry) is self:
                del _OPEN[self.registry]


_LOCK = threading.Lock()
_OPEN: weakref.WeakKeyDictionary[Registry, Replication] = weakref.WeakKeyDictionary()


def _make(registry: Registry, settings: ReplicationSettings) -> Replication:
    db = registry.meta.db
    box = load_box(settings.secret_key, settings.secret_key_file, make=settings.make_key_file)
    registries = RegistryStore(db, box)
    policies = PolicyStore(db)
    queue = ReplicationQueue(
        db, lease=settings.lease, attempts=settings.attempts, backoff=settings.backoff
    )
    worker = ReplicationWorker(
        registry, queue, policies, registries, threads=settings.workers,
        max_wait=settings.max_wait,
    )  # fmt: skip
    observer = worker.on_finish = TaskObserver(db, queue, policies, registries)
    return Replication(registry, registries, policies, queue, worker, ReplicationPushes(worker),
                       observer=observer)  # fmt: skip


def open_replication(
    registry: Registry,
    settings: ReplicationSettings | None = None,
    *,
    run: bool = True,
    events: EventSink = NO_EVENTS,
) -> Replication:
    """Replication over ``registry``'s database, its worker started unless ``run`` is false
    (a process that only queues); ``REPLICATION`` events go to ``events``. The API's
    handlers find it with :func:`replication_of`."""
    replication = _make(registry, settings or ReplicationSettings())
    if replication.observer is not None:
        replication.observer.events = events
    sealed = replication.registries.seal_stored()  # a wrong key stops the start here
    if sealed:
        log.info("sealed %d endpoint credential(s) stored in clear", sealed)
    if run:  # pending copies are tried again at once, then with their backoff
        replication.queue.resume(time.time())
        replication.worker.start()
        replication.running = True
        replication.schedule = ReplicationSchedule(
            lambda policy, trigger: replication.run(policy, trigger), replication.policies
        ).start()
    with _LOCK:
        _OPEN[registry] = replication
    return replication


def replication_of(registry: Registry) -> Replication:
    """The replication opened for ``registry``, or one that only queues (tasks are copied
    by a process whose worker runs). Blocking: call from a thread."""
    with _LOCK:
        found = _OPEN.get(registry)
    if found is not None:
        return found
    made = _make(registry, ReplicationSettings())
    with _LOCK:
        return _OPEN.setdefault(registry, made)
