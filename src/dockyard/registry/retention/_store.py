"""Policies and the execution history (executions → tasks per repository → per-artifact
results) in the registry's database; every write is one transaction."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.errors import NotFound
from dockyard.registry.metadata import Database
from dockyard.registry.retention._model import Policy, parse_policy, policy_json
from dockyard.registry.retention._schema import (
    create_tables,
    executions,
    fires,
    policies,
    results,
    tasks,
)

__all__ = ["Execution", "ExecutionStore", "PolicyStore", "Result", "Task"]

RUNNING = "Running"


@dataclass(frozen=True, slots=True)
class Execution:
    id: int
    policy_id: int
    status: str
    trigger: str
    dry_run: bool
    start_time: float
    end_time: float | None
    stop_requested: bool = False


@dataclass(frozen=True, slots=True)
class Task:
    id: int
    execution_id: int
    repository: str
    status: str
    start_time: float
    end_time: float | None
    total: int
    retained: int


@dataclass(frozen=True, slots=True)
class Result:
    digest: str
    tags: tuple[str, ...]
    action: str
    error: str = ""


class PolicyStore:
    def __init__(self, db: Database, *, clock: Callable[[], float]) -> None:
        self._db = db
        self._clock = clock
        create_tables(db)

    def create(self, policy: Policy) -> int:
        now = self._clock()
        with self._db.write() as conn:
            row = conn.execute(
                insert(policies).values(
                    project_id=policy.project_id, body="{}", created_at=now, updated_at=now
                )
            )
            pid = _new_id(row)
            body = json.dumps(policy_json(_with_id(policy, pid)))
            conn.execute(update(policies).where(policies.c.id == pid).values(body=body))
        return pid

    def get(self, policy_id: int) -> Policy:
        found = self.find(policy_id)
        if found is None:
            raise NotFound(f"retention policy {policy_id} not found",
                           hint="GET /api/v2.0/projects/{project}/metadatas/retention_id "
                           "names a project's policy")  # fmt: skip
        return found

    def find(self, policy_id: int) -> Policy | None:
        with self._db.read() as conn:
            body = conn.execute(select(policies.c.body).where(policies.c.id == policy_id)).scalar()
        return None if body is None else parse_policy(json.loads(body), policy_id=policy_id)

    def of_project(self, project_id: int) -> Policy | None:
        with self._db.read() as conn:
            row = conn.execute(
                select(policies.c.id, policies.c.body).where(policies.c.project_id == project_id)
            ).first()
        return None if row is None else parse_policy(json.loads(row[1]), policy_id=int(row[0]))

    def all(self) -> list[Policy]:
        with self._db.read() as conn:
            rows = conn.execute(select(policies.c.id, policies.c.body)).all()
        return [parse_policy(json.loads(body), policy_id=int(pid)) for pid, body in rows]

    def update(self, policy: Policy) -> None:
        body = json.dumps(policy_json(policy))
        with self._db.write() as conn:
            done = conn.execute(
                update(policies)
                .where(policies.c.id == policy.id)
                .values(body=body, project_id=policy.project_id, updated_at=self._clock())
            )
        if done.rowcount == 0:
            raise NotFound(f"retention policy {policy.id} not found")

    def delete(self, policy_id: int) -> None:
        with self._db.write() as conn:
            ids = select(executions.c.id).where(executions.c.policy_id == policy_id)
            task_ids = select(tasks.c.id).where(tasks.c.execution_id.in_(ids))
            conn.execute(results.delete().where(results.c.task_id.in_(task_ids)))
            conn.execute(tasks.delete().where(tasks.c.execution_id.in_(ids)))
            conn.execute(executions.delete().where(executions.c.policy_id == policy_id))
            conn.execute(fires.delete().where(fires.c.policy_id == policy_id))
            done = conn.execute(policies.delete().where(policies.c.id == policy_id))
        if done.rowcount == 0:
            raise NotFound(f"retention policy {policy_id} not found")


def forget_project(conn: Connection, project_id: int) -> None:
    """A deleted project's retention policy and its history, inside the caller's
    transaction."""
    mine = select(policies.c.id).where(policies.c.project_id == project_id)
    ids = select(executions.c.id).where(executions.c.policy_id.in_(mine))
    task_ids = select(tasks.c.id).where(tasks.c.execution_id.in_(ids))
    conn.execute(results.delete().where(results.c.task_id.in_(task_ids)))
    conn.execute(tasks.delete().where(tasks.c.execution_id.in_(ids)))
    conn.execute(executions.delete().where(executions.c.policy_id.in_(mine)))
    conn.execute(fires.delete().where(fires.c.policy_id.in_(mine)))
    conn.execute(policies.delete().where(policies.c.project_id == project_id))


def _with_id(policy: Policy, pid: int) -> Policy:
    from dataclasses import replace

    return replace(policy, id=pid)


def _execution(r: Any) -> Execution:
    return Execution(
        int(r[0]), int(r[1]), str(r[2]), str(r[3]), bool(r[4]), float(r[5]),
        None if r[6] is None else float(r[6]), bool(r[7]),
    )  # fmt: skip


def _task(r: Any) -> Task:
    return Task(
        int(r[0]), int(r[1]), str(r[2]), str(r[3]), float(r[4]),
        None if r[5] is None else float(r[5]), int(r[6]), int(r[7]),
    )  # fmt: skip


_EXEC_COLUMNS = (
    executions.c.id, executions.c.policy_id, executions.c.status, executions.c.trigger,
    executions.c.dry_run, executions.c.start_time, executions.c.end_time,
    executions.c.stop_requested,
)  # fmt: skip
_TASK_COLUMNS = (
    tasks.c.id, tasks.c.execution_id, tasks.c.repository, tasks.c.status, tasks.c.start_time,
    tasks.c.end_time, tasks.c.total, tasks.c.retained,
)  # fmt: skip


class ExecutionStore:
    def __init__(self, db: Database, *, clock: Callable[[], float]) -> None:
        self._db = db
        self._clock = clock
        create_tables(db)

    def start(
        self,
        policy_id: int,
        trigger: str,
        dry_run: bool,
        *,
        before_commit: Callable[[int], object] | None = None,
    ) -> int:
        """A new Running execution's id; ``before_commit`` is called with it inside the
        transaction (the run's lock is taken before any other process can see the row)."""
        with self._db.write() as conn:
            row = conn.execute(
                insert(executions).values(
                    policy_id=policy_id, status=RUNNING, trigger=trigger, dry_run=dry_run,
                    stop_requested=False, start_time=self._clock(),
                )
            )  # fmt: skip
            eid = _new_id(row)
            if before_commit is not None:
                before_commit(eid)
            return eid

    def finish(self, execution_id: int, status: str) -> None:
        with self._db.write() as conn:
            conn.execute(
                update(executions)
                .where(executions.c.id == execution_id)
                .values(status=status, end_time=self._clock())
            )

    def running(self) -> list[Execution]:
        """Every execution marked Running, of any process."""
        with self._db.read() as conn:
            rows = conn.execute(select(*_EXEC_COLUMNS).where(executions.c.status == RUNNING)).all()
        return [_execution(r) for r in rows]

    def abandon(self, execution_id: int, message: str) -> bool:
        """Close an execution whose process died: it and its Running tasks become Error, the
        tasks' logs end with ``message``. False when it was no longer running."""
        now = self._clock()
        with self._db.write() as conn:
            done = conn.execute(
                update(executions)
                .where(executions.c.id == execution_id, executions.c.status == RUNNING)
                .values(status="Error", end_time=now)
            )
            if not done.rowcount:
                return False
            conn.execute(
                update(tasks)
                .where(tasks.c.execution_id == execution_id, tasks.c.status == RUNNING)
                .values(status="Error", end_time=now, log=tasks.c.log + message + "\n")
            )
        return True

    def sweep(self, policy_id: int, keep: int) -> int:
        """Keep ``policy_id``'s newest ``keep`` ended executions (Harbor's execution sweeper
        does the same); the older ones go with their tasks and results. Running ones stay.
        The number deleted."""
        ended = and_(executions.c.policy_id == policy_id, executions.c.status != RUNNING)
        with self._db.write() as conn:
            newest = select(executions.c.id).where(ended).order_by(executions.c.id.desc())
            old = [
                int(r[0]) for r in conn.execute(newest.offset(keep).limit(10_000)).all()
            ]  # fmt: skip
            if not old:
                return 0
            task_ids = select(tasks.c.id).where(tasks.c.execution_id.in_(old))
            conn.execute(results.delete().where(results.c.task_id.in_(task_ids)))
            conn.execute(tasks.delete().where(tasks.c.execution_id.in_(old)))
            conn.execute(executions.delete().where(executions.c.id.in_(old)))
            # scheduled firings older than what is kept are of no use any more
            first = conn.execute(
                select(func.min(executions.c.start_time)).where(executions.c.policy_id == policy_id)
            ).scalar()
            if first is not None:
                conn.execute(
                    fires.delete().where(fires.c.policy_id == policy_id, fires.c.fire_at < first)
                )
        return len(old)

    def claim_fire(self, policy_id: int, fire_at: float) -> bool:
        """Record that ``policy_id``'s schedule fired at ``fire_at``; False when some process
        recorded it already (so each firing runs once, however many processes follow it)."""
        try:
            with self._db.write() as conn:
                conn.execute(insert(fires).values(policy_id=policy_id, fire_at=fire_at))
        except IntegrityError:
            return False
        return True

    def request_stop(self, execution_id: int) -> bool:
        """Ask a running execution to stop; False when it is not running."""
        with self._db.write() as conn:
            done = conn.execute(
                update(executions)
                .where(executions.c.id == execution_id, executions.c.status == RUNNING)
                .values(stop_requested=True)
            )
        return bool(done.rowcount)

    def stop_requested(self, execution_id: int) -> bool:
        with self._db.read() as conn:
            return bool(
                conn.execute(
                    select(executions.c.stop_requested).where(executions.c.id == execution_id)
                ).scalar()
            )

    def get(self, execution_id: int) -> Execution:
        with self._db.read() as conn:
            row = conn.execute(
                select(*_EXEC_COLUMNS).where(executions.c.id == execution_id)
            ).first()
        if row is None:
            raise NotFound(f"retention execution {execution_id} not found")
        return _execution(row)

    def history(self, policy_id: int, offset: int, limit: int) -> tuple[int, list[Execution]]:
        where = executions.c.policy_id == policy_id
        with self._db.read() as conn:
            total = conn.execute(select(func.count()).select_from(executions).where(where))
            rows = conn.execute(
                select(*_EXEC_COLUMNS)
                .where(where)
                .order_by(executions.c.id.desc())
                .offset(offset)
                .limit(limit)
            ).all()
            return int(total.scalar() or 0), [_execution(r) for r in rows]

    def add_task(self, execution_id: int, repository: str) -> int:
        with self._db.write() as conn:
            row = conn.execute(
                insert(tasks).values(
                    execution_id=execution_id, repository=repository, status=RUNNING,
                    start_time=self._clock(), total=0, retained=0, log="",
                )
            )  # fmt: skip
            return _new_id(row)

    def finish_task(
        self,
        task_id: int,
        status: str,
        outcome: Sequence[Result],
        *,
        retained: int,
        log: str,
    ) -> None:
        with self._db.write() as conn:
            if outcome:
                conn.execute(
                    insert(results),
                    [
                        {"task_id": task_id, "digest": r.digest, "tags": ",".join(r.tags),
                         "action": r.action, "error": r.error}
                        for r in outcome
                    ],
                )  # fmt: skip
            conn.execute(
                update(tasks)
                .where(tasks.c.id == task_id)
                .values(
                    status=status, end_time=self._clock(), total=len(outcome),
                    retained=retained, log=log,
                )
            )  # fmt: skip

    def tasks(self, execution_id: int, offset: int, limit: int) -> tuple[int, list[Task]]:
        where = tasks.c.execution_id == execution_id
        with self._db.read() as conn:
            total = conn.execute(select(func.count()).select_from(tasks).where(where))
            rows = conn.execute(
                select(*_TASK_COLUMNS).where(where).order_by(tasks.c.id).offset(offset).limit(limit)
            ).all()
            return int(total.scalar() or 0), [_task(r) for r in rows]

    def task(self, task_id: int) -> tuple[Task, str]:
        with self._db.read() as conn:
            row = conn.execute(
                select(*_TASK_COLUMNS, tasks.c.log).where(tasks.c.id == task_id)
            ).first()
        if row is None:
            raise NotFound(f"retention task {task_id} not found")
        return _task(row), str(row[-1])

    def results(self, execution_id: int) -> list[tuple[str, Result]]:
        """(repository, result) of every artifact an execution looked at."""
        with self._db.read() as conn:
            rows = conn.execute(
                select(tasks.c.repository, results.c.digest, results.c.tags, results.c.action,
                       results.c.error)
                .select_from(results.join(tasks, tasks.c.id == results.c.task_id))
                .where(tasks.c.execution_id == execution_id)
                .order_by(results.c.id)
            ).all()  # fmt: skip
        return [
            (repo, Result(digest, tuple(t for t in tag_text.split(",") if t), action, error))
            for repo, digest, tag_text, action, error in rows
        ]


def _new_id(result: Any) -> int:
    return int(result.inserted_primary_key[0])
