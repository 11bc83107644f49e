"""distribution's ``registry_notifications_*`` families (distribution 3's names, types, label
names and help) on the debug address of a registry with two worker processes and a
``notifications.endpoints`` entry pointing at a real local receiver: events counted per
type, statuses per code (200, 204, and 500 from a receiver told to fail), errors while the
receiver is down; the pending gauge read from the delivery queue, so it is right whichever
worker queued or delivers, and after the registry restarts with a delivery still waiting;
back to 0 once the receiver recovers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from _infra.postgres import engine_database
from _infra.registry_server import free_port, push_image, start_registry
from _infra.webhook_sink import WebhookReceiver
from dockyard.registry.metadata import Database
from dockyard.registry.metrics import MetricsRegistry
from dockyard.registry.webhooks import DeliveryQueue, DeliveryWorker
from dockyard.registry.webhooks._metrics import NotificationMetrics, status_text
from dockyard.registry.webhooks._queue import NewTask, enqueue, enqueue_tasks

CONFIG = """\
version: 0.1
notifications:
  endpoints:
    - name: listener
      url: {url}/events
      timeout: 1s
      threshold: 20
      backoff: 1s
"""

EVENTS = "registry_notifications_events_total"
STATUS = "registry_notifications_status_total"
PENDING = "registry_notifications_pending_total"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _scrape(debug: str) -> tuple[str, Samples]:
    # the debug server is worker 0's: another worker may answer /v2/ a moment before it listens
    deadline = time.monotonic() + 30
    while True:
        try:
            text = httpx.get(f"http://{debug}/metrics").text
            break
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    return text, samples


def events(samples: Samples, kind: str) -> float:
    return samples.get((EVENTS, (("endpoint", "listener"), ("type", kind))), 0.0)


def status(samples: Samples, code: str) -> float:
    return samples.get((STATUS, (("code", code), ("endpoint", "listener"))), 0.0)


def pending(samples: Samples) -> float | None:
    return samples.get((PENDING, (("endpoint", "listener"),)))


def _until(debug: str, what: str, check: Callable[[Samples], bool], timeout: float = 30) -> Samples:
    """The first scrape for which ``check`` holds (other workers' counts are at most 0.5 s
    old on the page); fails with the last scrape after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        text, samples = _scrape(debug)
        if check(samples):
            return samples
        if time.monotonic() > deadline:
            found = [line for line in text.splitlines() if "notifications" in line]
            raise AssertionError(f"not seen within {timeout} s: {what}\n" + "\n".join(found))
        time.sleep(0.05)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as r:
        yield r


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = engine_database(request, request.param, tmp_path / "registry.db")
    yield database
    database.close()


def test_status_codes_are_written_as_distribution_writes_them() -> None:
    assert status_text(200) == "200 OK"
    assert status_text(204) == "204 No Content"
    assert status_text(500) == "500 Internal Server Error"
    assert status_text(599) == "599 "  # Go's StatusText is empty for an unknown code


def test_pending_is_the_queues_undelivered_events_per_endpoint_read_once_per_scrape(
    db: Database, receiver: WebhookReceiver
) -> None:
    queue = DeliveryQueue(db)
    registry = MetricsRegistry()
    counted = NotificationMetrics(registry, queue, ["a", "b", "idle"])
    url = f"{receiver.url}/events"
    nobody = f"http://127.0.0.1:{free_port()}/events"  # refused: no answer
    rows = [
        NewTask(url, b"{}", {}, endpoint="a", events=3, backoff=60.0),
        NewTask(url, b"{}", {}, endpoint="a", events=2, backoff=60.0),
        NewTask(nobody, b"{}", {}, endpoint="b", events=1, backoff=60.0),
    ]
    with db.write() as conn:
        enqueue_tasks(conn, [(0, r) for r in rows], 1000.0)
        # a webhook policy's delivery is no endpoint's
        enqueue(conn, policy_id=7, endpoint="", event_type="PUSH_ARTIFACT",
                items=[NewTask(url, b"{}", {})], now=1000.0)  # fmt: skip
    counted.queued(rows)

    def scrape(others: int = 0) -> Samples:
        snapshot = registry.snapshot()  # what another worker process would hand over
        text = registry.render([snapshot] * others).decode()
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
        }

    first = scrape()
    assert {k[1]: v for k, v in first.items() if k[0] == PENDING} == {
        (("endpoint", "a"),): 5.0, (("endpoint", "b"),): 1.0, (("endpoint", "idle"),): 0.0,
    }  # fmt: skip
    assert first[(EVENTS, (("endpoint", "a"), ("type", "Events")))] == 5
    # two other workers: their counters add up, the queue is read once, not once per worker
    three = scrape(others=2)
    assert three[(EVENTS, (("endpoint", "a"), ("type", "Events")))] == 15
    assert three[(PENDING, (("endpoint", "a"),))] == 5
    assert registry.snapshot()[PENDING] == []  # nothing of it is handed to other processes

    # one delivery round: a's two deliveries answered 204, b's refused
    worker = DeliveryWorker(queue, clock=lambda: 1000.0, jitter=lambda: 1.0)
    worker.metrics = counted
    try:
        assert worker.run_once() == 4  # the policy's delivery too, not counted
    finally:
        worker.close()
    after = scrape()
    assert {k: v for k, v in after.items() if k[0] in (STATUS, EVENTS)} == {
        (EVENTS, (("endpoint", "a"), ("type", "Events"))): 5,
        (EVENTS, (("endpoint", "b"), ("type", "Events"))): 1,
        (EVENTS, (("endpoint", "a"), ("type", "Successes"))): 5,  # events, not requests
        (EVENTS, (("endpoint", "b"), ("type", "Errors"))): 1,
        (STATUS, (("code", "204 No Content"), ("endpoint", "a"))): 5,
    }
    assert after[(PENDING, (("endpoint", "a"),))] == 0
    assert after[(PENDING, (("endpoint", "b"),))] == 1  # retried in 60 s
    assert len(receiver.received) == 3


