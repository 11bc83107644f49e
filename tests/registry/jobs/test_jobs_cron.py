"""Cron schedules fired once per due time (Harbor's 6-field crons and the classic 5-field
ones), and the threads behind schedules and queue workers: a failing step or round is logged
and the thread goes on; a database outage is not logged again; a wake starts a round at once."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

import pytest

from dockyard.errors import Unavailable
from dockyard.registry.jobs import CronSchedule, PollLoop, Ticker, fire_due, next_fire, valid_cron

MIDNIGHT = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
DAY = 86400.0
log = logging.getLogger("tests.jobs.cron")


def test_next_fire_reads_harbors_six_fields_and_the_classic_five() -> None:
    assert next_fire("0 0 0 * * *", MIDNIGHT) == MIDNIGHT + DAY  # after, never at
    assert next_fire("30 * * * * *", MIDNIGHT) == MIDNIGHT + 30  # seconds first
    assert next_fire("*/5 * * * * *", MIDNIGHT + 1) == MIDNIGHT + 5
    assert next_fire("30 2 * * *", MIDNIGHT) == MIDNIGHT + 2 * 3600 + 30 * 60  # minute first
    assert next_fire("0 0 3 * * *", MIDNIGHT - 0.5) == MIDNIGHT + 3 * 3600  # in UTC


def test_valid_cron_counts_the_fields() -> None:
    assert valid_cron("0 0 2 * * *") and not valid_cron("0 2 * * *")
    assert valid_cron("0 2 * * *", fields=5) and not valid_cron("0 0 2 * * *", fields=5)
    assert not valid_cron("0 0 25 * * *") and not valid_cron("every day")
    assert not valid_cron("0 0 2 * * *", fields=7)


def test_each_firing_is_claimed_once_across_processes() -> None:
    claimed: set[tuple[str, float]] = set()
    lock = threading.Lock()

    def claim(key: str, fire: float) -> bool:  # what a compare-and-set in the database does
        with lock:
            if (key, fire) in claimed:
                return False
            claimed.add((key, fire))
            return True

    starts: list[str] = []
    clock = [MIDNIGHT - 10]
    replicas = [
        CronSchedule(
            lambda: [("hourly", "0 0 * * * *"), ("daily", "0 0 0 * * *")], claim, starts.append,
            clock=lambda: clock[0], tick=5.0, name="test-schedule", log=log, failure="failed",
        )
        for _ in range(3)
    ]  # fmt: skip
    for replica in replicas:
        assert replica.run_due(MIDNIGHT - 1) == []  # nothing due yet
    for replica in replicas:
        replica.run_due(MIDNIGHT + 3)
    assert sorted(starts) == ["daily", "hourly"]  # one start per firing, by one replica
    for replica in replicas:
        replica.run_due(MIDNIGHT + 3600 + 3)
    assert sorted(starts) == ["daily", "hourly", "hourly"]
    # a lazy walk: a schedule's firing is claimed only once the one before it started
    walked = fire_due([("a", "* * * * * *"), ("b", "* * * * * *")], 0.0, 10.0, claim)
    assert next(walked) == "a" and ("b", 1.0) not in claimed


def test_a_schedule_looks_again_after_a_failed_start(caplog: pytest.LogCaptureFixture) -> None:
    looked = threading.Semaphore(0)
    failures = iter([RuntimeError("boom"), Unavailable("the database is out"), None])

    def step() -> None:
        looked.release()
        failure = next(failures, None)
        if failure is not None:
            raise failure

    ticker = Ticker(step, tick=0.01, name="test-ticker", log=log, failure="test: cannot look")
    with caplog.at_level(logging.ERROR, logger=log.name):
        ticker.start()
        for _ in range(3):
            assert looked.acquire(timeout=10)
        ticker.close()
    logged = [r.getMessage() for r in caplog.records if r.name == log.name]
    assert logged == ["test: cannot look"]  # the outage is not logged again


def test_a_worker_round_starts_at_a_wake_and_survives_a_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rounds = threading.Semaphore(0)
    calls: list[int] = []

    def round() -> int:
        calls.append(1)
        rounds.release()
        if len(calls) == 1:
            raise RuntimeError("boom")
        return 0

    loop = PollLoop(round, names=("test-worker",), poll=3600.0, log=log, what="test")
    with caplog.at_level(logging.ERROR, logger=log.name):
        loop.start()
        assert rounds.acquire(timeout=10)  # the first round fails, then it waits an hour
        loop.wake()  # something was queued
        assert rounds.acquire(timeout=10)
        loop.close(timeout=10)
    assert loop.stopping.is_set()
    assert [r.getMessage() for r in caplog.records if r.name == log.name] == [
        "test round failed; trying again in 3600 s"
    ]
