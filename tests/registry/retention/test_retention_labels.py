"""Retention's label selectors (Harbor's ``withLabels``/``withoutLabels``) decide on what an
artifact carries: its image config's ``Labels`` and its manifest's annotations — the same
labels the replication filters read. A rule that keeps ``release`` keeps exactly the
artifacts labelled so (by either), and the dry run lists the rest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from _infra.harbor_api import check_created, check_list
from _infra.projects_registry import team_with_people
from _infra.registry_server import OCI_MANIFEST, make_manifest, push_blob, sha256
from _infra.retention import API, Served, serve_projects, wait_execution
from _infra.webhook_sink import WebhookReceiver

pytestmark = pytest.mark.slow


def _push(served: Served, tag: str, labels: dict[str, str], annotations: dict[str, str]) -> str:
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "config": {"Labels": labels}, "tag": tag}
    ).encode()
    layer = f"layer of {tag}".encode() * 50
    for blob in (config, layer):
        push_blob(served.admin, "team/lab", blob)
    fields: dict[str, Any] = {"annotations": annotations} if annotations else {}
    manifest = make_manifest(config, [layer], **fields)
    r = served.admin.put(
        f"/v2/team/lab/manifests/{tag}", content=manifest, headers={"content-type": OCI_MANIFEST}
    )
    assert r.status_code == 201, r.text
    return sha256(manifest)


def _policy(served: Served, decoration: str) -> int:
    project = served.access.projects.get("team")
    rule = {
        "disabled": False, "action": "retain", "template": "always", "params": {},
        "tag_selectors": [{"kind": "label", "decoration": decoration, "pattern": "release"}],
        "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches",
                                            "pattern": "**"}]},
    }  # fmt: skip
    body = {"algorithm": "or", "rules": [rule], "trigger": {"kind": "Schedule",
            "settings": {"cron": ""}}, "scope": {"level": "project", "ref": project.id}}  # fmt: skip
    existing = served.client.get(
        f"{API}/projects/team/metadatas/retention_id",
        headers={**served.headers, "X-Is-Resource-Name": "true"},
    ).json()
    if existing.get("retention_id"):
        pid = int(existing["retention_id"])
        r = served.client.put(f"{API}/retentions/{pid}", json=body, headers=served.headers)
        assert r.status_code == 200, r.text
        return pid
    r = served.client.post(f"{API}/retentions", json=body, headers=served.headers)
    return int(check_created(r, f"{API}/retentions"))


def _dry_run(served: Served, pid: int) -> dict[str, str]:
    """digest → action of a dry run of policy ``pid``."""
    r = served.client.post(
        f"{API}/retentions/{pid}/executions", json={"dry_run": True}, headers=served.headers
    )
    location = f"{API}/retentions/{pid}/executions/" + check_created(
        r, f"{API}/retentions/{pid}/executions"
    )
    assert wait_execution(served.client, served.headers, location)["status"] == "Success"
    tasks = check_list(
        served.client.get(location + "/tasks", headers=served.headers), "RetentionExecutionTask"
    )
    out = {}
    for task in tasks:
        log = served.client.get(f"{location}/tasks/{task['id']}", headers=served.headers).text
        for line in log.splitlines()[2:]:
            if line.startswith("|"):
                cells = [c.strip() for c in line.split("|")[1:-1]]
                out[cells[0]] = cells[-1]
    return out


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as r:
        yield r


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver) -> Iterator[Served]:
    with serve_projects(tmp_path_factory.mktemp("retention-labels")) as s:
        team_with_people(s.access)
        hook = {"name": "retention", "enabled": True, "event_types": ["TAG_RETENTION"],
                "targets": [{"type": "http", "address": receiver.url,
                             "payload_format": "Default"}]}  # fmt: skip
        r = s.client.post(f"{API}/projects/team/webhook/policies", json=hook, headers=s.headers)
        check_created(r, f"{API}/projects/team/webhook/policies")
        yield s


def test_label_selectors_read_config_labels_and_annotations(
    served: Served, receiver: WebhookReceiver
) -> None:
    by_label = _push(served, "by-label", {"release": "2.0"}, {})
    by_annotation = _push(served, "by-annotation", {}, {"release": "yes"})
    other = _push(served, "other", {"team": "web"}, {"org.opencontainers.image.title": "x"})

    pid = _policy(served, "withLabels")
    kept = _dry_run(served, pid)
    assert kept == {by_label: "RETAIN", by_annotation: "RETAIN", other: "DEL"}
    # the run's TAG_RETENTION event, at a real receiver, in Harbor's payload
    [delivered] = receiver.wait_for(1)
    body = delivered.json()
    assert (body["type"], body["operator"]) == ("TAG_RETENTION", "MANUAL")
    retention = body["event_data"]["retention"]
    assert (retention["total"], retention["retained"], retention["result"]) == (3, 2, "SUCCESS")
    assert (retention["project_name"], retention["retention_policy_id"]) == ("team", pid)
    assert retention["deleted_artifact"] == [
        {"type": "image", "name_tag": "team/lab:other", "status": "SUCCESS"}
    ]
    assert retention["dry_run"] is True

    without = _dry_run(served, _policy(served, "withoutLabels"))
    assert without == {by_label: "DEL", by_annotation: "DEL", other: "RETAIN"}
