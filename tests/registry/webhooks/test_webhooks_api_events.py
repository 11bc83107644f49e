"""Events Harbor raises that do not come from ``/v2/``: the API's artifact and repository
deletes publish ``DELETE_ARTIFACT`` (one per artifact, with its digest, first tag and the
operator), a tag delete publishes nothing (as in Harbor), and a push names who pushed. The
sink merges repeated pulls of one artifact by the same client into one event with a count,
and queues a notification endpoint's events as envelopes (one row per batch, not per event).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from _infra.harbor_api import check_created
from _infra.projects_registry import (
    ADMIN_PASSWORD,
    PASSWORD,
    basic,
    projects_config,
    team_with_people,
)
from _infra.registry_server import ASGIClient, AuthedClient, push_image
from _infra.webhook_sink import WebhookReceiver
from dockyard.registry import RegistryApp
from dockyard.registry._projects_mode import open_access
from dockyard.registry._server import build_app
from dockyard.registry.access import AccessService
from dockyard.registry.events import DELETE_ARTIFACT, PULL_ARTIFACT, PUSH_ARTIFACT, Event
from dockyard.registry.metadata import Database
from dockyard.registry.webhooks import (
    DeliveryQueue,
    DeliveryWorker,
    Endpoint,
    PushEvents,
    WebhookSink,
)
from dockyard.registry.webhooks._schema import tasks
from dockyard.registry.webhooks._sink import Seen

API = "/api/v2.0"
ADMIN = basic("admin", ADMIN_PASSWORD)
DEV = basic("dev", PASSWORD)


@dataclass
class Served:
    app: RegistryApp
    client: ASGIClient
    access: AccessService
    sink: WebhookSink


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("api-events") / "data"
    app = build_app(projects_config(root), access_log=False)
    access = open_access(projects_config(root).access, app.registry.meta.db)  # type: ignore[arg-type]
    guards = app.registry.guard.guards  # type: ignore[union-attr]
    sink = next(g.sink for g in guards if isinstance(g, PushEvents))
    assert isinstance(sink, WebhookSink)
    with ASGIClient(app) as client:
        yield Served(app, client, access, sink)
    for stop in app.on_shutdown:
        stop()
    app.registry.close()


def _payloads(receiver: WebhookReceiver, count: int) -> list[dict[str, Any]]:
    return [r.json() for r in receiver.wait_for(count)]


@pytest.mark.slow
def test_api_deletes_raise_delete_artifact_and_pushes_name_the_pusher(served: Served) -> None:
    team_with_people(served.access, "gone")
    with WebhookReceiver() as receiver:
        body = {
            "name": "all", "enabled": True,
            "event_types": [PUSH_ARTIFACT, DELETE_ARTIFACT],
            "targets": [{"type": "http", "address": f"{receiver.url}/hook",
                         "payload_format": "Default", "skip_cert_verify": False}],
        }  # fmt: skip
        r = served.client.post(f"{API}/projects/gone/webhook/policies", json=body, headers=ADMIN)
        check_created(r, f"{API}/projects/gone/webhook/policies")
        dev = AuthedClient(served.client, DEV)
        one = push_image(dev, "gone/app", "v1", seed="one")
        two = push_image(dev, "gone/app", "v2", seed="two")
        three = push_image(dev, "gone/other", "w", seed="three")
        pushes = _payloads(receiver, 3)
        assert sorted(p["event_data"]["resources"][0]["tag"] for p in pushes) == ["v1", "v2", "w"]
        assert {p["type"] for p in pushes} == {PUSH_ARTIFACT}
        assert {p["operator"] for p in pushes} == {"dev"}  # who pushed, as Harbor's payload

        # a tag delete raises no webhook event (Harbor's neither); the artifact stays
        r = served.client.post(f"{API}/projects/gone/repositories/app/artifacts/v2/tags",
                               json={"name": "extra"}, headers=ADMIN)  # fmt: skip
        assert r.status_code == 201, r.text
        r = served.client.delete(f"{API}/projects/gone/repositories/app/artifacts/v2/tags/extra",
                                 headers=ADMIN)  # fmt: skip
        assert r.status_code == 200, r.text
        # the artifact delete, by its tag: the event names its digest and tag
        r = served.client.delete(f"{API}/projects/gone/repositories/app/artifacts/v1",
                                 headers=ADMIN)  # fmt: skip
        assert r.status_code == 200, r.text
        # (adding a tag through the API runs the push guards, so it is a push here: one
        # PUSH_ARTIFACT for "extra" arrived before)
        got = _payloads(receiver, 5)
        assert got[3]["type"] == PUSH_ARTIFACT
        assert got[3]["event_data"]["resources"][0]["tag"] == "extra"
        deleted = got[4]
        assert deleted["type"] == DELETE_ARTIFACT and deleted["operator"] == "admin"
        assert deleted["event_data"]["resources"] == [
            {"digest": one.digest, "tag": "v1", "resource_url": "gone/app:v1"}
        ]
        # the repository delete: one event per artifact it held
        r = served.client.delete(f"{API}/projects/gone/repositories/app", headers=ADMIN)
        assert r.status_code == 200, r.text
        r = served.client.delete(f"{API}/projects/gone/repositories/other", headers=ADMIN)
        assert r.status_code == 200, r.text
        got = _payloads(receiver, 7)
        time.sleep(0.5)
        served.sink.flush()
        time.sleep(0.3)
        assert len(receiver.received) == 7  # and nothing else (no event for the tag delete)
        gone = {
            (p["event_data"]["repository"]["repo_full_name"], p["event_data"]["resources"][0]["digest"])
            for p in got[5:]
        }  # fmt: skip
        assert gone == {("gone/app", two.digest), ("gone/other", three.digest)}
        assert {p["type"] for p in got[5:]} == {DELETE_ARTIFACT}
        assert {p["operator"] for p in got[5:]} == {"admin"}


def _seen(client: str, reference: str = "v1", kind: str = PULL_ARTIFACT) -> Seen:
    return Seen(kind, "team/app", reference, "alice", "req", client, "GET", "curl/8", time.time())


def test_repeated_pulls_are_one_event_with_a_count_and_a_batch_is_one_envelope(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "queue.db")
    with WebhookReceiver() as receiver:
        endpoint = Endpoint("listener", f"{receiver.url}/events", {})
        sink = WebhookSink(db, endpoints=[endpoint], start=False)
        for _ in range(5):  # one client (other ports: other connections) pulls v1 five times
            sink.note(_seen(f"10.0.0.1:{40000 + _}"))
        sink.note(_seen("10.0.0.2:40000"))  # another client host: its own event
        sink.note(_seen("10.0.0.1:40009", reference="v2"))  # another tag: its own event
        sink.note(_seen("10.0.0.1:40010", kind=DELETE_ARTIFACT))  # deletes are never merged
        sink.note(_seen("10.0.0.1:40011", kind=DELETE_ARTIFACT))
        assert sink.flush() == 5  # events queued
        with db.read() as conn:
            rows = conn.execute(tasks.select()).all()
        assert len(rows) == 1  # one envelope for the batch
        worker = DeliveryWorker(DeliveryQueue(db))
        assert worker.run_once() == 1
        (envelope,) = receiver.wait_for(1)
        events = envelope.json()["events"]
        assert [(e["action"], e["target"]["tag"], e.get("count")) for e in events] == [
            ("pull", "v1", 5), ("pull", "v1", None), ("pull", "v2", None),
            ("delete", "v1", None), ("delete", "v1", None),
        ]  # fmt: skip
        assert events[0]["request"]["addr"] == "10.0.0.1:40000"  # the first pull's request
        assert json.loads(rows[0].headers)["Content-Type"].endswith("events.v1+json")
        sink.close()
        worker.close()
    db.close()


def test_a_push_waits_one_write_for_its_request_which_names_the_pusher(tmp_path: Path) -> None:
    db = Database(tmp_path / "queue.db")
    sink = WebhookSink(db, endpoints=[Endpoint("e", "http://127.0.0.1:9/x", {})], start=False)
    digest = "sha256:" + "a" * 64
    sink.publish(Event(PUSH_ARTIFACT, "team", "team/app", digest=digest, tag="v1"))
    sink.note(_seen("10.0.0.1:1", kind=PULL_ARTIFACT))  # after the push: waits with it
    assert sink.flush(wait_for_pushers=True) == 0  # its request not seen yet
    sink.note(Seen(PUSH_ARTIFACT, "team/app", "v1", "bob", "r", "10.0.0.1:2", "PUT", "ua", 0.0))
    sink.publish(Event(PUSH_ARTIFACT, "team", "team/app", digest=digest, tag="v2"))
    assert sink.flush(wait_for_pushers=True) == 2  # the push and the pull; v2 waits
    assert sink.flush(wait_for_pushers=True) == 1  # nobody claims v2: it goes unnamed
    with db.read() as conn:
        rows = conn.execute(tasks.select().order_by(tasks.c.id)).all()
    events = [e for r in rows for e in json.loads(r.payload)["events"]]
    assert [(e["action"], e["target"]["tag"], e["actor"]) for e in events] == [
        ("push", "v1", {"name": "bob"}), ("pull", "v1", {"name": "alice"}), ("push", "v2", {}),
    ]  # fmt: skip
    sink.close()
    db.close()
