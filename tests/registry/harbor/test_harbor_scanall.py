"""``/api/v2.0/system/scanAll/schedule`` and ``/api/v2.0/scans/all/metrics`` (Harbor's shapes,
validated against its definitions), system administrators only: a Manual scan-all scans every
image (an index's images, not the index; not signatures) once each and its metrics count its
tasks by status until it ends; the schedule is set, read, replaced and removed, bad ones are
400; a scheduled firing asked for by two processes starts one run."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from _infra.cluster_jobs import cron_at
from _infra.harbor_api import check_empty, check_error, check_one
from _infra.projects_registry import (
    PASSWORD,
    basic,
    wait_for,
)
from _infra.retention import API, Served
from _infra.scanning_registry import (
    SCAN_ALL_METRICS,
    push_scannable,
    push_scannable_index,
    scan_all,
    scan_all_metrics,
    scanning_served,
)
from dockyard.registry.scanning import ScanAll, ScanRecords
from dockyard.registry.scanning._records import scan_executions, scan_tasks

SCHEDULE = f"{API}/system/scanAll/schedule"
METRICS = SCAN_ALL_METRICS


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with scanning_served(tmp_path_factory.mktemp("scanall")) as found:
        yield found


def _ended(served: Served) -> dict[str, Any]:
    """The latest run's metrics once it ended."""
    wait_for(lambda: not scan_all_metrics(served)["ongoing"], timeout=60)
    return scan_all_metrics(served)


def test_only_system_administrators(served: Served) -> None:
    dev = basic("dev", PASSWORD)
    for method, path in (("GET", SCHEDULE), ("GET", METRICS), ("POST", SCHEDULE),
                         ("PUT", SCHEDULE)):  # fmt: skip
        body = {"schedule": {"type": "Manual"}} if method != "GET" else None
        check_error(served.client.request(method, path, headers=dev, json=body), 403, "FORBIDDEN")
        check_error(served.client.request(method, path, json=body), 401, "UNAUTHORIZED")


def test_a_manual_scan_all_scans_every_image_once(served: Served) -> None:
    assert scan_all_metrics(served) == {"total": 0, "completed": 0, "metrics": {}, "ongoing": False}
    index, amd64, arm64 = push_scannable_index(served.admin, "team/app", "multi")
    alone = push_scannable(served.admin, "team/tool", "tool")
    push_scannable(served.admin, "team/copy", "tool")  # the same image in a second repository
    records = ScanRecords(served.app.registry.meta.db)
    assert records.get(index) is None

    check_empty(served.client.post(SCHEDULE, headers=served.headers,
                                   json={"schedule": {"type": "Manual"}}), 201)  # fmt: skip
    first = scan_all_metrics(served)
    assert first["total"] == 3 and first["trigger"] == "Manual", first
    ended = _ended(served)
    assert ended == {"total": 3, "completed": 3, "metrics": {"Success": 3}, "ongoing": False,
                     "trigger": "Manual"}  # fmt: skip
    for digest in (amd64, arm64, alone):
        report = records.get(digest)
        assert report is not None and report.status == "done", report
    assert records.get(index) is None  # the index's images are scanned, not it
    # again: every image is scanned anew, as a new run
    done = records.get(alone)
    assert done is not None
    check_empty(served.client.put(SCHEDULE, headers=served.headers,
                                  json={"schedule": {"type": "Manual"}}))  # fmt: skip
    wait_for(lambda: scan_all_metrics(served)["completed"] == 3, timeout=60)
    again = records.get(alone)
    assert again is not None and again.finished_at != done.finished_at


def test_the_schedule_is_set_read_replaced_and_removed(served: Served) -> None:
    def schedule() -> dict[str, Any]:
        return check_one(served.client.get(SCHEDULE, headers=served.headers), "Schedule")  # type: ignore[no-any-return]

    assert schedule() == {"schedule": {"type": "None", "cron": ""}}
    check_empty(served.client.post(SCHEDULE, headers=served.headers,
                                   json={"schedule": {"type": "Daily"}}), 201)  # fmt: skip
    daily = schedule()
    assert (daily["schedule"]["type"], daily["schedule"]["cron"]) == ("Daily", "0 0 0 * * *")
    assert daily["schedule"]["next_scheduled_time"].endswith("T00:00:00.000Z")
    custom = {"schedule": {"type": "Custom", "cron": "0 30 2 * * 1"}}
    check_empty(served.client.put(SCHEDULE, headers=served.headers, json=custom))
    assert schedule()["schedule"]["cron"] == "0 30 2 * * 1"
    for bad in ({"schedule": {"type": "Custom", "cron": "every day"}},
                {"schedule": {"type": "Often"}}, {"schedule": "Daily"}):  # fmt: skip
        check_error(served.client.put(SCHEDULE, headers=served.headers, json=bad), 400,
                    "BAD_REQUEST")  # fmt: skip
    assert schedule()["schedule"]["cron"] == "0 30 2 * * 1"
    check_empty(served.client.put(SCHEDULE, headers=served.headers,
                                  json={"schedule": {"type": "None"}}))  # fmt: skip
    assert schedule() == {"schedule": {"type": "None", "cron": ""}}


def test_a_firing_asked_for_by_two_processes_starts_one_run(served: Served) -> None:
    mine = scan_all(served)
    wait_for(lambda: not scan_all_metrics(served)["ongoing"], timeout=60)
    other = ScanAll(mine.scanner)  # a second process's view of the same database
    moment = time.time() + 2
    mine.set_schedule("Custom", cron_at(moment))
    db = served.app.registry.meta.db

    def runs() -> int:
        with db.read() as conn:
            return int(conn.execute(
                select(func.count()).select_from(scan_executions)
                .where(scan_executions.c.trigger == "Schedule")
            ).scalar_one())  # fmt: skip

    started = [*mine.run_due(moment + 1), *other.run_due(moment + 1)]
    assert len([s for s in started if s]) <= 1  # (the server's own thread may be first)
    time.sleep(max(0.0, moment + 6 - time.time()))  # past the server thread's next look
    assert runs() == 1
    metrics = _ended(served)
    assert metrics["trigger"] == "Schedule" and metrics["total"] == 3, metrics
    mine.delete_schedule()
    with db.read() as conn:  # the tasks of each run are kept for its metrics
        kept = conn.execute(select(func.count()).select_from(scan_tasks)).scalar_one()
    assert kept == 9


def test_only_the_newest_runs_are_kept(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    from dockyard.registry.scanning import _scanall

    monkeypatch.setattr(_scanall, "KEEP", 2)
    db = served.app.registry.meta.db
    for _ in range(3):
        _ended(served)
        check_empty(served.client.post(SCHEDULE, headers=served.headers,
                                       json={"schedule": {"type": "Manual"}}), 201)  # fmt: skip
    assert _ended(served)["completed"] == 3
    with db.read() as conn:
        runs = conn.execute(select(scan_executions.c.id).order_by(scan_executions.c.id)).all()
        tasks = conn.execute(select(scan_tasks.c.execution_id).distinct()).scalars().all()
    assert len(runs) == 2 and sorted(tasks) == [r.id for r in runs]
