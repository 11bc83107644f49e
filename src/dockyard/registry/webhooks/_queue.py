"""The delivery queue in the registry's database: one row per delivery to make (a task),
claimed by a worker with a lease in one transaction, so that several registry processes
sharing the database never deliver the same row twice, and rows of a process that stopped
are taken up again when their lease runs out (or at once after a restart).

A process that claims also holds a lock the operating system or PostgreSQL releases when it
dies (:class:`~dockyard.registry._run_locks.RunLocks`, keyed by its lease owner name): rows
leased to an owner whose lock is free are due again at once, so another replica takes over
the deliveries of a killed one within a poll, not after the lease."""

from __future__ import annotations

import json
import logging
import time
import uuid
import weakref
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, case, func, or_, select

from dockyard.errors import NotFound
from dockyard.registry._run_locks import HeldRun, RunLocks
from dockyard.registry.metadata import Database
from dockyard.registry.metadata._sql import page_rows
from dockyard.registry.webhooks._schema import executions, metadata, tasks

__all__ = ["Delivery", "DeliveryQueue", "ExecutionInfo", "NewTask", "Outcome", "TaskInfo"]

#: Seconds a claim's lease lasts beyond its deliveries' timeouts.
LEASE_MARGIN = 30.0
#: The delivery log's bounds (see :meth:`DeliveryQueue.sweep`): ended executions kept per
#: policy; ended deliveries kept of the notification endpoints.
KEEP_EXECUTIONS = 50
KEEP_BARE = 10_000

log = logging.getLogger("dockyard.registry.webhooks")

PENDING = "Pending"
RUNNING = "Running"
SUCCESS = "Success"
ERROR = "Error"


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


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed task, as the worker sends it."""

    id: int
    address: str
    payload: bytes
    headers: dict[str, str]
    verify: bool
    timeout: float
    max_attempts: int
    backoff: float
    run_count: int
    #: the claim's token on the row (a row taken over by another process no longer has it)
    lease: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt's result: ``retry_at`` None and not ``ok``: no attempts left."""

    delivery: Delivery
    ok: bool
    message: str
    line: str
    retry_at: float | None


@dataclass(frozen=True, slots=True)
class TaskInfo:
    id: int
    execution_id: int
    address: str
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
                "status": PENDING, "status_message": "", "run_count": 0, "next_time": now,
                "lease_owner": "", "lease_until": 0.0, "log": "", "creation_time": now,
                "update_time": now, "start_time": 0.0, "end_time": 0.0,
            }
            for execution_id, t in items
        ],
    )  # fmt: skip


def _owner_key(owner: str) -> int:
    """An owner's liveness lock (a 31-bit key: two owners sharing one only wait for the
    lease)."""
    return zlib.crc32(owner.encode()) & 0x7FFFFFFF


def _status(counts: Mapping[str, int]) -> str:
    if counts.get(PENDING) or counts.get(RUNNING):
        return (
            RUNNING if counts.get(SUCCESS) or counts.get(ERROR) or counts.get(RUNNING) else PENDING
        )
    if counts.get(ERROR):
        return ERROR
    return SUCCESS


def _task(row: Row[Any]) -> TaskInfo:
    return TaskInfo(
        row.id, row.execution_id, row.address, row.status, row.status_message, row.run_count,
        row.log, row.creation_time, row.update_time, row.start_time, row.end_time,
    )  # fmt: skip


