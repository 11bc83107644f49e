"""The replication work queue in the registry's database: an execution (one run of a
policy) and its tasks (one artifact to copy each). A worker claims a task with a lease in one
transaction, so that several registry processes sharing the database never copy the same row
at once; a task whose worker died is due again when its lease runs out, and a worker that
stops gives its claims back. A failed attempt is tried again after a growing wait until the
task's attempts are spent."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, and_, case, func, or_, select

from dockyard.errors import NotFound
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

PENDING = "Pending"
RUNNING = "Running"
SUCCESS = "Success"
ERROR = "Error"
STOPPED = "Stopped"
#: Most lines a task's log keeps (the newest; an attempt writes a few).
LOG_CHARS = 64 << 10


@dataclass(frozen=True, slots=True)
class NewTask:
    """One artifact to copy: a tag (or digest) of a repository here, to a repository (and
    tag: "" for a copy by digest) at the destination."""

    src_repository: str
    src_reference: str
    dst_repository: str
    dst_tag: str


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed task, as the worker runs it."""

    id: int
    execution_id: int
    policy_id: int
    task: NewTask
    run_count: int
    max_attempts: int
    backoff: float
    #: the claim's token on the row (a row taken over by another process no longer has it)
    lease: str


@dataclass(frozen=True, slots=True)
class TaskInfo:
    id: int
    execution_id: int
    policy_id: int
    operation: str
    task: NewTask
    status: str
    status_message: str
    run_count: int
    log: str
    creation_time: float
    update_time: float
    start_time: float
    end_time: float


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


def _status(counts: Mapping[str, int]) -> str:
    """An execution's status from its tasks' (one with none succeeded: nothing to copy)."""
    if counts.get(PENDING) or counts.get(RUNNING):
        return RUNNING
    if counts.get(ERROR):
        return ERROR
    if counts.get(STOPPED):
        return STOPPED
    return SUCCESS


def _task(row: Row[Any]) -> TaskInfo:
    return TaskInfo(
        row.id, row.execution_id, row.policy_id, row.operation,
        NewTask(row.src_repository, row.src_reference, row.dst_repository, row.dst_tag),
        row.status, row.status_message, row.run_count, row.log, row.creation_time,
        row.update_time, row.start_time, row.end_time,
    )  # fmt: skip


