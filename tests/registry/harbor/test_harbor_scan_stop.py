"""Harbor's scan triggers in-process: ``POST /system/scanAll/stop`` (system administrators;
400 before any run), ``POST …/artifacts/{reference}/scan`` and ``…/scan/stop`` (the project's
``scan`` permission). Stopping turns every queued or running scan of the run (or of the
artifact's images) Stopped in one transaction — the run's metrics count them, the reports say
``Stopped``, a process still running one cannot record its result — and announces each
(SCANNING_STOPPED); the console's jobs page stops a run through the same API; a stopped image is scanned again when asked. This process's scan threads
are paused while scans must stay queued (they claim nothing); a second queue on the same
database plays another replica holding a claim."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from _infra.console import signed_in
from _infra.harbor_api import check_empty, check_error
from _infra.projects_registry import ADMIN_PASSWORD, PASSWORD, basic, wait_for
from _infra.registry_server import ASGIClient
from _infra.retention import API, Served
from _infra.scanning_registry import (
    push_scannable,
    push_scannable_index,
    scan_all,
    scan_all_metrics,
    scanning_served,
)
from dockyard.registry.events import SCANNING_STOPPED, Event
from dockyard.registry.scanning import ScanQueue, ScanRecords
from dockyard.registry.scanning._queue import ScanJobClaim

SCHEDULE = f"{API}/system/scanAll/schedule"
STOP_ALL = f"{API}/system/scanAll/stop"

REPORT = "application/vnd.security.vulnerability.report; version=1.1"


class Events:
    """The scanner's event sink, kept in a list (where webhooks would take them)."""

    def __init__(self) -> None:
        self.seen: list[Event] = []

    def publish(self, event: Event) -> None:
        self.seen.append(event)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with scanning_served(tmp_path_factory.mktemp("scan-stop")) as found:
        yield found


@pytest.fixture
def paused(served: Served, monkeypatch: pytest.MonkeyPatch) -> Events:
    """This process claims no scan while the test runs (queued scans stay queued); its
    events are recorded."""
    scanner = scan_all(served).scanner
    monkeypatch.setattr(scanner.tasks, "claim", lambda now, limit=1: [])
    events = Events()
    monkeypatch.setattr(scanner, "events", events)
    return events


def _records(served: Served) -> ScanRecords:
    return ScanRecords(served.app.registry.meta.db)


def _status(served: Served, digest: str) -> str | None:
    found = _records(served).get(digest)
    return None if found is None else found.status


def _artifact(repo: str, reference: str) -> str:
    project, _, name = repo.partition("/")
    return f"{API}/projects/{project}/repositories/{name}/artifacts/{reference}"


def _scan_status(served: Served, repo: str, digest: str) -> str:
    r = served.admin.get(_artifact(repo, digest) + "/additions/vulnerabilities")
    assert r.status_code == 200, r.text
    return str(r.json()[REPORT]["scan_status"])


def test_stopping_scan_all_needs_a_run_and_a_system_administrator(served: Served) -> None:
    message = check_error(served.client.post(STOP_ALL, headers=served.headers), 400, "BAD_REQUEST")
    assert message.startswith("no scan all job is found currently"), message
    check_error(served.client.post(STOP_ALL, headers=basic("dev", PASSWORD)), 403, "FORBIDDEN")
    check_error(served.client.post(STOP_ALL), 401, "UNAUTHORIZED")


