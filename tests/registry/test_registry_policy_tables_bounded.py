"""The policy features' growing tables stay within their bounds: artifacts' pull times (by
age and by count), the webhook delivery log (executions per policy, notification
deliveries; pending deliveries never go), retention's execution history per policy, and
garbage collection's run history."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import func, insert, select

from _infra import backend
from dockyard.registry.gcjobs import GcJobs, GcParameters
from dockyard.registry.metadata import Database
from dockyard.registry.retention._model import parse_policy
from dockyard.registry.retention._pulls import PullRecorder
from dockyard.registry.retention._schema import pulls
from dockyard.registry.retention._store import ExecutionStore
from dockyard.registry.retention._store import PolicyStore as RetentionPolicies
from dockyard.registry.webhooks import DeliveryQueue
from dockyard.registry.webhooks._queue import NewTask, enqueue, enqueue_tasks
from dockyard.registry.webhooks._schema import executions, tasks

DAY = 86400.0


def _count(db: Database, table: object, *where: object) -> int:
    with db.read() as conn:
        query = select(func.count()).select_from(table)  # type: ignore[arg-type]
        return int(conn.execute(query.where(*where)).scalar_one())  # type: ignore[arg-type]


def test_pull_times_are_pruned_by_age_then_by_count(tmp_path: Path) -> None:
    db = backend.database(tmp_path / "r")
    recorder = PullRecorder(db, max_age=30 * DAY, max_rows=100)
    now = time.time()
    with db.write() as conn:
        conn.execute(insert(pulls), [
            {"repository": "p/app", "digest": f"sha256:{n:064x}", "pulled_at": now - n * 3600}
            for n in range(1000)  # one an hour: 1000 hours back (≈ 41.7 days)
        ])  # fmt: skip
    assert recorder.prune(now) == 1000 - 100
    assert _count(db, pulls) == 100
    with db.read() as conn:  # the newest are the ones kept
        oldest = conn.execute(select(func.min(pulls.c.pulled_at))).scalar_one()
    assert oldest == now - 99 * 3600
    recorder = PullRecorder(db, max_age=2 * 3600.5, max_rows=100)
    assert recorder.prune(now) == 100 - 3  # by age: 0, 1 and 2 hours ago stay
    db.close()


def _task(n: int) -> NewTask:
    return NewTask(f"http://127.0.0.1:9/{n}", b"{}", {"Content-Type": "application/json"})


def test_the_delivery_log_keeps_the_newest_executions_and_every_pending_delivery(
    tmp_path: Path,
) -> None:
    db = backend.database(tmp_path / "r")
    queue = DeliveryQueue(db)
    now = time.time()
    with db.write() as conn:
        for policy_id in (1, 2):
            for n in range(30):
                enqueue(conn, policy_id=policy_id, endpoint="", event_type="PUSH_ARTIFACT",
                        items=[_task(n)], now=now)  # fmt: skip
        enqueue_tasks(conn, [(0, _task(n)) for n in range(40)], now)
        # everything delivered but policy 1's oldest execution (still to be delivered)
        oldest = conn.execute(select(func.min(executions.c.id))).scalar_one()
        conn.execute(tasks.update().where(tasks.c.execution_id != oldest).values(status="Success"))
    deleted = queue.sweep(keep=10, keep_bare=15)
    assert deleted == 2 * (19 * 2) + 1 * 2 + 25  # tasks and executions; bare tasks
    assert _count(db, executions, executions.c.policy_id == 1) == 11  # 10 + the pending one
    assert _count(db, executions, executions.c.policy_id == 2) == 10
    assert _count(db, tasks, tasks.c.execution_id == oldest) == 1  # never lost
    assert _count(db, tasks, tasks.c.execution_id == 0) == 15
    assert queue.sweep(keep=10, keep_bare=15) == 0
    db.close()


def test_retention_history_keeps_the_newest_ended_executions(tmp_path: Path) -> None:
    db = backend.database(tmp_path / "r")
    body = {"algorithm": "or", "rules": [], "trigger": {"kind": "Schedule", "settings": {}},
            "scope": {"level": "project", "ref": 7}}  # fmt: skip
    pid = RetentionPolicies(db, clock=time.time).create(parse_policy(body))
    store = ExecutionStore(db, clock=time.time)
    ids = [store.start(pid, "MANUAL", False) for _ in range(12)]
    for eid in ids[1:]:  # the first one is still running
        store.add_task(eid, "p/app")
        store.finish(eid, "Success")
    assert store.sweep(pid, 5) == 11 - 5
    total, kept = store.history(pid, 0, 100)
    assert total == 6 and [e.id for e in kept] == [*reversed(ids[-5:]), ids[0]]
    db.close()


def test_gc_history_keeps_the_newest_runs(tmp_path: Path) -> None:
    registry = backend.open_registry(tmp_path / "data")
    jobs = GcJobs(registry, keep_runs=3)
    try:
        for _ in range(5):
            jobs.wait(jobs.start(GcParameters(dry_run=True)), timeout=60)
        runs, total = jobs.history(0, 10)
        assert total == 3 and all(r.status == "Success" for r in runs)
    finally:
        jobs.close()
        registry.close()
