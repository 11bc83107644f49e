"""A leased task queue in the registry's database, over a feature's own two tables: its
executions (one run: an event sent, a policy's replication) and their tasks (one unit of work
each, with its attempts, the time of its next attempt, the lease of the worker holding it and
its log).

A worker claims due tasks with a lease in one transaction, so that several registry processes
sharing the database never work the same row at once; a task whose worker died is due again
when its lease runs out — or at once, when the queue knows its owners' liveness
(:class:`~dockyard.registry.jobs._owners.Owners`) and the owner's process is gone. A worker
that stops gives its claims back; a failed attempt is tried again at the time the worker
says, until the task's attempts are spent. Executions can be stopped; a starting registry
can make every waiting task due at once.

The tasks table has the columns ``id``, ``execution_id``, ``max_attempts``, ``backoff``,
``status``, ``status_message``, ``run_count``, ``next_time``, ``lease_owner``,
``lease_until``, ``log``, ``creation_time``, ``update_time``, ``start_time`` and ``end_time``
(times in seconds since the epoch); the rest are the feature's."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Table,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
)

from dockyard.registry.jobs._owners import Owners
from dockyard.registry.jobs._tasks import (
    ERROR,
    PENDING,
    RUNNING,
    STOPPED,
    SUCCESS,
    Claim,
    Leased,
    Outcome,
)
from dockyard.registry.metadata import Database
from dockyard.registry.metadata._sql import page_rows

__all__ = ["LEASE_MARGIN", "FeatureQueue", "LeasedQueue"]

#: Seconds a claim's lease lasts beyond its tasks' attempt timeouts (``attempt_seconds``).
LEASE_MARGIN = 30.0


class LeasedQueue:
    """Claiming, renewing, finishing, giving back and stopping the rows of ``tasks``.

    ``lease``: seconds a claim lasts (``attempt_seconds``: the name of a column of seconds an
    attempt of the task may take; a claim's lease then also covers every claimed task's, one
    after the other). ``owners``: the lock kind of the owners' liveness (None: a dead
    owner's rows wait for their lease). ``log_chars``: how much of a task's log is kept (the
    newest; None: all). ``what`` names the tasks in log lines."""

    def __init__(
        self,
        db: Database,
        tasks: Table,
        *,
        lease: float,
        what: str,
        log: logging.Logger,
        owners: str | None = None,
        attempt_seconds: str | None = None,
        log_chars: int | None = None,
    ) -> None:
        self.db = db
        self.tasks = tasks
        self.lease = lease
        self.what = what
        self.log = log
        self.owners = None if owners is None else Owners(db, owners)
        #: this process's name on the rows it holds
        self.owner = uuid.uuid4().hex if self.owners is None else self.owners.name
        self.attempt_seconds = None if attempt_seconds is None else tasks.c[attempt_seconds]
        self.log_chars = log_chars

    def close(self) -> None:
        """Let go of this process's liveness lock (its rows are finished or given back)."""
        if self.owners is not None:
            self.owners.close()

    # --- claims ------------------------------------------------------------------------------

    def _dead_owners(self, now: float) -> list[str]:
        """Owners of rows whose lease still runs whose process is gone."""
        if self.owners is None:
            return []
        t = self.tasks
        with self.db.read() as conn:
            tokens = conn.execute(
                select(t.c.lease_owner).distinct()
                .where(t.c.status == RUNNING, t.c.lease_until >= now)
            ).scalars().all()  # fmt: skip
        dead = self.owners.dead(tokens)
        for owner in dead:
            self.log.warning("%s leased to %s are taken over: its process stopped",
                             self.what, owner)  # fmt: skip
        return dead

    def _due(self, now: float) -> ColumnElement[bool]:
        t = self.tasks
        taken = and_(t.c.status == RUNNING, t.c.lease_until < now)
        dead = self._dead_owners(now)
        if dead:
            owned = or_(*(t.c.lease_owner.startswith(f"{o}:") for o in dead))
            taken = or_(taken, and_(t.c.status == RUNNING, owned))
        return and_(or_(t.c.status == PENDING, taken), t.c.next_time <= now)

    def claim(self, now: float, limit: int = 1) -> list[Claim]:
        """Up to ``limit`` due tasks, oldest due first, leased to this process in one
        transaction. A row whose lease ran out, or whose owner's process died mid-attempt
        (its liveness lock is free), is due again."""
        if self.owners is not None and not self.owners.holding():
            return []
        t = self.tasks
        due = self._due(now)
        token = f"{self.owner}:{uuid.uuid4().hex[:12]}"
        seconds = self.attempt_seconds
        with self.db.read() as conn:  # an idle poll writes nothing
            found = conn.execute(
                select(t.c.id, *(() if seconds is None else (seconds,))).where(due)
                .order_by(t.c.next_time, t.c.id).limit(limit)
            ).all()  # fmt: skip
        if not found:
            return []
        ids = [r[0] for r in found]
        lease = self.lease
        if seconds is not None:  # every attempt of the batch may time out, one after another
            lease = max(lease, LEASE_MARGIN + sum(float(r[1]) for r in found))
        with self.db.write() as conn:
            # the condition again: on PostgreSQL a row another process claimed meanwhile is
            # re-checked after its lock is released, and skipped
            conn.execute(
                t.update().where(t.c.id.in_(ids), due)
                .values(status=RUNNING, lease_owner=token, lease_until=now + lease,
                        update_time=now,
                        start_time=case((t.c.start_time == 0.0, now), else_=t.c.start_time))
            )  # fmt: skip
            rows = conn.execute(
                select(t).where(t.c.id.in_(ids), t.c.lease_owner == token).order_by(t.c.id)
            ).all()
        return [Claim(r, token) for r in rows]

    def renew(self, task: Leased, now: float) -> bool:
        """Extend a claim's lease (a long attempt); False when the row is no longer ours."""
        t = self.tasks
        with self.db.write() as conn:
            return bool(
                conn.execute(
                    t.update()
                    .where(t.c.id == task.id, t.c.lease_owner == task.lease)
                    .values(lease_until=now + self.lease)
                ).rowcount
            )

    def finish(self, outcomes: Sequence[Outcome], now: float) -> None:
        """Record attempts, in one transaction: Success, Pending again at ``retry_at``, or
        Error. Rows deleted meanwhile, or taken over by another process after their lease
        ran out, are left alone."""
        if not outcomes:
            return
        with self.db.write() as conn:
            conn.execute(self._finish_statement(), self._finish_rows(conn, outcomes, now))

    def finish_in(self, conn: Connection, outcome: Outcome, now: float) -> bool:
        """Record one attempt in the caller's write transaction (with what the feature writes
        for it); whether the row was still this claim's (False: deleted meanwhile, or taken
        over by another process: the caller writes nothing of its own either)."""
        (row,) = self._finish_rows(conn, [outcome], now)
        return bool(conn.execute(self._finish_statement(), row).rowcount)

    def _finish_statement(self) -> Any:
        t = self.tasks
        mine = and_(t.c.id == bindparam("b_id"), t.c.lease_owner == bindparam("b_lease"))
        bounded = self.log_chars is not None
        return t.update().where(mine).values(
            status=bindparam("b_status"), status_message=bindparam("b_message"),
            run_count=bindparam("b_runs"),
            log=bindparam("b_log") if bounded else t.c.log + bindparam("b_log"),
            next_time=bindparam("b_next"), lease_owner="", lease_until=0.0, update_time=bindparam("b_now"),
            start_time=case((t.c.start_time == 0.0, bindparam("b_now")), else_=t.c.start_time),
            end_time=bindparam("b_end"),
        )  # fmt: skip

    def _finish_rows(
        self, conn: Connection, outcomes: Sequence[Outcome], now: float
    ) -> list[dict[str, Any]]:
        t = self.tasks
        logs: dict[int, str] = {}
        if self.log_chars is not None:
            logs = {
                int(r.id): str(r.log)
                for r in conn.execute(
                    select(t.c.id, t.c.log).where(t.c.id.in_([o.task.id for o in outcomes]))
                )
            }
        rows = []
        for o in outcomes:
            status = SUCCESS if o.ok else PENDING if o.retry_at is not None else ERROR
            text = o.log
            if self.log_chars is not None:
                text = (logs.get(o.task.id, "") + text)[-self.log_chars :]
            rows.append({
                "b_id": o.task.id, "b_lease": o.task.lease, "b_status": status,
                "b_message": o.message[:1024], "b_runs": o.task.run_count + 1,
                "b_log": text, "b_next": o.retry_at if o.retry_at is not None else now,
                "b_end": now if status != PENDING else 0.0, "b_now": now,
            })  # fmt: skip
        return rows

    def release(self, tasks: Iterable[Leased], now: float) -> None:
        """Give back claimed tasks not attempted (a stopping worker): due again at once,
        anywhere, their attempt not counted."""
        t = self.tasks
        with self.db.write() as conn:
            for task in tasks:
                conn.execute(
                    t.update()
                    .where(t.c.id == task.id, t.c.lease_owner == task.lease)
                    .values(status=PENDING, lease_owner="", lease_until=0.0, next_time=now,
                            update_time=now)
                )  # fmt: skip

    def resume(self, now: float) -> int:
        """Make every task waiting for a later attempt due now (a registry starting: what
        made the attempts fail may have been fixed meanwhile); the number of tasks."""
        t = self.tasks
        with self.db.write() as conn:
            return int(
                conn.execute(
                    t.update()
                    .where(t.c.status == PENDING, t.c.next_time > now)
                    .values(next_time=now)
                ).rowcount
            )

    def stop(self, execution_id: int, now: float) -> int:
        """Stop an execution: its tasks not done are Stopped (one being attempted finishes
        its attempt, whose outcome is then not recorded); how many."""
        t = self.tasks
        with self.db.write() as conn:
            return int(
                conn.execute(
                    t.update()
                    .where(t.c.execution_id == execution_id,
                           t.c.status.in_((PENDING, RUNNING)))
                    .values(status=STOPPED, status_message="stopped", lease_owner="",
                            lease_until=0.0, end_time=now, update_time=now)
                ).rowcount
            )  # fmt: skip

    # --- listing -----------------------------------------------------------------------------

    def summaries(
        self, conn: Connection, ids: Sequence[int]
    ) -> dict[int, tuple[dict[str, int], float]]:
        """Executions' task counts by status and the last end time of their tasks."""
        out: dict[int, tuple[dict[str, int], float]] = {}
        if not ids:
            return out
        t = self.tasks
        rows = conn.execute(
            select(t.c.execution_id, t.c.status, func.count(), func.max(t.c.end_time))
            .where(t.c.execution_id.in_(ids))
            .group_by(t.c.execution_id, t.c.status)
        ).all()
        for execution_id, status, count, end in rows:
            counts, last = out.setdefault(execution_id, ({}, 0.0))
            counts[status] = int(count)
            out[execution_id] = (counts, max(last, float(end or 0.0)))
        return out

    def page(
        self, execution_id: int, *, status: str | None = None, page: int = 1, size: int = 10
    ) -> tuple[list[Row[Any]], int]:
        """One page of an execution's tasks (those of ``status``), oldest first, and how
        many there are."""
        t = self.tasks
        where = t.c.execution_id == execution_id
        if status:
            where = and_(where, t.c.status == status)
        with self.db.read() as conn:
            return page_rows(conn, t, where, t.c.id, page, size)

    def row(self, execution_id: int, task_id: int) -> Row[Any] | None:
        """Task ``task_id`` of execution ``execution_id`` (None: not one of its)."""
        t = self.tasks
        with self.db.read() as conn:
            return conn.execute(
                select(t).where(t.c.id == task_id, t.c.execution_id == execution_id)
            ).first()

    def counts(self) -> dict[str, int]:
        """Tasks by status (for tests and metrics)."""
        t = self.tasks
        with self.db.read() as conn:
            rows = conn.execute(select(t.c.status, func.count()).group_by(t.c.status))
            return {str(s): int(n) for s, n in rows}


class FeatureQueue:
    """The base of a feature's queue (webhook deliveries, replication copies): its
    :class:`LeasedQueue` is :attr:`leases`; the feature adds what its tasks are."""

    def __init__(self, leases: LeasedQueue) -> None:
        self.leases = leases

    @property
    def lease(self) -> float:
        """Seconds a claim lasts (at least)."""
        return self.leases.lease

    @property
    def owner(self) -> str:
        """This process's name on the rows it holds."""
        return self.leases.owner

    def close(self) -> None:
        """Let go of this process's liveness lock (its rows are finished or given back)."""
        self.leases.close()

    def counts(self) -> dict[str, int]:
        """Tasks by status (for tests and metrics)."""
        return self.leases.counts()
