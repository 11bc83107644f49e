"""Deliveries leased to a process that is gone are taken over at once, not after the lease:
each claiming queue holds a liveness lock (a ``flock`` next to SQLite, a session advisory
lock in PostgreSQL) that its process's death frees; another queue claiming at the same
moment takes the rows whose owner's lock is free, and leaves alone those of a live owner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra.postgres import engine_database, reopen
from _infra.webhook_sink import WebhookReceiver
from dockyard.registry.metadata import Database
from dockyard.registry.webhooks import DeliveryQueue, DeliveryWorker
from dockyard.registry.webhooks._queue import NewTask, enqueue

NOW = 1_000_000.0


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = engine_database(request, request.param, tmp_path / "registry.db")
    yield database
    database.close()


@pytest.mark.slow
def test_rows_of_a_dead_owner_are_taken_over_at_once_a_live_ones_are_not(db: Database) -> None:
    other = reopen(db)  # a second process's connections
    first, second = DeliveryQueue(db), DeliveryQueue(other)
    with WebhookReceiver() as receiver:
        item = NewTask(receiver.url, b'{"n":1}', {"Content-Type": "application/json"})
        with db.write() as conn:
            enqueue(conn, policy_id=7, endpoint="", event_type="PUSH_ARTIFACT",
                    items=[item] * 3, now=NOW)  # fmt: skip
        held = first.claim(NOW)
        assert len(held) == 3
        assert second.claim(NOW + 1) == []  # its owner lives: the lease holds
        first.close()  # what the owner's death does: its liveness lock is free
        again = second.claim(NOW + 1)  # long before the lease runs out
        assert sorted(d.id for d in again) == sorted(d.id for d in held)
        DeliveryWorker(second, clock=lambda: NOW + 2).deliver(again)
        assert len(receiver.received) == 3
        # the dead owner's late outcome is not recorded over the new one
        first.finish(held[0], ok=False, message="late", line="late", now=NOW + 3, retry_at=None)
        assert second.counts() == {"Success": 3}
    second.close()
    other.close()