def test_stopping_a_scan_all_stops_its_queued_and_running_scans(
    served: Served, paused: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    images = [push_scannable(served.admin, "team/all", seed, tag=seed) for seed in "abc"]
    check_empty(served.client.post(SCHEDULE, headers=served.headers,
                                   json={"schedule": {"type": "Manual"}}), 201)  # fmt: skip
    assert scan_all_metrics(served)["metrics"] == {"Pending": 3}
    # another replica holds one scan (Running); two stay queued
    other = ScanQueue(_records(served))
    [held] = other.claim(time.time(), 1)
    assert scan_all_metrics(served)["metrics"] == {"Pending": 2, "Running": 1}

    # the console's jobs page offers to stop the run while it goes on, and does it
    with ASGIClient(served.app) as browser:
        token = signed_in(browser, "admin", ADMIN_PASSWORD)
        page = browser.get("/admin/jobs").text
        assert 'action="/admin/jobs/scan-all/stop"' in page and "Running: 0 of 3" in page, page
        r = browser.post("/admin/jobs/scan-all/stop", data={"csrf": token})
        assert r.status_code == 303 and r.headers["location"] == "/admin/jobs", r.text
        page = browser.get("/admin/jobs").text
        assert 'action="/admin/jobs/scan-all/stop"' not in page
        assert "Done: 3 of 3 images (Stopped 3)" in page, page
    assert scan_all_metrics(served) == {"total": 3, "completed": 3, "metrics": {"Stopped": 3},
                                "ongoing": False, "trigger": "Manual"}  # fmt: skip
    for digest in images:
        assert _status(served, digest) == "stopped"
        assert _scan_status(served, "team/all", digest) == "Stopped"
    # the replica that held a scan cannot record it, and knows it was stopped
    assert other.stopped(held)
    assert not _finish(other, held)
    assert _status(served, held.digest) == "stopped"
    assert not other.renew(held, time.time())
    stopped = [e for e in paused.seen if e.type == SCANNING_STOPPED]
    assert sorted(e.digest for e in stopped) == sorted(images)
    assert {e.repository for e in stopped} == {"team/all"}
    for event in stopped:
        overview: Any = event.details["scan_overview"]
        assert overview[REPORT]["scan_status"] == "Stopped", event
    # a run that ended stops nothing more (202, as Harbor)
    check_empty(served.client.post(STOP_ALL, headers=served.headers), 202)
    assert len([e for e in paused.seen if e.type == SCANNING_STOPPED]) == 3
    other.close()

    # asked again (this process scanning again), the run scans every image anew
    monkeypatch.undo()
    check_empty(served.client.post(SCHEDULE, headers=served.headers,
                                   json={"schedule": {"type": "Manual"}}), 201)  # fmt: skip
    wait_for(lambda: not scan_all_metrics(served)["ongoing"], timeout=60)
    metrics = scan_all_metrics(served)
    assert metrics["metrics"] == {"Success": 3}, metrics
    for digest in images:
        assert _status(served, digest) == "done"
        assert _scan_status(served, "team/all", digest) == "Success"


def test_an_artifact_is_scanned_and_its_scan_stopped(
    served: Served, paused: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = push_scannable(served.admin, "team/one", "one")
    scan, stop = _artifact("team/one", "1") + "/scan", _artifact("team/one", "1") + "/scan/stop"
    # never scanned: nothing to stop
    message = check_error(served.client.post(stop, headers=served.headers), 400, "BAD_REQUEST")
    assert image in message, message
    # a guest may not scan; a developer may read only (Harbor's roles)
    for who in ("guest", "dev"):
        check_error(served.client.post(scan, headers=basic(who, PASSWORD)), 403, "FORBIDDEN")
    check_error(served.client.post(scan), 401, "UNAUTHORIZED")
    check_error(served.client.post(scan, headers=served.headers, json={"scan_type": "sbom"}),
                400, "BAD_REQUEST")  # fmt: skip
    assert _status(served, image) is None

    check_empty(served.client.post(scan, headers=served.headers), 202)
    assert _status(served, image) == "pending"
    check_empty(served.client.post(stop, headers=served.headers,
                                   json={"scan_type": "vulnerability"}), 202)  # fmt: skip
    assert _status(served, image) == "stopped"
    assert _scan_status(served, "team/one", image) == "Stopped"
    assert [(e.type, e.digest) for e in paused.seen] == [(SCANNING_STOPPED, image)]
    # asked again (the body is optional), the scan is queued anew
    check_empty(served.client.post(scan, headers=served.headers,
                                   json={"scan_type": "vulnerability"}), 202)  # fmt: skip
    assert _status(served, image) == "pending"
    check_empty(served.client.post(stop, headers=served.headers), 202)
    check_empty(served.client.post(stop, headers=served.headers), 202)  # ended: nothing to do
    assert _status(served, image) == "stopped"

    # this process scanning again, the stopped image is scanned when asked
    monkeypatch.undo()
    check_empty(served.client.post(scan, headers=served.headers), 202)
    wait_for(lambda: _status(served, image) == "done", timeout=60)
    assert _scan_status(served, "team/one", image) == "Success"


def test_an_index_s_images_are_scanned_and_stopped_together(served: Served, paused: Events) -> None:
    index, amd64, arm64 = push_scannable_index(served.admin, "team/multi", "v1")
    base = _artifact("team/multi", "v1")
    check_empty(served.client.post(base + "/scan", headers=served.headers), 202)
    assert (_status(served, amd64), _status(served, arm64)) == ("pending", "pending")
    assert _status(served, index) is None  # the images are scanned, not the index
    check_empty(served.client.post(base + "/scan/stop", headers=served.headers), 202)
    assert (_status(served, amd64), _status(served, arm64)) == ("stopped", "stopped")
    assert sorted(e.digest for e in paused.seen) == sorted((amd64, arm64))


def _finish(queue: ScanQueue, claim: ScanJobClaim) -> bool:
    return queue.finish(claim, report_json="{}", error=None, db_updated_at=None,
                        db_advisories=None, seconds=0.1)  # fmt: skip