@pytest.mark.slow
def test_notification_metrics_count_deliveries_and_read_pending_from_the_queue(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    config = tmp_path / "config.yml"
    config.write_text(CONFIG.format(url=receiver.url))
    debug = f"127.0.0.1:{free_port()}"
    env = {"REGISTRY_HTTP_DEBUG_ADDR": debug}
    root = tmp_path / "data"
    with start_registry(root, "--workers", "2", str(config), env=env) as server:
        text, before = _scrape(debug)
        # the families as distribution 3 declares them (notifications/metrics.go)
        families = {f.name: f for f in text_string_to_metric_families(text)}
        assert families["registry_notifications_events"].type == "counter"
        assert families["registry_notifications_events"].documentation == (
            "The number of total events"
        )
        assert families["registry_notifications_status"].type == "counter"
        assert families["registry_notifications_status"].documentation == (
            "The number of status code"
        )
        assert families[PENDING].type == "gauge"
        assert families[PENDING].documentation == "The gauge of pending events in queue"
        assert pending(before) == 0  # the configured endpoint, nothing queued yet
        assert events(before, "Events") == 0

        # a push answered 200, a pull answered 204 (the receiver's default)
        receiver.statuses.extend([200])
        with httpx.Client(base_url=server.url) as client:
            push_image(client, "team/app", "v1")
            receiver.wait_for(1)
            assert client.get("/v2/team/app/manifests/v1").status_code == 200
            receiver.wait_for(2)
        done = _until(
            debug,
            "2 events queued and delivered (200, 204)",
            lambda s: events(s, "Successes") == 2 and events(s, "Events") == 2,
        )
        assert status(done, "200 OK") == 1
        assert status(done, "204 No Content") == 1
        assert events(done, "Failures") == events(done, "Errors") == 0
        assert pending(done) == 0
        assert [e["action"] for r in receiver.received for e in r.json()["events"]] == [
            "push",
            "pull",
        ]

        # the receiver fails twice (500): two failures of one event, pending while it waits
        receiver.statuses.extend([500, 500])
        with httpx.Client(base_url=server.url) as client:
            push_image(client, "team/app", "v2")
        waiting = _until(
            debug,
            "a failed delivery pending",
            lambda s: events(s, "Failures") >= 1 and pending(s) == 1,
        )
        assert events(waiting, "Events") == 3
        assert events(waiting, "Successes") == 2
        recovered = _until(
            debug,
            "the failed delivery delivered",
            lambda s: events(s, "Successes") == 3 and pending(s) == 0,
        )
        assert events(recovered, "Failures") == 2
        assert status(recovered, "500 Internal Server Error") == 2
        assert status(recovered, "204 No Content") == 2
        assert events(recovered, "Errors") == 0

        # the receiver down: errors (no answer, no status), the event pending
        receiver.stop()
        with httpx.Client(base_url=server.url) as client:
            push_image(client, "team/app", "v3")
        down = _until(
            debug,
            "an unanswered delivery pending",
            lambda s: events(s, "Errors") >= 1 and pending(s) == 1,
        )
        assert events(down, "Events") == 4
        assert sum(v for (name, _), v in down.items() if name == STATUS) == 5  # no new code
    # a restart with the delivery still queued: the new processes count it pending at once
    with start_registry(root, "--workers", "2", str(config), env=env) as server:
        _, restarted = _scrape(debug)
        assert pending(restarted) == 1
        assert events(restarted, "Events") == 0  # counters start again, as distribution's
        receiver.start()
        back = _until(
            debug,
            "the waiting delivery delivered after the restart",
            lambda s: pending(s) == 0 and events(s, "Successes") == 1,
        )
        assert status(back, "204 No Content") == 1
    actions = [e["action"] for r in receiver.received for e in r.json()["events"]]
    assert actions == ["push", "pull", "push", "push"]
