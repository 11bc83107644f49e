"""What replication tells the rest of the registry when a task attempt ends: counters on the
metrics endpoint (distribution's ``registry_*`` naming) and Harbor's ``REPLICATION`` webhook
event when an execution's last task ends.

The event is Harbor's ``event_data.replication`` (``job_status``, ``trigger_type``,
``src_resource``/``dest_resource``, ``successful_artifact``/``failed_artifact`` …), one per
project the execution's artifacts belong to (a webhook policy is a project's), with the
execution's id. An execution ends once: the first process to see its last task end writes
its ``status_text`` (the counts) in the same statement that checks that no task is left,
and only that process publishes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import exists, func, select, update

from dockyard.errors import DockyardError
from dockyard.registry import events as event_types
from dockyard.registry.events import NO_EVENTS, Event, EventSink
from dockyard.registry.metadata import Database
from dockyard.registry.metrics import MetricsRegistry
from dockyard.registry.replication._copy import CopyStats
from dockyard.registry.replication._policies import Policy, PolicyStore
from dockyard.registry.replication._queue import Job, ReplicationQueue, TaskInfo
from dockyard.registry.replication._registries import RegistryStore, RemoteRegistry
from dockyard.registry.replication._schema import executions, tasks

__all__ = ["MAX_LISTED", "ReplicationMetrics", "TaskObserver", "replication_payload"]

log = logging.getLogger("dockyard.registry.replication")

#: Artifacts an event lists (the first; the counts are in ``status_text``).
MAX_LISTED = 500
_OPEN = ("Pending", "Running")


class ReplicationMetrics:
    """Task attempts by operation and outcome, blobs and bytes by direction, and the tasks
    waiting or running in the queue (the whole database's: the same in every process)."""

    def __init__(self, registry: MetricsRegistry) -> None:
        r = registry
        self.tasks = r.counter(
            "registry_replication_tasks_total",
            "Replication task attempts ended, by operation (copy, delete) and outcome "
            "(succeed, retried, failed).",
            ["operation", "status"],
        )
        self.bytes = r.counter(
            "registry_replication_bytes_total",
            "Blob bytes replication transferred, by direction (push: to an endpoint, pull: "
            "from one).",
            ["direction"],
        )
        self.blobs = r.counter(
            "registry_replication_blobs_total",
            "Blobs replication handled, by direction and how (copied, mounted, present).",
            ["direction", "how"],
        )
        self.manifests = r.counter(
            "registry_replication_manifests_total",
            "Manifests replication handled, by direction and how (copied, present).",
            ["direction", "how"],
        )
        self.queued = r.gauge(
            "registry_replication_queue_tasks",
            "Replication tasks in the queue now, by status (pending, running).",
            ["status"],
            aggregate="max",
        )

    def attempt(
        self, operation: str, outcome: str, direction: str, stats: CopyStats | None
    ) -> None:
        self.tasks.inc(1, operation, outcome)
        if stats is None:
            return
        self.bytes.inc(stats.bytes_copied, direction)
        for how, count in (("copied", stats.blobs_copied), ("mounted", stats.blobs_mounted),
                           ("present", stats.blobs_present)):  # fmt: skip
            if count:
                self.blobs.inc(count, direction, how)
        for how, count in (("copied", stats.manifests_copied),
                           ("present", stats.manifests_present)):  # fmt: skip
            if count:
                self.manifests.inc(count, direction, how)

    def queue(self, counts: dict[str, int]) -> None:
        for status in _OPEN:
            self.queued.set(counts.get(status, 0), status.lower())


def _resource(endpoint: RemoteRegistry | None, namespace: str) -> dict[str, Any]:
    if endpoint is None:  # this registry
        return {"registry_type": "harbor", "endpoint": "", "namespace": namespace}
    return {"registry_name": endpoint.name, "registry_type": endpoint.type,
            "endpoint": endpoint.url, "namespace": namespace}  # fmt: skip


def _artifact(task: TaskInfo, repository: str) -> dict[str, Any]:
    t = task.task
    sep = "@" if ":" in t.src_reference else ":"
    name = repository.partition("/")[2] or repository
    out: dict[str, Any] = {
        "type": "artifact",
        "status": task.status,
        "name_tag": f"{name}{sep}{t.src_reference}",
        "references": [t.src_reference],
    }
    if task.status != "Success" and task.status_message:
        out["fail_reason"] = task.status_message
    return out


def replication_payload(
    policy: Policy,
    endpoint: RemoteRegistry | None,
    trigger: str,
    start_time: float,
    execution_id: int,
    status: str,
    project: str,
    found: list[TaskInfo],
) -> dict[str, Any]:
    """Harbor's ``event_data.replication`` for the tasks of ``found`` in ``project``."""
    local_side = _resource(None, project)
    remote_side = _resource(endpoint, "")
    body: dict[str, Any] = {
        "job_status": status,
        "description": policy.description,
        "artifact_type": "artifact",
        "authentication_type": endpoint.credential_type if endpoint else "",
        "override_mode": policy.override,
        "trigger_type": trigger,
        "policy_creator": policy.creator,
        "execution_timestamp": int(start_time),
        "src_resource": remote_side if policy.pull else local_side,
        "dest_resource": local_side if policy.pull else remote_side,
        "execution_id": execution_id,
    }
    good: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    for task in found:
        repository = task.task.dst_repository if policy.pull else task.task.src_repository
        (good if task.status == "Success" else bad).append(_artifact(task, repository))
    if good:
        body["successful_artifact"] = good[:MAX_LISTED]
    if bad:
        body["failed_artifact"] = bad[:MAX_LISTED]
    return body


class TaskObserver:
    """The worker's ``on_finish``: counts every attempt (when ``metrics`` is set) and
    publishes ``REPLICATION`` to ``events`` when an execution's last task ends."""

    def __init__(
        self,
        db: Database,
        queue: ReplicationQueue,
        policies: PolicyStore,
        registries: RegistryStore,
        *,
        events: EventSink = NO_EVENTS,
        metrics: ReplicationMetrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.queue = queue
        self.policies = policies
        self.registries = registries
        self.events = events
        self.metrics = metrics
        self.clock = clock

    def __call__(self, job: Job, ok: bool, retried: bool, stats: CopyStats | None) -> None:
        try:
            policy: Policy | None = self.policies.get(job.policy_id)
        except DockyardError:
            policy = None  # deleted meanwhile: its history stays, nothing to tell
        if self.metrics is not None:
            outcome = "succeed" if ok else "retried" if retried else "failed"
            direction = "pull" if policy is not None and policy.pull else "push"
            self.metrics.attempt(job.task.operation, outcome, direction, stats)
            self.metrics.queue(self._open_counts())
        if not retried and policy is not None and self._ended(job.execution_id):
            self._publish(policy, job.execution_id)

    def stopped(self, execution_id: int) -> None:
        """An execution was stopped by hand: if that ended it, publish its event (once, as
        for an execution whose last task ended; a task still finishing its attempt finds it
        told)."""
        try:
            policy = self.policies.get(self.queue.execution(execution_id).policy_id)
        except DockyardError:
            return  # the policy was deleted meanwhile: nothing to tell
        if self.metrics is not None:
            self.metrics.queue(self._open_counts())
        if self._ended(execution_id):
            self._publish(policy, execution_id)

    def _open_counts(self) -> dict[str, int]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(tasks.c.status, func.count()).where(tasks.c.status.in_(_OPEN))
                .group_by(tasks.c.status)
            ).all()  # fmt: skip
        return {str(s): int(n) for s, n in rows}

    def _ended(self, execution_id: int) -> bool:
        """Mark the execution ended if no task of it is left: True for the one caller
        that marked it."""
        left = exists().where(tasks.c.execution_id == execution_id, tasks.c.status.in_(_OPEN))
        with self.db.read() as conn:  # most ends leave tasks: no write for them
            if conn.execute(select(left)).scalar():
                return False
        with self.db.write() as conn:
            rows = conn.execute(
                select(tasks.c.status, func.count()).where(tasks.c.execution_id == execution_id)
                .group_by(tasks.c.status)
            ).all()  # fmt: skip
            counts = {str(s): int(n) for s, n in rows}
            if any(counts.get(s) for s in _OPEN):
                return False
            text = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
            marked = conn.execute(
                update(executions)
                .where(executions.c.id == execution_id, executions.c.status_text == "", ~left)
                .values(status_text=f"ended: {text}"[:1024])
            ).rowcount  # fmt: skip
        return bool(marked)

    def _publish(self, policy: Policy, execution_id: int) -> None:
        execution = self.queue.execution(execution_id)
        found, _ = self.queue.tasks(execution_id, page=1, size=MAX_LISTED * 2)
        try:
            endpoint: RemoteRegistry | None = self.registries.get(policy.endpoint_id)
        except DockyardError:
            endpoint = None
        by_project: dict[str, list[TaskInfo]] = {}
        for task in found:
            repository = task.task.dst_repository if policy.pull else task.task.src_repository
            project = repository.partition("/")[0] if "/" in repository else ""
            by_project.setdefault(project, []).append(task)
        for project, listed in sorted(by_project.items()):
            body = replication_payload(
                policy, endpoint, execution.trigger, execution.start_time, execution_id,
                execution.status, project, listed,
            )  # fmt: skip
            self.events.publish(
                Event(event_types.REPLICATION, project, operator=policy.creator,
                      occurred_at=self.clock(), details={"replication": body})
            )  # fmt: skip