class ReplicationQueue:
    """Starting executions, claiming, finishing and listing tasks (tables created when
    missing). ``attempts`` and ``backoff`` are what new tasks get."""

    def __init__(
        self, db: Database, *, lease: float = 300.0, attempts: int = 10, backoff: float = 2.0
    ) -> None:
        self.db = db
        self.lease = lease
        self.attempts = attempts
        self.backoff = backoff
        #: this process's name on the rows it holds
        self.owner = uuid.uuid4().hex
        db.create_tables(metadata)

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
                        "operation": "copy", "src_repository": t.src_repository,
                        "src_reference": t.src_reference, "dst_repository": t.dst_repository,
                        "dst_tag": t.dst_tag, "max_attempts": self.attempts,
                        "backoff": self.backoff, "status": PENDING, "status_message": "",
                        "run_count": 0, "next_time": now, "lease_owner": "",
                        "lease_until": 0.0, "log": "", "creation_time": now,
                        "update_time": now, "start_time": 0.0, "end_time": 0.0,
                    }
                    for t in items
                ],
            )  # fmt: skip
        return execution_id

    def claim(self, now: float, limit: int = 1) -> list[Job]:
        """Up to ``limit`` due tasks, leased to this process in one transaction. A row whose
        lease ran out (its process died mid-copy) is due again."""
        due = and_(
            or_(tasks.c.status == PENDING,
                and_(tasks.c.status == RUNNING, tasks.c.lease_until < now)),
            tasks.c.next_time <= now,
        )  # fmt: skip
        token = f"{self.owner}:{uuid.uuid4().hex[:12]}"
        with self.db.read() as conn:  # an idle poll writes nothing
            ids = list(
                conn.execute(
                    select(tasks.c.id).where(due).order_by(tasks.c.next_time, tasks.c.id)
                    .limit(limit)
                ).scalars()
            )  # fmt: skip
        if not ids:
            return []
        with self.db.write() as conn:
            # the condition again: a row another process claimed meanwhile is skipped
            conn.execute(
                tasks.update().where(tasks.c.id.in_(ids), due)
                .values(status=RUNNING, lease_owner=token, lease_until=now + self.lease,
                        update_time=now,
                        start_time=case((tasks.c.start_time == 0.0, now),
                                        else_=tasks.c.start_time))
            )  # fmt: skip
            rows = conn.execute(
                select(tasks).where(tasks.c.id.in_(ids), tasks.c.lease_owner == token)
            ).all()
        return [
            Job(
                r.id, r.execution_id, r.policy_id,
                NewTask(r.src_repository, r.src_reference, r.dst_repository, r.dst_tag),
                r.run_count, r.max_attempts, r.backoff, token,
            )
            for r in rows
        ]  # fmt: skip

    def resume(self, now: float) -> int:
        """Make every task waiting for a later attempt due now (a registry starting: what
        stopped the copies may have been fixed meanwhile); the number of tasks."""
        with self.db.write() as conn:
            return int(
                conn.execute(
                    tasks.update()
                    .where(tasks.c.status == PENDING, tasks.c.next_time > now)
                    .values(next_time=now)
                ).rowcount
            )

    def renew(self, job: Job, now: float) -> bool:
        """Extend a claim's lease (a long copy); False when the row is no longer ours."""
        with self.db.write() as conn:
            return bool(
                conn.execute(
                    tasks.update()
                    .where(tasks.c.id == job.id, tasks.c.lease_owner == job.lease)
                    .values(lease_until=now + self.lease)
                ).rowcount
            )

    def finish(
        self, job: Job, *, ok: bool, message: str, log: str, now: float, retry_at: float | None
    ) -> None:
        """Record an attempt: Success, Pending again at ``retry_at``, or Error (no retry).
        A row deleted meanwhile, or taken over by another process, is left alone."""
        status = SUCCESS if ok else PENDING if retry_at is not None else ERROR
        with self.db.write() as conn:
            row = conn.execute(
                select(tasks.c.log).where(tasks.c.id == job.id, tasks.c.lease_owner == job.lease)
            ).first()
            if row is None:
                return
            text = (row.log + log)[-LOG_CHARS:]
            conn.execute(
                tasks.update()
                .where(tasks.c.id == job.id, tasks.c.lease_owner == job.lease)
                .values(status=status, status_message=message[:1024],
                        run_count=job.run_count + 1, log=text,
                        next_time=retry_at if retry_at is not None else now,
                        lease_owner="", lease_until=0.0, update_time=now,
                        end_time=0.0 if status == PENDING else now)
            )  # fmt: skip

    def release(self, jobs: Sequence[Job], now: float) -> None:
        """Give back claimed tasks not finished (a stopping worker): due again at once,
        their attempt not counted."""
        with self.db.write() as conn:
            for job in jobs:
                conn.execute(
                    tasks.update()
                    .where(tasks.c.id == job.id, tasks.c.lease_owner == job.lease)
                    .values(status=PENDING, lease_owner="", lease_until=0.0, next_time=now,
                            update_time=now)
                )  # fmt: skip

    def stop(self, execution_id: int, now: float) -> None:
        """Stop an execution: its tasks not done are Stopped (one being copied finishes its
        attempt, whose outcome is then not recorded)."""
        self.execution(execution_id)
        with self.db.write() as conn:
            conn.execute(
                tasks.update()
                .where(tasks.c.execution_id == execution_id,
                       tasks.c.status.in_((PENDING, RUNNING)))
                .values(status=STOPPED, status_message="stopped", lease_owner="",
                        lease_until=0.0, end_time=now, update_time=now)
            )  # fmt: skip

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
            found = _summaries(conn, [r.id for r in rows])
        return [_execution(r, found) for r in rows], total

    def execution(self, execution_id: int) -> ExecutionInfo:
        with self.db.read() as conn:
            row = conn.execute(select(executions).where(executions.c.id == execution_id)).first()
            if row is None:
                raise NotFound(
                    f"replication execution {execution_id} not found",
                    hint="list /api/v2.0/replication/executions",
                )
            return _execution(row, _summaries(conn, [row.id]))

    def tasks(
        self, execution_id: int, *, status: str | None = None, page: int = 1, size: int = 10
    ) -> tuple[list[TaskInfo], int]:
        where = tasks.c.execution_id == execution_id
        if status:
            where = and_(where, tasks.c.status == status)
        with self.db.read() as conn:
            rows, total = page_rows(conn, tasks, where, tasks.c.id, page, size)
        return [_task(r) for r in rows], total

    def task(self, execution_id: int, task_id: int) -> TaskInfo:
        with self.db.read() as conn:
            row = conn.execute(
                select(tasks).where(tasks.c.id == task_id, tasks.c.execution_id == execution_id)
            ).first()
        if row is None:
            raise NotFound(f"task {task_id} of replication execution {execution_id} not found")
        return _task(row)

    def counts(self) -> dict[str, int]:
        """Tasks by status (for tests and metrics)."""
        with self.db.read() as conn:
            rows = conn.execute(select(tasks.c.status, func.count()).group_by(tasks.c.status))
            return {str(s): int(n) for s, n in rows}


def _summaries(conn: Connection, ids: list[int]) -> dict[int, tuple[dict[str, int], float]]:
    out: dict[int, tuple[dict[str, int], float]] = {}
    if not ids:
        return out
    rows = conn.execute(
        select(tasks.c.execution_id, tasks.c.status, func.count(), func.max(tasks.c.end_time))
        .where(tasks.c.execution_id.in_(ids))
        .group_by(tasks.c.execution_id, tasks.c.status)
    ).all()
    for execution_id, status, count, end in rows:
        counts, last = out.setdefault(execution_id, ({}, 0.0))
        counts[status] = int(count)
        out[execution_id] = (counts, max(last, float(end or 0.0)))
    return out


def _execution(row: Row[Any], found: dict[int, tuple[dict[str, int], float]]) -> ExecutionInfo:
    counts, end = found.get(row.id, ({}, 0.0))
    status = _status(counts)
    return ExecutionInfo(
        row.id, row.policy_id, row.trigger, row.status_text, row.start_time, status,
        (end or row.start_time) if status != RUNNING else 0.0, counts,
    )  # fmt: skip
