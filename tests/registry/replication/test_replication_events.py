"""What replication tells when its tasks end, on a real queue database: the counters (by
operation and outcome, bytes by direction, the queue's open tasks), and Harbor's
``REPLICATION`` event sent once when an execution's last task ends — even when two
processes see it end — one per project, with the successful and failed artifacts."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from dockyard.registry.events import REPLICATION, Event
from dockyard.registry.metadata import Database
from dockyard.registry.metrics import MetricsRegistry
from dockyard.registry.replication import (
    DELETE,
    CopyStats,
    NewTask,
    PolicyStore,
    RegistryStore,
    ReplicationMetrics,
    ReplicationQueue,
    TaskObserver,
    load_box,
    policy_from_json,
    registry_from_json,
)


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish(self, event: Event) -> None:
        self.events.append(event)


def test_an_ended_execution_is_told_once_per_project_and_counted(tmp_path: Path) -> None:
    db = Database(tmp_path / "r.db")
    registries = RegistryStore(db, load_box("a key of sixteen chars"))
    endpoint = registries.create(registry_from_json({
        "name": "dr", "url": "http://127.0.0.1:5000",
        "credential": {"access_key": "u", "access_secret": "p"}}))  # fmt: skip
    policies = PolicyStore(db)
    policy = policies.create(policy_from_json(
        {"name": "ship", "dest_registry": {"id": endpoint.id}, "description": "to dr",
         "trigger": {"type": "event_based"}}, creator="admin"))  # fmt: skip
    queue = ReplicationQueue(db, lease=60.0, attempts=2, backoff=1.0)
    items = [NewTask("ship/app", "v1", "ship/app", "v1"), NewTask("ship/app", "v2", "ship/app", "v2"),
             NewTask("dock/web", "sha256:" + "ab" * 32, "dock/web", "", DELETE)]  # fmt: skip
    execution = queue.start(policy.id, "event_based", items, now=100.0)
    recorder = Recorder()
    metrics = MetricsRegistry()
    counters = ReplicationMetrics(metrics)
    # two processes' observers over the same database
    observers = [TaskObserver(db, queue, policies, registries, events=recorder,
                              metrics=counters, clock=lambda: 200.0)
                 for _ in range(2)]  # fmt: skip
    jobs = {j.task.src_reference: j for j in queue.claim(100.0, limit=3)}
    assert len(jobs) == 3
    copied = CopyStats(blobs_copied=2, bytes_copied=1234, manifests_copied=1)
    queue.finish(jobs["v1"], ok=True, message="", log="", now=101.0, retry_at=None)
    observers[0](jobs["v1"], True, False, copied)
    queue.finish(jobs["v2"], ok=False, message="down", log="", now=101.0, retry_at=150.0)
    observers[1](jobs["v2"], False, True, None)
    delete = jobs["sha256:" + "ab" * 32]
    queue.finish(delete, ok=True, message="", log="", now=102.0, retry_at=None)
    observers[1](delete, True, False, CopyStats())
    assert recorder.events == []  # v2 waits for its next attempt
    (again,) = queue.claim(150.0)
    queue.finish(again, ok=False, message="destination down", log="", now=151.0, retry_at=None)
    observers[0](again, False, False, None)
    observers[1].metrics = None  # (counted once above)
    observers[1](again, False, False, None)  # another process sees the end too: told once
    assert queue.execution(execution).status_text == "ended: 1 error, 2 success"
    assert sorted(e.project for e in recorder.events) == ["dock", "ship"]
    ship = next(e for e in recorder.events if e.project == "ship")
    assert (ship.type, ship.repository, ship.operator, ship.occurred_at) == (
        REPLICATION, "", "admin", 200.0)  # fmt: skip
    body = ship.details["replication"]
    assert isinstance(body, dict)
    assert {k: body[k] for k in ("job_status", "trigger_type", "override_mode",
                                  "policy_creator", "execution_id", "description",
                                  "authentication_type", "execution_timestamp")} == {
        "job_status": "Error", "trigger_type": "event_based", "override_mode": True,
        "policy_creator": "admin", "execution_id": execution, "description": "to dr",
        "authentication_type": "basic", "execution_timestamp": 100}  # fmt: skip
    assert body["src_resource"] == {"registry_type": "harbor", "endpoint": "", "namespace": "ship"}
    assert body["dest_resource"] == {"registry_name": "dr", "registry_type": "docker-registry",
                                     "endpoint": "http://127.0.0.1:5000", "namespace": ""}  # fmt: skip
    assert body["successful_artifact"] == [
        {"type": "artifact", "status": "Success", "name_tag": "app:v1", "references": ["v1"]}]  # fmt: skip
    assert body["failed_artifact"] == [
        {"type": "artifact", "status": "Error", "name_tag": "app:v2", "references": ["v2"],
         "fail_reason": "destination down"}]  # fmt: skip
    dock = next(e for e in recorder.events if e.project == "dock").details["replication"]
    assert isinstance(dock, dict)
    assert dock["successful_artifact"][0]["name_tag"] == "web@sha256:" + "ab" * 32

    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(metrics.render().decode())
        for s in f.samples
    }
    tasks = "registry_replication_tasks_total"
    assert samples[(tasks, (("operation", "copy"), ("status", "succeed")))] == 1
    assert samples[(tasks, (("operation", "copy"), ("status", "retried")))] == 1
    assert samples[(tasks, (("operation", "copy"), ("status", "failed")))] == 1
    assert samples[(tasks, (("operation", "delete"), ("status", "succeed")))] == 1
    assert samples[("registry_replication_bytes_total", (("direction", "push"),))] == 1234
    blobs = ("registry_replication_blobs_total", (("direction", "push"), ("how", "copied")))
    assert samples[blobs] == 2
    assert samples[("registry_replication_queue_tasks", (("status", "pending"),))] == 0


def test_an_execution_stopped_by_hand_is_told_once_with_its_status(tmp_path: Path) -> None:
    db = Database(tmp_path / "r.db")
    registries = RegistryStore(db, load_box("a key of sixteen chars"))
    endpoint = registries.create(registry_from_json({"name": "dr", "url": "http://127.0.0.1:5000"}))
    policies = PolicyStore(db)
    policy = policies.create(policy_from_json(
        {"name": "ship", "dest_registry": {"id": endpoint.id}}, creator="admin"))  # fmt: skip
    queue = ReplicationQueue(db, lease=60.0, attempts=2, backoff=1.0)
    items = [
        NewTask("ship/app", "v1", "ship/app", "v1"),
        NewTask("ship/app", "v2", "ship/app", "v2"),
    ]
    execution = queue.start(policy.id, "manual", items, now=100.0)
    recorder = Recorder()
    observer = TaskObserver(db, queue, policies, registries, events=recorder, clock=lambda: 200.0)
    (running,) = queue.claim(100.0)  # one is being copied when the stop comes
    assert queue.stop(execution, 101.0) == 2
    observer.stopped(execution)
    assert queue.execution(execution).status == "Stopped"
    (event,) = recorder.events
    body = event.details["replication"]
    assert isinstance(body, dict)
    assert (event.type, event.project, body["job_status"], body["execution_id"]) == (
        REPLICATION, "ship", "Stopped", execution)  # fmt: skip
    assert sorted((a["name_tag"], a["status"]) for a in body["failed_artifact"]) == [
        ("app:v1", "Stopped"), ("app:v2", "Stopped")]  # fmt: skip
    # the copy that was running ends its attempt late; a second stop stops nothing
    queue.finish(running, ok=True, message="", log="", now=102.0, retry_at=None)
    observer(running, True, False, CopyStats())
    assert queue.stop(execution, 103.0) == 0
    observer.stopped(execution)
    assert len(recorder.events) == 1
    # an execution stopped before any task ran is told too
    other = queue.start(policy.id, "manual", items[:1], now=300.0)
    queue.stop(other, 301.0)
    observer.stopped(other)
    assert [e.details["replication"]["execution_id"] for e in recorder.events[1:]] == [other]  # type: ignore[index]
