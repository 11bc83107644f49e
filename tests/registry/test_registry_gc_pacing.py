"""The collector's pacing: batches sized by the time they hold the write lock, and pauses that
let writers waiting for the lock (pushes) go first."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from dockyard.registry import _gc
from dockyard.registry._gc import _Pacer
from dockyard.registry.metadata import Database


def _until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` every 5 ms for at most 30 s (a bound, not a measurement)."""
    gave_up = threading.Event()
    timer = threading.Timer(30, gave_up.set)
    timer.start()
    try:
        while not condition():
            assert not gave_up.wait(0.005), f"never: {what}"
    finally:
        timer.cancel()


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(tmp_path / "registry.db")


def test_a_batch_is_sized_by_the_time_it_held_the_lock(db: Database) -> None:
    pacer = _Pacer(db, threading.Event())
    assert pacer.size == _gc.FIRST_BATCH
    pacer.resize(100, _gc.HOLD * 4)  # four times too long: a quarter as many next time
    assert pacer.size == 25
    pacer.resize(25, _gc.HOLD / 100)  # far quicker: at most twice as many
    assert pacer.size == 50
    pacer.resize(50, 1000.0)  # a stalled transaction: the smallest batch, not zero
    assert pacer.size == _gc.MIN_BATCH
    for _ in range(20):
        pacer.resize(pacer.size, 0.0)
    assert pacer.size == _gc.MAX_BATCH
    assert [len(b) for b in pacer.batches(list(range(1200)))] == [500, 500, 200]


def test_batches_follow_the_size_chosen_after_each_one(db: Database) -> None:
    pacer = _Pacer(db, threading.Event())
    pacer.size = 10
    seen = []
    for batch in pacer.batches(list(range(45))):
        seen.append(batch)
        pacer.size = 20
    assert [len(b) for b in seen] == [10, 20, 15]
    assert [x for b in seen for x in b] == list(range(45))


def test_the_collector_waits_while_a_writer_waits_for_the_lock(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a batch the collector does not start the next one while another writer waits for
    the write lock; once that writer has had its turn, it goes on, and runs slower for a while
    (it knows the lock is contended)."""
    monkeypatch.setattr(_gc, "MAX_YIELD", 60.0)
    pacer = _Pacer(db, threading.Event())
    release = threading.Event()
    holding = threading.Event()
    wrote = threading.Event()

    def holder() -> None:
        with db.write():
            holding.set()
            release.wait(30)

    def writer() -> None:
        with db.write() as conn:
            conn.execute(text("INSERT INTO registry_state (key, value) VALUES ('push', 1)"))
        wrote.set()

    paced = threading.Event()

    def collector() -> None:
        pacer.after(10, 0.0)
        paced.set()

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    assert holding.wait(30)
    threads.append(threading.Thread(target=writer))
    threads[1].start()
    _until(db.writers_waiting, "the writer waits for the lock")
    threads.append(threading.Thread(target=collector))
    threads[2].start()
    assert not paced.wait(0.3), "the collector went on while a writer was waiting"
    release.set()
    for t in threads:
        t.join(30)
    assert wrote.is_set() and paced.is_set()
    assert pacer.contended_until > 0


def test_a_stopped_collector_does_not_pause(db: Database) -> None:
    """A stop (the API's "stop this run") ends the pause at once: a batch that held the lock
    for an hour would otherwise pause for hours."""
    stop = threading.Event()
    pacer = _Pacer(db, stop)
    thread = threading.Thread(target=pacer.after, args=(10, 3600.0))
    thread.start()
    stop.set()
    thread.join(30)
    assert not thread.is_alive()
