"""Webhook policies through the real projects-mode app (in process, over ASGI), delivering to
a real local HTTP receiver: every Harbor event type arrives once per target, signed with the
policy's secret, in Harbor's default payload and in CloudEvents 1.0; the API's answers match
Harbor's definitions; who may manage policies follows Harbor's ``notification-policy``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from _infra.harbor_api import (
    check_created,
    check_empty,
    check_error,
    check_list,
    check_one,
    validate,
)
from _infra.projects_registry import (
    ADMIN_PASSWORD,
    PASSWORD,
    basic,
    projects_config,
    team_with_people,
    wait_for,
)
from _infra.registry_server import ASGIClient, AuthedClient, push_image, sha256
from _infra.webhook_sink import WebhookReceiver, valid_signature
from dockyard.registry import RegistryApp
from dockyard.registry._projects_mode import open_access
from dockyard.registry._server import build_app
from dockyard.registry.access import AccessService, Role
from dockyard.registry.events import (
    EVENT_TYPES,
    REPLICATION,
    SCANNING_COMPLETED,
    SCANNING_FAILED,
    SCANNING_STOPPED,
    TAG_RETENTION,
    Event,
)
from dockyard.registry.webhooks import (
    SIGNATURE_HEADER,
    PushEvents,
    WebhookSink,
    cloudevents_type,
)

API = "/api/v2.0"
ADMIN = basic("admin", ADMIN_PASSWORD)
DEV = basic("dev", PASSWORD)
GUEST = basic("guest", PASSWORD)
KEEPER = basic("keeper", PASSWORD)
SECRET = "s3cret-for-hmac"


@dataclass
class Served:
    app: RegistryApp
    client: ASGIClient
    access: AccessService
    sink: WebhookSink

    def project(self, name: str, *, storage_limit: int = -1) -> int:
        admin = team_with_people(self.access, name, storage_limit=storage_limit)
        if self.access.users.find("keeper") is None:
            self.access.users.create("keeper", PASSWORD)
        self.access.add_member(admin, name, role_id=int(Role.MAINTAINER), username="keeper")
        return self.access.projects.get(name).id

    def add_policy(self, project: str, body: dict[str, Any]) -> int:
        r = self.client.post(f"{API}/projects/{project}/webhook/policies", json=body,
                             headers=ADMIN)  # fmt: skip
        return int(check_created(r, f"{API}/projects/{project}/webhook/policies"))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("webhooks") / "data"
    app = build_app(projects_config(root), access_log=False)
    config = projects_config(root)
    access = open_access(config.access, app.registry.meta.db)  # type: ignore[arg-type]
    guards = app.registry.guard.guards  # type: ignore[union-attr]
    sink = next(g.sink for g in guards if isinstance(g, PushEvents))
    assert isinstance(sink, WebhookSink)
    with ASGIClient(app) as client:
        yield Served(app, client, access, sink)
    for stop in app.on_shutdown:
        stop()
    app.registry.close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as r:
        yield r


def policy(address: str, *, fmt: str = "Default", events: tuple[str, ...] = EVENT_TYPES,
           name: str = "hooks", **extra: Any) -> dict[str, Any]:  # fmt: skip
    return {
        "name": name,
        "description": "every event",
        "enabled": True,
        "event_types": list(events),
        "targets": [{"type": "http", "address": address, "payload_format": fmt,
                     "auth_header": "Bearer receiver-token", "skip_cert_verify": False}],
        **extra,
    }  # fmt: skip


def test_each_event_type_arrives_once_per_target_signed_in_both_formats(
    served: Served, receiver: WebhookReceiver
) -> None:
    pid = served.project("events", storage_limit=1 << 30)
    served.add_policy("events", policy(f"{receiver.url}/default", secret=SECRET))
    served.add_policy("events", policy(f"{receiver.url}/cloud", fmt="CloudEvents",
                                       name="cloud", secret=SECRET))  # fmt: skip
    dev = AuthedClient(served.client, DEV)
    pushed = push_image(dev, "events/app", "v1", seed="a")  # PUSH_ARTIFACT
    r = dev.get("/v2/events/app/manifests/v1", headers={"accept": "*/*"})  # PULL_ARTIFACT
    assert r.status_code == 200
    # QUOTA_WARNING: a second image as large takes usage past 85% of the limit
    used = served.access.quotas.get("events").used
    served.access.quotas.set_hard("events", int(2 * used / 0.9))
    push_image(dev, "events/big", "w", seed="b")
    # QUOTA_EXCEED: a blob that does not fit is refused
    r = dev.post("/v2/events/big/blobs/uploads/")
    blob = b"z" * used
    location = httpx.URL(r.headers["location"]).copy_merge_params({"digest": sha256(blob)})
    refused = dev.put(str(location), content=blob)
    assert refused.status_code == 403
    r = served.client.delete(f"/v2/events/app/manifests/{pushed.digest}", headers=ADMIN)
    assert r.status_code == 202  # DELETE_ARTIFACT
    # the types other components produce, through the same sink
    for kind in (SCANNING_COMPLETED, SCANNING_FAILED, SCANNING_STOPPED, REPLICATION,
                 TAG_RETENTION):  # fmt: skip
        served.sink.publish(Event(kind, "events", "events/app", digest=pushed.digest))
    wanted = set(EVENT_TYPES)
    got = receiver.wait_for(2 * (len(wanted) + 1))  # + one more push (events/big:w)
    served.sink.flush()  # nothing more waits to be queued
    time.sleep(0.3)
    assert len(receiver.received) == len(got)  # and nothing arrives twice
    default = [g for g in got if g.path == "/default"]
    cloud = [g for g in got if g.path == "/cloud"]
    types = sorted(g.json()["type"] for g in default)
    assert set(types) == wanted, types
    assert types.count("PUSH_ARTIFACT") == 2
    assert len(default) == len(wanted) + 1 and len(cloud) == len(default)
    for item in got:
        assert valid_signature(SECRET, item, SIGNATURE_HEADER)
        assert item.headers["authorization"] == "Bearer receiver-token"
    push = next(g.json() for g in default if g.json()["type"] == "PUSH_ARTIFACT")
    assert push["event_data"]["repository"]["repo_full_name"] in ("events/app", "events/big")
    pull = next(g.json() for g in default if g.json()["type"] == "PULL_ARTIFACT")
    assert pull["operator"] == "dev"
    assert pull["event_data"]["resources"] == [
        {"digest": pushed.digest, "tag": "v1", "resource_url": "events/app:v1"}
    ]
    assert pull["event_data"]["repository"] == {
        "date_created": pull["event_data"]["repository"]["date_created"], "name": "app",
        "namespace": "events", "repo_full_name": "events/app", "repo_type": "private",
    }  # fmt: skip
    assert isinstance(pull["occur_at"], int)
    for item in cloud:
        assert item.headers["content-type"] == "application/cloudevents+json"
        body = item.json()
        assert body["specversion"] == "1.0"
        assert body["id"] and body["source"].startswith(f"/projects/{pid}/webhook/policies/")
        assert body["datacontenttype"] == "application/json"
        assert body["time"].endswith("Z") and "T" in body["time"]
    assert sorted(i.json()["type"] for i in cloud) == sorted(cloudevents_type(t) for t in types)
    assert len({i.json()["id"] for i in cloud}) == len(cloud)  # ids are unique


def test_policies_are_listed_created_changed_and_deleted_as_harbor_does(
    served: Served, receiver: WebhookReceiver
) -> None:
    pid = served.project("crud")
    first = served.add_policy("crud", policy(receiver.url, events=("PUSH_ARTIFACT",)))
    second = served.add_policy(str(pid), policy(receiver.url, name="two", fmt="CloudEvents"))
    r = served.client.get(f"{API}/projects/crud/webhook/policies", headers=ADMIN)
    listed = check_list(r, "WebhookPolicy")
    assert [p["id"] for p in listed] == [first, second]
    assert r.headers["x-total-count"] == "2"
    assert "secret" not in listed[0]
    assert listed[0]["targets"][0]["payload_format"] == "Default"
    assert listed[0]["project_id"] == pid and listed[0]["creator"] == "admin"
    one = check_one(served.client.get(f"{API}/projects/crud/webhook/policies/{second}",
                                      headers=ADMIN), "WebhookPolicy")  # fmt: skip
    assert one["targets"][0]["payload_format"] == "CloudEvents"
    check_empty(served.client.put(f"{API}/projects/crud/webhook/policies/{first}",
                                  json={**one, "name": "renamed", "enabled": False},
                                  headers=ADMIN))  # fmt: skip
    changed = check_one(served.client.get(f"{API}/projects/crud/webhook/policies/{first}",
                                          headers=ADMIN), "WebhookPolicy")  # fmt: skip
    assert changed["name"] == "renamed" and changed["enabled"] is False
    check_error(served.client.post(f"{API}/projects/crud/webhook/policies",
                                   json=policy(receiver.url, name="two"), headers=ADMIN),
                409, "CONFLICT")  # fmt: skip
    for bad in (
        policy(receiver.url, events=("NO_SUCH_EVENT",)),
        policy("ftp://example.org/x", name="x"),
        policy(receiver.url, fmt="Slack", name="y"),
        {"name": "z", "event_types": ["PUSH_ARTIFACT"], "targets": []},
    ):
        check_error(served.client.post(f"{API}/projects/crud/webhook/policies", json=bad,
                                       headers=ADMIN), 400, "BAD_REQUEST")  # fmt: skip
    check_empty(served.client.delete(f"{API}/projects/crud/webhook/policies/{first}",
                                     headers=ADMIN))  # fmt: skip
    check_error(served.client.get(f"{API}/projects/crud/webhook/policies/{first}",
                                  headers=ADMIN), 404, "NOT_FOUND")  # fmt: skip
    events = check_one(served.client.get(f"{API}/projects/crud/webhook/events", headers=ADMIN),
                       "SupportedWebhookEventTypes")  # fmt: skip
    assert set(events["event_type"]) == set(EVENT_TYPES)
    assert events["payload_formats"] == [{"notify_type": "http",
                                          "formats": ["Default", "CloudEvents"]}]  # fmt: skip


def test_the_delivery_log_shows_executions_tasks_and_status_codes(
    served: Served, receiver: WebhookReceiver
) -> None:
    served.project("logged")
    pid = served.add_policy("logged", policy(receiver.url, events=("PUSH_ARTIFACT",)))
    push_image(AuthedClient(served.client, DEV), "logged/app", "v1", seed="log")
    receiver.wait_for(1)
    base = f"{API}/projects/logged/webhook/policies/{pid}/executions"

    def finished() -> list[Any]:
        found = check_list(served.client.get(base, headers=ADMIN), "Execution")
        return found if found and found[0]["status"] == "Success" else []

    [execution] = wait_for(finished)
    assert execution["vendor_type"] == "WEBHOOK" and execution["vendor_id"] == pid
    assert execution["extra_attrs"] == {"event": {"type": "PUSH_ARTIFACT"}}
    assert execution["metrics"]["success_task_count"] == 1
    r = served.client.get(f"{base}/{execution['id']}/tasks", headers=ADMIN)
    [task] = check_list(r, "Task")
    assert task["status"] == "Success" and task["run_count"] == 1
    r = served.client.get(f"{base}/{execution['id']}/tasks/{task['id']}/log", headers=ADMIN)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert f"attempt 1/8: POST {receiver.url} -> 204" in r.text
    check_error(served.client.get(f"{base}/{execution['id'] + 999}/tasks", headers=ADMIN),
                404, "NOT_FOUND")  # fmt: skip


def test_who_may_manage_policies_follows_harbors_notification_policy(
    served: Served, receiver: WebhookReceiver
) -> None:
    served.project("rbac")
    pid = served.add_policy("rbac", policy(receiver.url))
    url = f"{API}/projects/rbac/webhook/policies"
    # a maintainer reads and lists, but may not create, change or delete
    check_list(served.client.get(url, headers=KEEPER), "WebhookPolicy")
    check_one(served.client.get(f"{url}/{pid}", headers=KEEPER), "WebhookPolicy")
    check_error(served.client.post(url, json=policy(receiver.url, name="k"), headers=KEEPER),
                403, "FORBIDDEN")  # fmt: skip
    check_error(served.client.delete(f"{url}/{pid}", headers=KEEPER), 403, "FORBIDDEN")
    # developers and guests see nothing; anonymous callers are asked to sign in
    for who in (DEV, GUEST):
        check_error(served.client.get(url, headers=who), 403, "FORBIDDEN")
    check_error(served.client.get(url), 401, "UNAUTHORIZED")
    # a project that does not exist is no different to them
    check_error(served.client.get(f"{API}/projects/nope/webhook/policies", headers=DEV),
                403, "FORBIDDEN")  # fmt: skip
    check_error(served.client.get(f"{API}/projects/nope/webhook/policies", headers=ADMIN),
                404, "NOT_FOUND")  # fmt: skip


def test_an_artifact_deleted_through_the_api_is_a_delete_event(
    served: Served, receiver: WebhookReceiver
) -> None:
    served.project("apidel")
    served.add_policy("apidel", policy(receiver.url, events=("DELETE_ARTIFACT",), secret=SECRET))
    pushed = push_image(AuthedClient(served.client, DEV), "apidel/web", "v1", seed="apidel")
    r = served.client.delete(
        f"{API}/projects/apidel/repositories/web/artifacts/{pushed.digest}", headers=ADMIN
    )
    check_empty(r)
    [got] = receiver.wait_for(1)
    body = got.json()
    assert body["type"] == "DELETE_ARTIFACT" and body["operator"] == "admin"
    assert body["event_data"]["resources"][0]["digest"] == pushed.digest
    assert body["event_data"]["repository"]["repo_full_name"] == "apidel/web"
    assert valid_signature(SECRET, got, SIGNATURE_HEADER)


def test_a_deleted_projects_policies_go_with_it(served: Served) -> None:
    """SQLite may give a new project the id of a deleted one: it must not inherit the old
    project's webhook policies."""
    old_id = served.project("short-lived")
    served.add_policy("short-lived", policy("http://127.0.0.1:9/hook"))
    r = served.client.delete(f"{API}/projects/short-lived", headers=ADMIN)
    assert r.status_code == 200, r.text
    from dockyard.registry.webhooks._schema import policies

    with served.app.registry.meta.db.read() as conn:
        left = conn.execute(policies.select().where(policies.c.project_id == old_id)).fetchall()
    assert left == []
    served.project("short-lived")
    r = served.client.get(f"{API}/projects/short-lived/webhook/policies", headers=ADMIN)
    assert check_list(r, "WebhookPolicy") == []


