"""``/api/v2.0/system/gc``: history, one run, its log, stop, the schedule (Harbor's shapes,
validated against its definitions), system administrators only; the untag endpoint keeps
the manifest; quota usage after a collection equals what the project references; a
schedule fires (a short cron on an injected clock)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from _infra.harbor_api import check_empty, check_error, check_list, check_one
from _infra.projects_registry import PASSWORD, basic, team_with_people, wait_for
from _infra.registry_server import PushedImage, backdate, sha256
from _infra.retention import API, Served, serve_projects
from dockyard.registry.gcjobs import GcJobs, GcParameters, GcScheduler

SCHEDULE = f"{API}/system/gc/schedule"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve_projects(tmp_path_factory.mktemp("gc")) as s:
        team_with_people(s.access)
        yield s


def _finished(served: Served, run_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body = check_one(
            served.client.get(f"{API}/system/gc/{run_id}", headers=served.headers), "GCHistory"
        )
        return body if body["job_status"] in ("Success", "Error", "Stopped") else None

    return wait_for(done, timeout=30)


def _referenced_bytes(*images: PushedImage) -> int:
    blobs = {}
    for image in images:
        blobs[sha256(image.manifest)] = len(image.manifest)
        for blob in (image.config, *image.layers):
            blobs[sha256(blob)] = len(blob)
    return sum(blobs.values())


def test_only_system_administrators(served: Served) -> None:
    dev = basic("dev", PASSWORD)
    for method, path in (
        ("GET", "/system/gc"),
        ("GET", "/system/gc/1"),
        ("GET", "/system/gc/1/log"),
        ("PUT", "/system/gc/1"),
        ("GET", "/system/gc/schedule"),
    ):
        check_error(served.client.request(method, API + path, headers=dev), 403, "FORBIDDEN")
        check_error(served.client.request(method, API + path), 401, "UNAUTHORIZED")
    body = {"schedule": {"type": "Manual"}}
    check_error(served.client.post(SCHEDULE, json=body, headers=dev), 403, "FORBIDDEN")
    check_error(served.client.put(SCHEDULE, json=body, headers=dev), 403, "FORBIDDEN")


def test_untag_then_collect_history_log_and_quota(served: Served) -> None:
    kept = [served.push("team/app", f"v{i}", f"kept{i}") for i in (1, 2)]
    loose = served.push("team/app", "v3", "loose")
    artifact = f"{API}/projects/team/repositories/app/artifacts"
    # the untag API removes the tag and keeps the manifest (and its quota)
    check_empty(served.client.delete(f"{artifact}/{loose.digest}/tags/v3", headers=served.headers))
    left = check_one(
        served.client.get(f"{artifact}/{loose.digest}", headers=served.headers), "Artifact"
    )
    assert left["digest"] == loose.digest and not left.get("tags")
    assert served.admin.get(f"/v2/team/app/manifests/{loose.digest}").status_code == 200
    assert served.access.quotas.usage("team") == _referenced_bytes(*kept, loose)
    backdate(served.app.registry)

    body = {
        "schedule": {"type": "Manual"},
        "parameters": {"delete_untagged": True, "dry_run": False, "workers": 2, "time_window": 0},
    }
    r = served.client.post(SCHEDULE, json=body, headers=served.headers)
    assert r.status_code == 201 and r.content == b"", r.text
    run_id = r.headers["location"].removeprefix(f"{API}/system/gc/")
    run = _finished(served, run_id)
    assert run["job_status"] == "Success" and run["job_name"] == "GARBAGE_COLLECTION"
    assert run["job_kind"] == "MANUAL" and run["schedule"]["type"] == "Manual"
    assert json.loads(run["job_parameters"]) == body["parameters"]
    assert served.admin.get(f"/v2/team/app/manifests/{loose.digest}").status_code == 404
    for blob in (loose.config, *loose.layers):
        assert served.admin.request("HEAD", f"/v2/team/app/blobs/{sha256(blob)}").status_code == 404
    for image in kept:
        for blob in (image.config, *image.layers):
            assert (
                served.admin.request("HEAD", f"/v2/team/app/blobs/{sha256(blob)}").status_code
                == 200
            )
    assert served.access.quotas.usage("team") == _referenced_bytes(*kept)

    history = served.client.get(f"{API}/system/gc", headers=served.headers)
    listed = check_list(history, "GCHistory")
    assert listed[0]["id"] == int(run_id) and history.headers["x-total-count"] == str(len(listed))
    log = served.client.get(f"{API}/system/gc/{run_id}/log", headers=served.headers)
    assert log.status_code == 200 and log.headers["content-type"].startswith("text/plain")
    assert f"garbage collection {run_id}: Success" in log.text
    assert "deleted 1 manifest(s)" in log.text
    check_empty(served.client.put(f"{API}/system/gc/{run_id}", headers=served.headers))
    assert _finished(served, run_id)["job_status"] == "Success"  # a finished run stays
    check_error(
        served.client.get(f"{API}/system/gc/9999", headers=served.headers), 404, "NOT_FOUND"
    )
    check_error(
        served.client.get(f"{API}/system/gc/9999/log", headers=served.headers), 404, "NOT_FOUND"
    )


def test_dry_run_through_the_api_deletes_nothing(served: Served) -> None:
    loose = served.push("team/dry", None, "dry-loose")
    backdate(served.app.registry)
    body = {
        "schedule": {"type": "Manual"},
        "parameters": {"delete_untagged": True, "dry_run": True, "time_window": 0},
    }
    r = served.client.post(SCHEDULE, json=body, headers=served.headers)
    run = _finished(served, r.headers["location"].rsplit("/", 1)[1])
    assert run["job_status"] == "Success"
    assert served.admin.get(f"/v2/team/dry/manifests/{loose.digest}").status_code == 200
    log = served.client.get(f"{API}/system/gc/{run['id']}/log", headers=served.headers).text
    assert "would delete 1 manifest(s), 3 blob(s)" in log


def test_schedule_set_read_and_removed(served: Served) -> None:
    r = served.client.get(SCHEDULE, headers=served.headers)
    assert r.status_code == 200 and r.content == b""  # Harbor: no schedule, no body
    body = {
        "schedule": {"type": "Custom", "cron": "0 30 2 * * *"},
        "parameters": {"delete_untagged": True, "workers": 3},
    }
    r = served.client.post(SCHEDULE, json=body, headers=served.headers)
    assert r.status_code == 201 and "location" not in r.headers
    got = check_one(served.client.get(SCHEDULE, headers=served.headers), "GCHistory")
    assert got["schedule"]["type"] == "Custom" and got["schedule"]["cron"] == "0 30 2 * * *"
    assert got["schedule"]["next_scheduled_time"].endswith(":30:00.000Z")
    params = json.loads(got["job_parameters"])
    assert params["delete_untagged"] is True and params["workers"] == 3
    check_empty(
        served.client.put(SCHEDULE, json={"schedule": {"type": "Daily"}}, headers=served.headers)
    )
    got = check_one(served.client.get(SCHEDULE, headers=served.headers), "GCHistory")
    assert (got["schedule"]["type"], got["schedule"]["cron"]) == ("Daily", "0 0 0 * * *")
    for bad in (
        {"schedule": {"type": "Custom", "cron": "every day"}},
        {"schedule": {"type": "Custom", "cron": "* * * * *"}},  # 5 fields: seconds are first
        {"schedule": {"type": "Sometimes"}},
        {"schedule": {"type": "Manual"}, "parameters": {"workers": 11}},
        {"schedule": {"type": "Manual"}, "parameters": {"dry_run": "yes"}},
        {"schedule": {"type": "Manual"}, "parameters": {"time_window": -1}},
        {"schedule": {"type": "Manual"}, "parameters": {"delete_tag": True}},
        {},
    ):
        check_error(
            served.client.put(SCHEDULE, json=bad, headers=served.headers), 400, "BAD_REQUEST"
        )
    check_empty(
        served.client.put(SCHEDULE, json={"schedule": {"type": "None"}}, headers=served.headers)
    )
    assert served.client.get(SCHEDULE, headers=served.headers).content == b""


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_schedule_fires_on_its_cron(served: Served) -> None:
    """Every five minutes (seconds first), on a clock the test moves: not before, once when
    due (however many processes look), again five minutes later — by tick() and by the
    scheduler's thread."""
    clock = Clock(1_800_000_000.0)  # 2027-01-15T08:00:00Z, a multiple of five minutes
    jobs = GcJobs(served.app.registry, clock=clock)
    other = GcJobs(served.app.registry, clock=clock)  # another server process
    jobs.set_schedule("Custom", "0 */5 * * * *", GcParameters(dry_run=True))
    clock.now += 299
    assert jobs.tick() is None
    clock.now += 2
    run_id = jobs.tick()
    assert run_id is not None and other.tick() is None
    run = jobs.wait(run_id, timeout=30)
    assert (run.trigger, run.status, run.parameters.dry_run) == ("SCHEDULE", "Success", True)
    scheduler = GcScheduler(other, interval=0.02).start()
    try:
        before = other.history()[1]
        clock.now += 300
        wait_for(lambda: other.history()[1] > before, timeout=10)
        latest = other.history(0, 1)[0][0]
        assert latest.trigger == "SCHEDULE"
        wait_for(lambda: other.get(latest.id).finished, timeout=30)
    finally:
        scheduler.close()
        jobs.delete_schedule()
