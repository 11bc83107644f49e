"""A leased queue over a table of the tests' own (not a feature's), for the tests of
:mod:`dockyard.registry.jobs`: the queue's columns and one of the "feature's" (``item``,
``timeout``), so that a test proves the queue works on whatever table it is given."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text

from dockyard.registry.jobs import LeasedQueue, new_task
from dockyard.registry.metadata import Database

__all__ = ["NOW", "add_tasks", "claiming_process", "metadata", "open_queue", "work"]

#: The tests' "now" (epoch seconds).
NOW = 1_000_000.0

metadata = MetaData()
work = Table(
    "jobs_test_tasks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("execution_id", Integer, nullable=False),
    Column("item", String(64), nullable=False),
    Column("timeout", Float, nullable=False, default=5.0),
    Column("max_attempts", Integer, nullable=False),
    Column("backoff", Float, nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_message", String(1024), nullable=False),
    Column("run_count", Integer, nullable=False),
    Column("next_time", Float, nullable=False),
    Column("lease_owner", String(64), nullable=False),
    Column("lease_until", Float, nullable=False),
    Column("log", Text, nullable=False),
    Column("creation_time", Float, nullable=False),
    Column("update_time", Float, nullable=False),
    Column("start_time", Float, nullable=False),
    Column("end_time", Float, nullable=False),
)


def open_queue(db: Database, **options: Any) -> LeasedQueue:
    """A queue over ``work`` (created when missing): a 60 s lease, owners' liveness on;
    ``options`` override :class:`LeasedQueue`'s."""
    db.create_tables(metadata)
    settings: dict[str, Any] = {"lease": 60.0, "owners": "jobs-test-owner"}
    settings.update(options)
    return LeasedQueue(db, work, what="test tasks", log=logging.getLogger("tests.jobs"),
                       **settings)  # fmt: skip


def add_tasks(db: Database, count: int, *, execution: int = 1, attempts: int = 3) -> None:
    """``count`` tasks of ``execution``, due at ``NOW``, with a 2 s backoff."""
    rows = [
        {"execution_id": execution, "item": f"item-{n}", "max_attempts": attempts,
         "backoff": 2.0, **new_task(NOW)}
        for n in range(count)
    ]  # fmt: skip
    with db.write() as conn:
        conn.execute(work.insert(), rows)


_CLAIMER = """
import sys, time
from _infra.job_queue import NOW, open_queue
from dockyard.registry.metadata import Database
queue = open_queue(Database(sys.argv[1]))
print(len(queue.claim(NOW, limit=int(sys.argv[2]))), queue.owner, flush=True)
time.sleep(600)
"""


@contextmanager
def claiming_process(url: str, limit: int = 10) -> Iterator[tuple[int, str]]:
    """Another process that claims up to ``limit`` tasks of ``open_queue`` on the database
    at ``url`` at ``NOW`` and holds them: how many it claimed and its owner name. Killed
    (SIGKILL: no chance to give anything back) when the block ends."""
    tests = Path(__file__).parents[1]
    process = subprocess.Popen(
        [sys.executable, "-c", _CLAIMER, url, str(limit)], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(tests)},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        count, owner = process.stdout.readline().split()
        yield int(count), owner
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
