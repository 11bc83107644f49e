"""The replication work queue: an execution (one run of a policy) and its tasks (one artifact
to copy each) in the registry's database, a :class:`~dockyard.registry.jobs.LeasedQueue`
over the replication tables. Several registry processes sharing the database never copy the
same row at once; a task whose process died is due again when its lease runs out, and a
worker that stops gives its claims back. A failed attempt is tried again after a growing
wait until the task's attempts are spent."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, and_, select

from dockyard.errors import NotFound
from dockyard.registry import jobs
from dockyard.registry.jobs import ERROR, PENDING, RUNNING, STOPPED, SUCCESS
from dockyard.registry.metadata import Database
from dockyard.registry.metadata._sql import page_rows
from dockyard.registry.replication._schema import executions, metadata, tasks

__all__ = [
    "ERROR",
    "PENDING",
    "RUNNING",
    "STOPPED",
    "SUCCESS",
    "ExecutionInfo",
    "Job",
    "NewTask",
    "ReplicationQueue",
    "TaskInfo",
]

#: Most characters a task's log keeps (the newest; an attempt writes a few lines).
LOG_CHARS = 64 << 10

log = logging.getLogger("dockyard.registry.replication")


@dataclass(frozen=True, slots=True)
class NewTask:
    """One artifact to copy: a tag (or digest) of a repository here, to a repository (and
    tag: "" for a copy by digest) at the destination."""

    src_repository: str
    src_reference: str
    dst_repository: str
    dst_tag: str
    #: copy, or delete (the reference at the destination: a tag, or a digest)
    operation: str = "copy"


@dataclass(frozen=True, slots=True)
class Job(jobs.Held):
    """A claimed task, as the worker runs it."""

    execution_id: int
    policy_id: int
    task: NewTask


@dataclass(frozen=True, slots=True)
class TaskInfo(jobs.TaskState):
    """A task as an execution's listing shows it."""

    policy_id: int
    operation: str
    task: NewTask


@dataclass(frozen=True, slots=True)
class ExecutionInfo:
    id: int
    policy_id: int
    trigger: str
    status_text: str
    start_time: float
    status: str
    end_time: float
    counts: Mapping[str, int]


def _new_task(row: Row[Any]) -> NewTask:
    return NewTask(row.src_repository, row.src_reference, row.dst_repository, row.dst_tag,
                   row.operation)  # fmt: skip


def _job(claim: jobs.Claim) -> Job:
    r = claim.row
    return Job(**Job.fields(claim), execution_id=r.execution_id, policy_id=r.policy_id,
               task=_new_task(r))  # fmt: skip


def _task(row: Row[Any]) -> TaskInfo:
    return TaskInfo(**TaskInfo.fields(row), policy_id=row.policy_id, operation=row.operation,
                    task=_new_task(row))  # fmt: skip