class DeliveryQueue:
    """Claiming, finishing and listing deliveries (tables created when missing)."""

    def __init__(self, db: Database, *, lease: float = 120.0) -> None:
        self.db = db
        self.lease = lease
        #: this process's name on the rows it holds
        self.owner = uuid.uuid4().hex
        db.create_tables(metadata)
        #: the owners' liveness locks (taken at the first claim: a process that only queues
        #: holds nothing)
        self.locks = RunLocks(db, "webhook-owner")
        self._alive: HeldRun | None = None
        #: releases ``_alive`` when the queue is closed, or dropped unclosed
        self._release: Callable[[], object] | None = None
        self._retry_at = 0.0

    def close(self) -> None:
        """Let go of this process's liveness lock (its rows are finished or given back)."""
        release, self._release, self._alive = self._release, None, None
        if release is not None:
            release()

    def _holding(self) -> bool:
        """This process's liveness lock, taken when missing; False while it cannot be taken
        where others would check it (claiming then would let them take our rows)."""
        if not self.locks.tells:
            return True  # nobody can tell: rows wait for their lease
        now = time.monotonic()
        if self._alive is not None and self._alive.alive():
            return True
        if now < self._retry_at:
            return False
        self.close()
        self._alive = self.locks.hold(_owner_key(self.owner))
        self._release = weakref.finalize(self, self._alive.release)
        if not self._alive.held:
            self._retry_at = now + 10.0  # one warning per 10 s while the database refuses
        return self._alive.held

    def _dead_owners(self, conn: Connection, now: float) -> list[str]:
        """Owners of rows whose lease still runs whose process is gone (its lock is free)."""
        tokens = conn.execute(
            select(tasks.c.lease_owner).distinct()
            .where(tasks.c.status == RUNNING, tasks.c.lease_until >= now)
        ).scalars().all()  # fmt: skip
        owners = {str(t).partition(":")[0] for t in tokens} - {self.owner, ""}
        dead = [o for o in sorted(owners) if self.locks.abandoned(_owner_key(o)) is True]
        for owner in dead:
            log.warning("webhook deliveries leased to %s are taken over: its process stopped",
                        owner)  # fmt: skip
        return dead

    def claim(self, now: float, limit: int = 16) -> list[Delivery]:
        """Up to ``limit`` due tasks, leased to this process in one transaction. A row whose
        lease ran out, or whose owner's process died mid-delivery (its liveness lock is
        free), is due again."""
        if not self._holding():
            return []
        with self.db.read() as conn:
            dead = self._dead_owners(conn, now)
        taken = and_(tasks.c.status == RUNNING, tasks.c.lease_until < now)
        if dead:
            taken = or_(taken, and_(tasks.c.status == RUNNING,
                                    or_(*(tasks.c.lease_owner.startswith(f"{o}:")
                                          for o in dead))))  # fmt: skip
        due = and_(or_(tasks.c.status == PENDING, taken), tasks.c.next_time <= now)
        token = f"{self.owner}:{uuid.uuid4().hex[:12]}"
        with self.db.read() as conn:  # an idle poll writes nothing
            found = conn.execute(
                select(tasks.c.id, tasks.c.timeout).where(due)
                .order_by(tasks.c.next_time, tasks.c.id).limit(limit)
            ).all()  # fmt: skip
        if not found:
            return []
        ids = [r.id for r in found]
        # long enough for every attempt of the batch to time out, one after the other
        lease = max(self.lease, LEASE_MARGIN + sum(float(r.timeout) for r in found))
        with self.db.write() as conn:
            # the condition again: on PostgreSQL a row another process claimed meanwhile is
            # re-checked after its lock is released, and skipped
            conn.execute(
                tasks.update()
                .where(tasks.c.id.in_(ids), due)
                .values(status=RUNNING, lease_owner=token, lease_until=now + lease,
                        update_time=now)
            )  # fmt: skip
            rows = conn.execute(
                select(
                    tasks.c.id,
                    tasks.c.address,
                    tasks.c.payload,
                    tasks.c.headers,
                    tasks.c.verify,
                    tasks.c.timeout,
                    tasks.c.max_attempts,
                    tasks.c.backoff,
                    tasks.c.run_count,
                ).where(tasks.c.id.in_(ids), tasks.c.lease_owner == token)
            ).all()
        return [
            Delivery(
                r.id, r.address, r.payload, json.loads(r.headers), r.verify, r.timeout,
                r.max_attempts, r.backoff, r.run_count, token,
            )
            for r in rows
        ]  # fmt: skip

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
        self.finish_many([Outcome(delivery, ok, message, line, retry_at)], now)

    def finish_many(self, outcomes: Sequence[Outcome], now: float) -> None:
        """Record attempts, in one statement (rows deleted with their policy meanwhile, or
        taken over by another process after their lease ran out, are left alone)."""
        if not outcomes:
            return
        statement = (
            tasks.update()
            .where(tasks.c.id == bindparam("b_id"), tasks.c.lease_owner == bindparam("b_lease"))
            .values(
                status=bindparam("b_status"), status_message=bindparam("b_message"),
                run_count=bindparam("b_runs"), log=tasks.c.log + bindparam("b_line"),
                next_time=bindparam("b_next"), lease_owner="", lease_until=0.0,
                update_time=now,
                start_time=case((tasks.c.start_time == 0.0, now), else_=tasks.c.start_time),
                end_time=bindparam("b_end"),
            )
        )  # fmt: skip
        rows = []
        for o in outcomes:
            status = SUCCESS if o.ok else PENDING if o.retry_at is not None else ERROR
            rows.append({
                "b_id": o.delivery.id, "b_lease": o.delivery.lease, "b_status": status,
                "b_message": o.message[:1024], "b_runs": o.delivery.run_count + 1,
                "b_line": o.line + "\n",
                "b_next": o.retry_at if o.retry_at is not None else now,
                "b_end": now if status != PENDING else 0.0,
            })  # fmt: skip
        with self.db.write() as conn:
            conn.execute(statement, rows)

    def release(self, deliveries: Sequence[Delivery]) -> None:
        """Give back claimed deliveries not attempted (a stopping worker): due again now."""
        with self.db.write() as conn:
            for delivery in deliveries:
                conn.execute(
                    tasks.update()
                    .where(tasks.c.id == delivery.id, tasks.c.lease_owner == delivery.lease)
                    .values(status=PENDING, lease_owner="", lease_until=0.0)
                )

    # --- the delivery log ---------------------------------------------------------------

    def sweep(self, *, keep: int = KEEP_EXECUTIONS, keep_bare: int = KEEP_BARE) -> int:
        """Bound the delivery log: each policy keeps its newest ``keep`` executions whose
        deliveries all ended (older ones go with their tasks; Harbor's execution sweeper
        does the same), and notification endpoints' ended deliveries (which have no
        execution) the newest ``keep_bare``. A delivery still pending is never deleted.
        The rows deleted."""
        unfinished = select(tasks.c.execution_id).where(tasks.c.status.in_((PENDING, RUNNING)))
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
            ended = and_(tasks.c.execution_id == 0, tasks.c.status.in_((SUCCESS, ERROR)))
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
            total = conn.execute(select(func.count()).select_from(executions).where(where)).scalar()
            rows = conn.execute(
                select(executions).where(where).order_by(executions.c.id.desc())
                .limit(size).offset((page - 1) * size)
            ).all()  # fmt: skip
            found = self._summaries(conn, [r.id for r in rows])
        out = []
        for r in rows:
            counts, end = found.get(r.id, ({}, 0.0))
            status = _status(counts)
            out.append(ExecutionInfo(
                r.id, r.policy_id, r.endpoint, r.event_type, r.start_time, status,
                end if status in (SUCCESS, ERROR) else 0.0, counts,
            ))  # fmt: skip
        return out, int(total or 0)

    @staticmethod
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
        where = tasks.c.execution_id == execution_id
        with self.db.read() as conn:
            rows, total = page_rows(conn, tasks, where, tasks.c.id, page, size)
        return [_task(r) for r in rows], total

    def task(self, execution_id: int, task_id: int) -> TaskInfo:
        with self.db.read() as conn:
            row = conn.execute(
                select(tasks).where(tasks.c.id == task_id, tasks.c.execution_id == execution_id)
            ).first()
        if row is None:
            raise NotFound(f"task {task_id} of execution {execution_id} not found")
        return _task(row)

    def counts(self) -> dict[str, int]:
        """Tasks by status (for tests and metrics)."""
        with self.db.read() as conn:
            rows = conn.execute(select(tasks.c.status, func.count()).group_by(tasks.c.status))
            return {str(s): int(n) for s, n in rows}
