"""Runs held across machines: on PostgreSQL a run's lock is a session advisory lock, so a
replica can tell a live holder (another process, another connection) from a dead one — a
holder killed with SIGKILL frees its run within seconds, without any timeout of dockyard's."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from dockyard.registry._run_locks import RunLocks
from dockyard.registry.metadata import Database

pytestmark = pytest.mark.slow

_HOLDER = """
import sys, time
from dockyard.registry._run_locks import RunLocks
from dockyard.registry.metadata import Database
held = RunLocks(Database(sys.argv[1]), "retention").hold(7)
print("held", flush=True)
time.sleep(600)
"""


def test_a_live_holder_keeps_its_run_and_a_killed_one_frees_it(postgres_url: str) -> None:
    db = Database(postgres_url)
    locks = RunLocks(db, "retention")
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, postgres_url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert locks.abandoned(7) is False
        assert locks.abandoned(8) is True  # nobody holds run 8
        assert RunLocks(db, "gc").abandoned(7) is True  # another kind, another key
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    deadline = time.monotonic() + 15
    while locks.abandoned(7) is not True:
        assert time.monotonic() < deadline, "the dead holder's lock outlived it"
        time.sleep(0.1)
    db.close()


def test_release_frees_the_run_for_other_sessions(postgres_url: str) -> None:
    db = Database(postgres_url)
    mine, theirs = RunLocks(db, "gc"), RunLocks(db, "gc")
    held = mine.hold(3)
    assert mine.abandoned(3) is False
    assert theirs.abandoned(3) is False  # another session of the same engine sees it held
    held.release()
    assert theirs.abandoned(3) is True
    db.close()
