"""Scheduled retention: a policy's 6-field cron starts an execution when it comes due (an
injected clock, no waiting for real midnights), the schedule's own thread does the same with
a cron firing every second, a firing claimed by one process is not run again by another,
and each run publishes one ``TAG_RETENTION`` event (and a
``DELETE_ARTIFACT`` per artifact deleted) to the sink the service is given."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from _infra.projects_registry import team_with_people, wait_for
from _infra.retention import Served, serve_projects
from dockyard.registry.events import DELETE_ARTIFACT, TAG_RETENTION, Event
from dockyard.registry.retention import SCHEDULE, RetentionSchedule, RetentionService


class Sink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish(self, event: Event) -> None:
        self.events.append(event)


def _body(project_id: int, cron: str) -> dict[str, object]:
    rule = {"template": "latestPushedK", "params": {"latestPushedK": 1},
            "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "**"}],
            "scope_selectors": {"repository": [{"kind": "doublestar",
                                                "decoration": "repoMatches", "pattern": "**"}]}}  # fmt: skip
    return {"rules": [rule], "trigger": {"kind": "Schedule", "settings": {"cron": cron}},
            "scope": {"level": "project", "ref": project_id}}  # fmt: skip


@pytest.fixture
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve_projects(tmp_path_factory.mktemp("retention-schedule")) as s:
        team_with_people(s.access)
        yield s


def test_a_due_cron_starts_a_run_that_publishes_its_events(served: Served) -> None:
    for n in range(3):
        served.push("team/app", f"v{n}", seed=f"s{n}")
    sink = Sink()
    service = RetentionService(served.app.registry, served.access, events=sink)
    service.create(_body(int(served.access.projects.get("team").id), "0 0 0 * * *"))
    midnight = datetime(2030, 1, 2, tzinfo=UTC).timestamp()
    clock = [midnight - 60.0]
    schedule = RetentionSchedule(service, clock=lambda: clock[0])  # not started: no thread
    assert schedule.run_due(midnight - 1) == []  # not yet
    [eid] = schedule.run_due(midnight + 1)
    assert schedule.run_due(midnight + 2) == []  # once per firing
    other = RetentionSchedule(service, clock=lambda: midnight - 30)  # another process
    assert other.run_due(midnight + 3) == []  # the firing is claimed already
    execution = service.wait(eid)
    assert (execution.status, execution.trigger, execution.dry_run) == ("Success", SCHEDULE,
                                                                        False)  # fmt: skip
    assert served.admin.get("/v2/team/app/tags/list").json()["tags"] == ["v2"]
    [summary] = [e for e in sink.events if e.type == TAG_RETENTION]
    assert summary.project == "team" and summary.operator == SCHEDULE
    retention: Any = summary.details["retention"]  # Harbor's TAG_RETENTION event_data
    assert (retention["total"], retention["retained"], retention["result"]) == (3, 1, "SUCCESS")
    assert retention["project_name"] == "team" and retention["dry_run"] is False
    assert (
        retention["HREF"] == f"/api/v2.0/retentions/{retention['retention_policy_id']}"
        f"/executions/{eid}"
    )
    assert sorted(a["name_tag"] for a in retention["deleted_artifact"]) == [
        "team/app:v0", "team/app:v1"
    ]  # fmt: skip
    assert sorted(e.tag for e in sink.events if e.type == DELETE_ARTIFACT) == ["v0", "v1"]
    service.close()


def test_the_schedules_thread_fires(served: Served) -> None:
    sink = Sink()
    service = RetentionService(served.app.registry, served.access, events=sink)
    service.create(_body(int(served.access.projects.get("team").id), "* * * * * *"))
    schedule = RetentionSchedule(service, tick=0.05).start()
    try:
        wait_for(lambda: schedule.started, timeout=10)
    finally:
        schedule.close()
        service.close()
    wait_for(lambda: [e for e in sink.events if e.type == TAG_RETENTION])