def _last_triggers(served: Served, auth: dict[str, str] = ADMIN) -> list[dict[str, Any]]:
    r = served.client.get(f"{API}/projects/triggers/webhook/lasttrigger", headers=auth)
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()
    validate(rows, {"type": "array", "items": {"$ref": "#/definitions/WebhookLastTrigger"}})
    return rows


def test_last_trigger_lists_each_policys_event_types_and_when_each_last_fired(
    served: Served, receiver: WebhookReceiver
) -> None:
    """Harbor's (deprecated) ``webhook/lasttrigger``: a row per policy and event type, with
    ``last_trigger_time`` only for the types sent to it."""
    served.project("triggers")
    served.add_policy("triggers", policy(receiver.url, events=("PUSH_ARTIFACT", "PULL_ARTIFACT"),
                                         name="both"))  # fmt: skip
    rows = _last_triggers(served)
    assert {(r["policy_name"], r["event_type"]) for r in rows} == {
        ("both", "PUSH_ARTIFACT"), ("both", "PULL_ARTIFACT")
    }  # fmt: skip
    assert all("last_trigger_time" not in r for r in rows)
    push_image(AuthedClient(served.client, DEV), "triggers/app", "v1", seed="trig")
    receiver.wait_for(1)
    fired = {r["event_type"]: r.get("last_trigger_time") for r in _last_triggers(served)}
    assert fired["PULL_ARTIFACT"] is None
    assert fired["PUSH_ARTIFACT"] and fired["PUSH_ARTIFACT"].endswith("Z")
    refused = served.client.get(f"{API}/projects/triggers/webhook/lasttrigger", headers=GUEST)
    assert refused.status_code == 403
