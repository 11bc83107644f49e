"""The leased queue over a table of its own (not a feature's): claims by several processes at
once never share a task, a killed owner's tasks are taken over at once, failed attempts come
back after their backoff until the attempts are spent, stopping an execution ends its tasks,
and a late outcome of a task taken from its claimer is never recorded. Each on SQLite (a
file) and on a real PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra.cluster_jobs import wait_until
from _infra.job_queue import NOW, add_tasks, claiming_process, metadata, open_queue, work
from _infra.postgres import engine_database, reopen
from dockyard.registry.jobs import (
    ERROR,
    PENDING,
    RUNNING,
    STOPPED,
    SUCCESS,
    Outcome,
    execution_status,
    next_wait,
    retry_delay,
)
from dockyard.registry.metadata import Database


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = engine_database(request, request.param, tmp_path / "registry.db")
    database.create_tables(metadata)
    with database.write() as conn:
        conn.execute(work.delete())
    yield database
    database.close()


def _url(db: Database) -> str:
    return db.engine.url.render_as_string(hide_password=False) if db.is_postgresql else db.where


def test_two_processes_claiming_at_once_never_get_the_same_task(db: Database) -> None:
    add_tasks(db, 60)
    other = reopen(db)  # a second process's connections
    queues = [open_queue(db), open_queue(other)]
    claimed: list[list[int]] = [[], []]
    start = threading.Barrier(2)

    def drain(n: int) -> None:
        start.wait()
        while found := queues[n].claim(NOW, limit=4):
            claimed[n] += [c.id for c in found]
            queues[n].finish([Outcome(c, True, "ok", "done\n", None) for c in found], NOW)

    threads = [threading.Thread(target=drain, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    everything = claimed[0] + claimed[1]
    assert sorted(everything) == sorted(set(everything)) and len(everything) == 60
    assert queues[0].counts() == {SUCCESS: 60}
    rows, total = queues[0].page(1, size=100)
    assert total == 60 and {r.run_count for r in rows} == {1}
    for q in queues:
        q.close()
    other.close()


@pytest.mark.slow
def test_a_killed_owners_tasks_are_taken_over_at_once(db: Database) -> None:
    add_tasks(db, 3)
    mine = open_queue(db)
    with claiming_process(_url(db)) as (count, owner):
        assert count == 3
        assert mine.claim(NOW + 1) == []  # its owner lives: the lease holds
    # killed: taken over long before the lease runs out
    taken = wait_until(lambda: mine.claim(NOW + 2, limit=10), 15)
    assert len(taken) == 3 and all(not c.lease.startswith(owner) for c in taken)
    assert all(c.run_count == 0 for c in taken)  # the dead owner's attempt never counted
    mine.close()


def test_without_liveness_a_dead_owners_tasks_wait_for_the_lease(db: Database) -> None:
    add_tasks(db, 1)
    first, second = open_queue(db, owners=None), open_queue(reopen(db), owners=None)
    (held,) = first.claim(NOW)
    assert second.claim(NOW + 59) == []
    (taken,) = second.claim(NOW + 61)  # the lease ran out
    assert taken.id == held.id and taken.lease != held.lease
    assert not first.renew(held, NOW + 62)  # no longer ours
    assert second.renew(taken, NOW + 62)
    first.finish([Outcome(held, True, "late", "late\n", None)], NOW + 63)  # not recorded
    assert second.counts() == {RUNNING: 1}
    second.db.close()


def test_failed_attempts_come_back_after_their_backoff_until_spent(db: Database) -> None:
    add_tasks(db, 1, attempts=3)
    q = open_queue(db, log_chars=40)
    now = NOW
    for attempt in (1, 2, 3):
        (claim,) = q.claim(now)
        assert claim.run_count == attempt - 1
        wait = next_wait(attempt, 3, 2.0, lambda: 1.0, 600.0)
        retry_at = None if wait is None else now + wait
        q.finish([Outcome(claim, False, "down", f"attempt {attempt} failed\n", retry_at)], now)
        if retry_at is None:
            break
        assert wait == 2.0 * 2 ** (attempt - 1)  # doubles: 2 s, then 4 s
        assert q.claim(retry_at - 0.5) == []  # not due before its next attempt
        now = retry_at
    assert attempt == 3 and q.counts() == {ERROR: 1}
    (row,) = q.page(1)[0]
    assert (row.status_message, row.run_count) == ("down", 3)
    assert len(row.log) == 40 and row.log.endswith("attempt 3 failed\n")  # the newest kept
    assert row.end_time == now and row.start_time == NOW
    q.close()


def test_the_backoff_doubles_up_to_its_ceiling_with_jitter() -> None:
    assert [retry_delay(1.0, n, 1.0, 600.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert retry_delay(1.0, 4, 0.0, 600.0) == 4.0  # jitter halves at most
    assert retry_delay(1.0, 10_000, 1.0, 600.0) == 600.0  # bounded, no overflow
    drawn: list[int] = []

    def jitter() -> float:
        drawn.append(1)
        return 0.5

    assert next_wait(3, 3, 1.0, jitter, 600.0) is None and drawn == []  # spent: no draw
    assert next_wait(2, 3, 1.0, jitter, 600.0) == 1.5 and drawn == [1]


def test_released_tasks_are_due_at_once_resumed_ones_too(db: Database) -> None:
    add_tasks(db, 2)
    q = open_queue(db)
    first, second = q.claim(NOW, limit=2)
    q.release([first], NOW + 1)  # a stopping worker: not attempted, not counted
    q.finish([Outcome(second, False, "down", "x\n", NOW + 500)], NOW + 1)
    (again,) = q.claim(NOW + 1)
    assert again.id == first.id and again.run_count == 0
    assert q.claim(NOW + 2) == []
    assert q.resume(NOW + 2) == 1  # a registry starting: the waiting one is due now
    (resumed,) = q.claim(NOW + 2)
    assert resumed.id == second.id and resumed.run_count == 1
    q.close()


def test_stopping_an_execution_ends_its_tasks_and_ignores_a_late_outcome(db: Database) -> None:
    add_tasks(db, 3, execution=1)
    add_tasks(db, 1, execution=2)
    q = open_queue(db)
    (running,) = q.claim(NOW)  # the oldest: one of execution 1's
    assert q.stop(1, NOW + 1) == 3
    q.finish([Outcome(running, True, "copied", "late\n", None)], NOW + 2)  # not recorded
    assert q.counts() == {STOPPED: 3, PENDING: 1}
    (other,) = q.claim(NOW + 3, limit=10)  # only execution 2's is left to claim
    assert other.row.execution_id == 2
    with db.read() as conn:
        found = q.summaries(conn, [1, 2])
    assert found[1] == ({STOPPED: 3}, NOW + 1)
    assert execution_status(found[1][0]) == STOPPED
    assert execution_status(found[2][0]) == RUNNING
    assert execution_status({PENDING: 2}, waiting=PENDING) == PENDING
    assert execution_status({PENDING: 1, SUCCESS: 1}, waiting=PENDING) == RUNNING
    assert execution_status({SUCCESS: 1, ERROR: 1}) == ERROR
    assert execution_status({}) == SUCCESS
    assert q.row(2, running.id) is None and q.row(1, running.id) is not None
    q.close()


def test_a_claim_lease_covers_its_tasks_timeouts(db: Database) -> None:
    add_tasks(db, 20)  # 20 tasks of 5 s each: 100 s, more than the 60 s lease
    q = open_queue(db, attempt_seconds="timeout")
    claimed = q.claim(NOW, limit=20)
    assert {c.row.lease_until for c in claimed} == {NOW + 30.0 + 100.0}
    q.close()
