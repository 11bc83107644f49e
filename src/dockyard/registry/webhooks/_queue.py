"""The delivery queue: webhook executions and their tasks (one delivery each) in the
registry's database, a :class:`~dockyard.registry.jobs.LeasedQueue` over the webhook tables.
Several registry processes sharing the database never deliver the same row twice; rows of a
process that stopped are taken up again when their lease runs out — or within a poll, once
its liveness lock is free (``kill -9`` included) — and at once after a restart. The delivery
log is bounded (:meth:`DeliveryQueue.sweep`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, and_, func, select

from dockyard.errors import NotFound
from dockyard.registry import jobs
from dockyard.registry.metadata import Database
from dockyard.registry.metadata._sql import page_rows
from dockyard.registry.webhooks._schema import executions, metadata, tasks

__all__ = [
    "Delivery",
    "DeliveryQueue",
    "ExecutionInfo",
    "NewTask",
    "TaskInfo",
    "enqueue",
    "enqueue_tasks",
]

#: The delivery log's bounds (see :meth:`DeliveryQueue.sweep`): ended executions kept per
#: policy; ended deliveries kept of the notification endpoints.
KEEP_EXECUTIONS = 50
KEEP_BARE = 10_000
#: Most notification endpoints :meth:`DeliveryQueue.pending_events` reports.
MAX_ENDPOINTS = 256

log = logging.getLogger("dockyard.registry.webhooks")

#: A delivery's statuses once it ended.
_ENDED = (jobs.SUCCESS, jobs.ERROR)


@dataclass(frozen=True, slots=True)
class NewTask:
    """One delivery to queue: where, what, how."""

    address: str
    payload: bytes
    headers: Mapping[str, str]
    verify: bool = True
    timeout: float = 10.0
    max_attempts: int = 8
    backoff: float = 1.0
    #: events the payload carries (a notification envelope may hold several)
    events: int = 1
    #: the registry:2 notification endpoint's name ("" for a webhook policy's delivery)
    endpoint: str = ""


@dataclass(frozen=True, slots=True)
class Delivery(jobs.Held):
    """A claimed task, as the worker sends it."""

    address: str
    payload: bytes
    headers: dict[str, str]
    verify: bool
    timeout: float
    #: the notification endpoint's name ("" for a policy's delivery), its events
    endpoint: str = ""
    events: int = 1


@dataclass(frozen=True, slots=True)
class TaskInfo(jobs.TaskState):
    """A delivery as the delivery log shows it."""

    address: str


@dataclass(frozen=True, slots=True)
class ExecutionInfo:
    id: int
    policy_id: int
    endpoint: str
    event_type: str
    start_time: float
    status: str
    end_time: float
    counts: Mapping[str, int]


def enqueue(
    conn: Connection,
    *,
    policy_id: int,
    endpoint: str,
    event_type: str,
    items: Sequence[NewTask],
    now: float,
) -> int:
    """An execution and its tasks, inside the caller's transaction; the execution's id."""
    result = conn.execute(
        executions.insert().values(
            policy_id=policy_id, endpoint=endpoint, event_type=event_type, start_time=now
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    execution_id = int(key[0])
    enqueue_tasks(conn, [(execution_id, t) for t in items], now)
    return execution_id


def enqueue_tasks(conn: Connection, items: Sequence[tuple[int, NewTask]], now: float) -> None:
    """Tasks (of the given executions; 0: a notification endpoint's, which have none), in
    one statement inside the caller's transaction."""
    if not items:
        return
    conn.execute(
        tasks.insert(),
        [
            {
                "execution_id": execution_id, "address": t.address, "payload": t.payload,
                "headers": json.dumps(dict(t.headers)), "verify": t.verify,
                "timeout": t.timeout, "max_attempts": t.max_attempts, "backoff": t.backoff,
                "endpoint": t.endpoint, "events": t.events, **jobs.new_task(now),
            }
            for execution_id, t in items
        ],
    )  # fmt: skip


def _delivery(claim: jobs.Claim) -> Delivery:
    r = claim.row
    return Delivery(**Delivery.fields(claim), address=r.address, payload=r.payload,
                    headers=json.loads(r.headers), verify=r.verify, timeout=r.timeout,
                    endpoint=r.endpoint, events=r.events)  # fmt: skip


def _task(row: Row[Any]) -> TaskInfo:
    return TaskInfo(**TaskInfo.fields(row), address=row.address)


class DeliveryQueue(jobs.FeatureQueue):
    """Claiming, finishing and listing deliveries (tables created when missing). A claim
    leases its rows for ``lease`` seconds, or longer when its deliveries' timeouts add up to
    more."""

    def __init__(self, db: Database, *, lease: float = 120.0) -> None:
        self.db = db
        db.create_tables(metadata)
        # the owners' liveness locks are taken at the first claim: a process that only
        # queues holds nothing
        super().__init__(jobs.LeasedQueue(
            db, tasks, lease=lease, what="webhook deliveries", log=log, owners="webhook-owner",
            attempt_seconds="timeout",
        ))  # fmt: skip

    def claim(self, now: float, limit: int = 16) -> list[Delivery]:
        """Up to ``limit`` due tasks, leased to this process in one transaction. A row whose
        lease ran out, or whose owner's process died mid-delivery (its liveness lock is
        free), is due again."""
        return [_delivery(c) for c in self.leases.claim(now, limit)]

    def finish(
        self,
        delivery: Delivery,
        *,
        ok: bool,
        message: str,
        line: str,
        now: float,
        retry_at: float | None,
    ) -> None:
        """Record an attempt: Success, Pending again at ``retry_at``, or Error (no retry)."""
        self.finish_many([jobs.Outcome(delivery, ok, message, line, retry_at)], now)

    def finish_many(self, outcomes: Sequence[jobs.Outcome], now: float) -> None:
        """Record attempts (each outcome's ``log`` is one line), in one statement (rows
        deleted with their policy meanwhile, or taken over by another process after their
        lease ran out, are left alone)."""
        lines = [jobs.Outcome(o.task, o.ok, o.message, o.log + "\n", o.retry_at) for o in outcomes]
        self.leases.finish(lines, now)

    def release(self, deliveries: Sequence[Delivery], now: float) -> None:
        """Give back claimed deliveries not attempted (a stopping worker): due again now."""
        self.leases.release(deliveries, now)

    def pending_events(self, *, limit: int = MAX_ENDPOINTS) -> dict[str, int]:
        """Events not delivered yet (their deliveries Pending or Running) by notification
        endpoint name, as the queue holds them now, whichever process queued or claims
        them: one grouped sum over the queue's status index, at most ``limit`` endpoints
        (deliveries queued before endpoints were recorded, named "", are left out)."""
        waiting = (jobs.PENDING, jobs.RUNNING)
        with self.db.read() as conn:
            rows = conn.execute(
                select(tasks.c.endpoint, func.sum(tasks.c.events))
                .where(tasks.c.status.in_(waiting), tasks.c.execution_id == 0,
                       tasks.c.endpoint != "")
                .group_by(tasks.c.endpoint).order_by(tasks.c.endpoint).limit(limit)
            ).all()  # fmt: skip
        return {str(name): int(count or 0) for name, count in rows}

    # --- the delivery log ---------------------------------------------------------------

    def sweep(self, *, keep: int = KEEP_EXECUTIONS, keep_bare: int = KEEP_BARE) -> int:
        """Bound the delivery log: each policy keeps its newest ``keep`` executions whose
        deliveries all ended (older ones go with their tasks; Harbor's execution sweeper
        does the same), and notification endpoints' ended deliveries (which have no
        execution) the newest ``keep_bare``. A delivery still pending is never deleted.
        The rows deleted."""
        running = (jobs.PENDING, jobs.RUNNING)
        unfinished = select(tasks.c.execution_id).where(tasks.c.status.in_(running))
        deleted = 0
        with self.db.write() as conn:
            crowded = conn.execute(
                select(executions.c.policy_id).group_by(executions.c.policy_id)
                .having(func.count() > keep)
            ).scalars().all()  # fmt: skip
            for policy_id in crowded:
                newest = (
                    select(executions.c.id)
                    .where(executions.c.policy_id == policy_id)
                    .order_by(executions.c.id.desc())
                    .limit(keep)
                )
                old = and_(
                    executions.c.policy_id == policy_id,
                    executions.c.id.not_in(newest.scalar_subquery()),
                    executions.c.id.not_in(unfinished),
                )
                ids = select(executions.c.id).where(old)
                deleted += conn.execute(
                    tasks.delete().where(tasks.c.execution_id.in_(ids))
                ).rowcount
                deleted += conn.execute(executions.delete().where(old)).rowcount
            ended = and_(tasks.c.execution_id == 0, tasks.c.status.in_(_ENDED))
            cut = conn.execute(
                select(tasks.c.id).where(ended).order_by(tasks.c.id.desc())
                .offset(keep_bare).limit(1)
            ).scalar()  # fmt: skip
            if cut is not None:
                deleted += conn.execute(tasks.delete().where(ended, tasks.c.id <= cut)).rowcount
        return deleted

    def executions(
        self, policy_id: int, *, page: int = 1, size: int = 10
    ) -> tuple[list[ExecutionInfo], int]:
        where = executions.c.policy_id == policy_id
        with self.db.read() as conn:
            rows, total = page_rows(conn, executions, where, executions.c.id.desc(), page, size)
            found = self.leases.summaries(conn, [r.id for r in rows])
        out = []
        for r in rows:
            counts, end = found.get(r.id, ({}, 0.0))
            status = jobs.execution_status(counts, waiting=jobs.PENDING)
            out.append(ExecutionInfo(
                r.id, r.policy_id, r.endpoint, r.event_type, r.start_time, status,
                end if status in _ENDED else 0.0, counts,
            ))  # fmt: skip
        return out, total

    def last_triggers(self, policy_ids: Sequence[int]) -> dict[tuple[int, str], float]:
        """(policy, event type) → when an event of that type was last sent to it (the
        newest execution kept; Harbor's ``lasttrigger``)."""
        if not policy_ids:
            return {}
        with self.db.read() as conn:
            rows = conn.execute(
                select(executions.c.policy_id, executions.c.event_type,
                       func.max(executions.c.start_time))
                .where(executions.c.policy_id.in_(list(policy_ids)))
                .group_by(executions.c.policy_id, executions.c.event_type)
            ).all()  # fmt: skip
        return {(int(p), str(e)): float(t) for p, e, t in rows}

    def execution(self, policy_id: int, execution_id: int) -> None:
        """NotFound unless ``execution_id`` is one of ``policy_id``'s."""
        with self.db.read() as conn:
            found = conn.execute(
                select(executions.c.id).where(
                    executions.c.id == execution_id, executions.c.policy_id == policy_id
                )
            ).first()
        if found is None:
            raise NotFound(f"execution {execution_id} of webhook policy {policy_id} not found")

    def tasks(
        self, execution_id: int, *, page: int = 1, size: int = 10
    ) -> tuple[list[TaskInfo], int]:
        rows, total = self.leases.page(execution_id, page=page, size=size)
        return [_task(r) for r in rows], total

    def task(self, execution_id: int, task_id: int) -> TaskInfo:
        row = self.leases.row(execution_id, task_id)
        if row is None:
            raise NotFound(f"task {task_id} of execution {execution_id} not found")
        return _task(row)
