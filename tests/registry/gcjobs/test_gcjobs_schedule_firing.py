"""A GC schedule's firing moves in the transaction that inserts its run: when the insert fails
(a trigger in the database refuses it, as a process dying between the two would leave it) the
firing stays due and runs at the next tick; while another run is active the firing is skipped
(it moves, nothing is inserted, a warning says why). Each on SQLite (a file) and on a real
PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from _infra.postgres import reset
from dockyard.registry import Registry
from dockyard.registry._run_locks import RunLocks
from dockyard.registry.gcjobs import GcJobs, GcParameters
from dockyard.registry.metadata import Database

START = 1_800_000_000.0  # 2027-01-15T08:00:00Z, a multiple of five minutes
EVERY_FIVE_MINUTES = "0 */5 * * * *"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        db = Database(url)
        reset(db)
        db.close()
        reg = Registry.open(tmp_path / "registry", database=url)
    else:
        reg = Registry.open(tmp_path / "registry")
    yield reg
    reg.close()


def _refuse_runs(db: Database) -> None:
    """Make every insert into gc_runs fail inside the database."""
    with db.write() as conn:
        if db.is_postgresql:
            conn.execute(
                text(
                    "CREATE FUNCTION refuse_gc_run() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'injected: no gc run'; END $$"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_gc_run BEFORE INSERT ON gc_runs "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_gc_run()"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_gc_run BEFORE INSERT ON gc_runs "
                    "BEGIN SELECT RAISE(ABORT, 'injected: no gc run'); END"
                )
            )


def _accept_runs(db: Database) -> None:
    with db.write() as conn:
        if db.is_postgresql:
            conn.execute(text("DROP TRIGGER refuse_gc_run ON gc_runs"))
            conn.execute(text("DROP FUNCTION refuse_gc_run()"))
        else:
            conn.execute(text("DROP TRIGGER refuse_gc_run"))


def _fired_at(jobs: GcJobs) -> float:
    schedule = jobs.schedule()
    assert schedule is not None
    return schedule.fired_at


def test_a_failed_insert_leaves_the_firing_due_for_the_next_tick(registry: Registry) -> None:
    clock = Clock(START)
    jobs = GcJobs(registry, clock=clock)
    jobs.set_schedule("Custom", EVERY_FIVE_MINUTES, GcParameters(dry_run=True))
    clock.now += 301  # the 08:05 firing is due
    _refuse_runs(registry.meta.db)
    try:
        with pytest.raises(DBAPIError, match="injected: no gc run"):
            jobs.tick()
        assert _fired_at(jobs) == START  # the firing did not move
        assert jobs.history()[1] == 0
    finally:
        _accept_runs(registry.meta.db)
    clock.now += 1
    run_id = jobs.tick()  # the same firing, at the next tick
    assert run_id is not None
    assert _fired_at(jobs) == clock.now
    run = jobs.wait(run_id, timeout=30)
    assert (run.trigger, run.status) == ("SCHEDULE", "Success")
    assert jobs.tick() is None  # taken once
    jobs.close()


def test_a_firing_while_a_run_is_active_is_skipped_with_a_warning(
    registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(START)
    jobs = GcJobs(registry, clock=clock)
    jobs.set_schedule("Custom", EVERY_FIVE_MINUTES, GcParameters(dry_run=True))
    db = registry.meta.db
    with db.write() as conn:  # another process's run, alive (its lock held)
        conn.execute(
            text(
                "INSERT INTO gc_runs (trigger, status, parameters, log, stop_requested, "
                "created_at, updated_at) VALUES ('MANUAL', 'Running', '{}', '', false, :t, :t)"
            ),
            {"t": START},
        )
        active = int(conn.execute(text("SELECT max(id) FROM gc_runs")).scalar_one())
    held = RunLocks(db, "gc").hold(active)
    try:
        clock.now += 301
        with caplog.at_level(logging.WARNING, logger="dockyard.registry.gc"):
            assert jobs.tick() is None
        assert f"garbage collection {active} is still running" in caplog.text
        assert _fired_at(jobs) == clock.now  # skipped: the firing moved
        assert jobs.history()[1] == 1
        assert jobs.get(active).status == "Running"
    finally:
        held.release()
    jobs.close()
