"""The delivery queue and worker against a real local HTTP receiver, with an injected clock:
failures are retried after exponentially growing waits (with jitter), a delivery that runs
out of attempts is marked failed and kept in the log, and two workers sharing the database
never deliver the same row twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra.postgres import engine_database, reopen
from _infra.webhook_sink import WebhookReceiver
from dockyard.registry.metadata import Database
from dockyard.registry.webhooks import (
    DISTRIBUTION_EVENTS,
    DeliveryQueue,
    DeliveryWorker,
    retry_delay,
)
from dockyard.registry.webhooks._queue import NewTask, enqueue


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = engine_database(request, request.param, tmp_path / "registry.db")
    yield database
    database.close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as r:
        yield r


def queue_one(queue: DeliveryQueue, address: str, now: float, **kw: float) -> int:
    item = NewTask(address, b'{"n":1}', {"Content-Type": "application/json"},
                   timeout=5.0, max_attempts=int(kw.get("attempts", 4)),
                   backoff=kw.get("backoff", 10.0))  # fmt: skip
    with queue.db.write() as conn:
        return enqueue(conn, policy_id=7, endpoint="", event_type="PUSH_ARTIFACT",
                       items=[item], now=now)  # fmt: skip


def test_failures_are_retried_with_exponential_backoff_then_succeed(
    db: Database, receiver: WebhookReceiver
) -> None:
    clock = Clock()
    queue = DeliveryQueue(db)
    worker = DeliveryWorker(queue, clock=clock, jitter=lambda: 1.0)  # no jitter: full waits
    execution = queue_one(queue, receiver.url, clock.now)
    receiver.statuses.extend([500, 503])
    assert worker.run_once() == 1  # attempt 1: 500
    assert receiver.received == []
    clock.now += 9.9
    assert worker.run_once() == 0  # not due before 10 s
    clock.now += 0.1
    assert worker.run_once() == 1  # attempt 2: 503, next wait 20 s
    clock.now += 19.9
    assert worker.run_once() == 0
    clock.now += 0.1
    assert worker.run_once() == 1  # attempt 3: delivered
    assert [r.body for r in receiver.received] == [b'{"n":1}']
    clock.now += 10_000
    assert worker.run_once() == 0  # done: never again
    [task] = queue.tasks(execution)[0]
    assert task.status == "Success" and task.run_count == 3
    lines = task.log.splitlines()
    assert "-> 500 Internal Server Error" in lines[0] and "next attempt in 10.0 s" in lines[0]
    assert "-> 503 Service Unavailable" in lines[1] and "next attempt in 20.0 s" in lines[1]
    assert "-> 204 No Content" in lines[2]
    [execution_info], total = queue.executions(7)
    assert total == 1 and execution_info.status == "Success"


def test_jitter_scales_the_wait_between_half_and_all_of_it() -> None:
    assert retry_delay(2.0, 1, 0.0) == 1.0
    assert retry_delay(2.0, 1, 1.0) == 2.0
    assert retry_delay(2.0, 4, 0.5) == pytest.approx(16.0 * 0.75)
    assert retry_delay(2.0, 40, 1.0) == 3600.0  # bounded


def test_a_delivery_out_of_attempts_is_marked_failed_and_kept_in_the_log(
    db: Database, receiver: WebhookReceiver
) -> None:
    clock = Clock()
    queue = DeliveryQueue(db)
    worker = DeliveryWorker(queue, clock=clock, jitter=lambda: 0.0)
    receiver.stop()  # nobody listens: connection refused
    execution = queue_one(queue, receiver.url, clock.now, attempts=3, backoff=4.0)
    for wait in (0.0, 2.0, 4.0):  # jitter 0: half of 4 s, then of 8 s
        clock.now += wait
        assert worker.run_once() == 1
    clock.now += 10_000
    assert worker.run_once() == 0
    [task] = queue.tasks(execution)[0]
    assert task.status == "Error" and task.run_count == 3
    assert "ConnectError" in task.status_message
    assert task.log.count("\n") == 3 and "no attempts left, marked failed" in task.log
    [info], _ = queue.executions(7)
    assert info.status == "Error" and info.counts == {"Error": 1}


def test_two_workers_sharing_the_database_deliver_each_row_once(
    db: Database, receiver: WebhookReceiver
) -> None:
    clock = Clock()
    other = reopen(db)  # a second process's
    first, second = DeliveryQueue(db), DeliveryQueue(other)
    for _ in range(10):
        queue_one(first, receiver.url, clock.now)
    a = first.claim(clock.now, limit=6)
    b = second.claim(clock.now, limit=6)
    assert len(a) == 6 and len(b) == 4
    assert not {d.id for d in a} & {d.id for d in b}
    assert first.claim(clock.now) == [] and second.claim(clock.now) == []
    # a worker that died holding rows: they are due again once the lease runs out
    clock.now += first.lease + 1
    again = second.claim(clock.now, limit=20)
    assert {d.id for d in again} == {d.id for d in a} | {d.id for d in b}
    # the first claim's token no longer holds them: its late outcome is not recorded
    first.finish(a[0], ok=True, message="late", line="late", now=clock.now, retry_at=None)
    assert queue_counts(first) == {"Running": 10}
    DeliveryWorker(second, clock=clock).deliver(again)
    assert len(receiver.received) == 10
    assert queue_counts(first) == {"Success": 10}
    other.close()


def queue_counts(queue: DeliveryQueue) -> dict[str, int]:
    return queue.counts()


def test_envelopes_to_one_endpoint_go_together(db: Database, receiver: WebhookReceiver) -> None:
    clock = Clock()
    queue = DeliveryQueue(db)
    headers = {"Content-Type": DISTRIBUTION_EVENTS, "Authorization": "Bearer t"}
    with db.write() as conn:
        for n in range(3):
            item = NewTask(receiver.url, b'{"events":[{"n":%d}]}' % n, headers, timeout=5.0)
            enqueue(conn, policy_id=0, endpoint="listener", event_type="PUSH_ARTIFACT",
                    items=[item], now=clock.now)  # fmt: skip
    assert DeliveryWorker(queue, clock=clock).run_once() == 3
    [got] = receiver.received
    assert got.json() == {"events": [{"n": 0}, {"n": 1}, {"n": 2}]}
    assert queue.counts() == {"Success": 3}