class ReplicationQueue(jobs.FeatureQueue):
    """Starting executions, claiming, finishing and listing tasks (tables created when
    missing). ``attempts`` and ``backoff`` are what new tasks get."""

    def __init__(
        self, db: Database, *, lease: float = 300.0, attempts: int = 10, backoff: float = 2.0
    ) -> None:
        self.db = db
        self.attempts = attempts
        self.backoff = backoff
        db.create_tables(metadata)
        # owners' liveness: a killed process's tasks are due again as soon as its lock is free
        super().__init__(jobs.LeasedQueue(
            db, tasks, lease=lease, what="replication tasks", log=log, owners="replication-owner",
            log_chars=LOG_CHARS,
        ))  # fmt: skip

    def start(
        self,
        policy_id: int,
        trigger: str,
        items: Sequence[NewTask],
        now: float,
        *,
        status_text: str = "",
    ) -> int:
        """An execution with its tasks, in one transaction; the execution's id."""
        with self.db.write() as conn:
            return self.start_in(conn, policy_id, trigger, items, now, status_text=status_text)

    def start_in(
        self,
        conn: Connection,
        policy_id: int,
        trigger: str,
        items: Sequence[NewTask],
        now: float,
        *,
        status_text: str = "",
    ) -> int:
        key = conn.execute(
            executions.insert().values(policy_id=policy_id, trigger=trigger,
                                       status_text=status_text[:1024], start_time=now)
        ).inserted_primary_key  # fmt: skip
        assert key is not None
        execution_id = int(key[0])
        if items:
            conn.execute(
                tasks.insert(),
                [
                    {
                        "execution_id": execution_id, "policy_id": policy_id,
                        "operation": t.operation, "src_repository": t.src_repository,
                        "src_reference": t.src_reference, "dst_repository": t.dst_repository,
                        "dst_tag": t.dst_tag, "max_attempts": self.attempts,
                        "backoff": self.backoff, **jobs.new_task(now),
                    }
                    for t in items
                ],
            )  # fmt: skip
        return execution_id

    def claim(self, now: float, limit: int = 1) -> list[Job]:
        """Up to ``limit`` due tasks, leased to this process in one transaction. A row whose
        lease ran out (its process died mid-copy) is due again."""
        return [_job(c) for c in self.leases.claim(now, limit)]

    def resume(self, now: float) -> int:
        """Make every task waiting for a later attempt due now (a registry starting: what
        stopped the copies may have been fixed meanwhile); the number of tasks."""
        return self.leases.resume(now)

    def renew(self, job: Job, now: float) -> bool:
        """Extend a claim's lease (a long copy); False when the row is no longer ours."""
        return self.leases.renew(job, now)

    def finish(
        self, job: Job, *, ok: bool, message: str, log: str, now: float, retry_at: float | None
    ) -> None:
        """Record an attempt: Success, Pending again at ``retry_at``, or Error (no retry).
        A row deleted meanwhile, or taken over by another process, is left alone."""
        self.leases.finish([jobs.Outcome(job, ok, message, log, retry_at)], now)

    def release(self, jobs: Sequence[Job], now: float) -> None:
        """Give back claimed tasks not finished (a stopping worker): due again at once,
        their attempt not counted."""
        self.leases.release(jobs, now)

    def stop(self, execution_id: int, now: float) -> int:
        """Stop an execution: its tasks not done are Stopped (one being copied finishes its
        attempt, whose outcome is then not recorded); how many."""
        self.execution(execution_id)
        return self.leases.stop(execution_id, now)

    # --- listing ---------------------------------------------------------------------------

    def executions(
        self,
        *,
        policy_id: int | None = None,
        trigger: str | None = None,
        page: int = 1,
        size: int = 10,
    ) -> tuple[list[ExecutionInfo], int]:
        conditions = []
        if policy_id is not None:
            conditions.append(executions.c.policy_id == policy_id)
        if trigger:
            conditions.append(executions.c.trigger == trigger)
        where = and_(True, *conditions)
        with self.db.read() as conn:
            rows, total = page_rows(conn, executions, where, executions.c.id.desc(), page, size)
            found = self.leases.summaries(conn, [r.id for r in rows])
        return [_execution(r, found) for r in rows], total

    def execution(self, execution_id: int) -> ExecutionInfo:
        with self.db.read() as conn:
            row = conn.execute(select(executions).where(executions.c.id == execution_id)).first()
            if row is None:
                raise NotFound(
                    f"replication execution {execution_id} not found",
                    hint="list /api/v2.0/replication/executions",
                )
            return _execution(row, self.leases.summaries(conn, [row.id]))

    def tasks(
        self, execution_id: int, *, status: str | None = None, page: int = 1, size: int = 10
    ) -> tuple[list[TaskInfo], int]:
        rows, total = self.leases.page(execution_id, status=status, page=page, size=size)
        return [_task(r) for r in rows], total

    def task(self, execution_id: int, task_id: int) -> TaskInfo:
        row = self.leases.row(execution_id, task_id)
        if row is None:
            raise NotFound(f"task {task_id} of replication execution {execution_id} not found")
        return _task(row)


def _execution(row: Row[Any], found: dict[int, tuple[dict[str, int], float]]) -> ExecutionInfo:
    counts, end = found.get(row.id, ({}, 0.0))
    status = jobs.execution_status(counts)
    return ExecutionInfo(
        row.id, row.policy_id, row.trigger, row.status_text, row.start_time, status,
        (end or row.start_time) if status != RUNNING else 0.0, counts,
    )  # fmt: skip
