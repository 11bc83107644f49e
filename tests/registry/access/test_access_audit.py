"""The audit log: Harbor's filters, newest first, paging, purge by age, bounded size."""

from __future__ import annotations

from datetime import timedelta

import pytest

from _infra.access import Clock, access_service
from dockyard.errors import InvalidArgument
from dockyard.registry.access import AccessService, AuditQuery, Match
from dockyard.registry.metadata import Database


def fill(service: AccessService, clock: Clock) -> None:
    events = [
        ("push", "artifact", "team/app:v1", "alice", "team"),
        ("pull", "artifact", "team/app:v1", "bob", "team"),
        ("delete", "artifact", "team/app:v1", "alice", "team"),
        ("push", "artifact", "other/web:latest", "carol", "other"),
        ("create", "project", "other", "carol", "other"),
    ]
    for operation, rtype, resource, user, project in events:
        service.audit.record(operation, rtype, resource, user, project, "127.0.0.1")
        clock.advance(60)


def test_filters_as_harbors_q(service: AccessService, clock: Clock) -> None:
    start = clock.now
    fill(service, clock)
    q = service.audit.query
    assert [e.operation for e in q().items] == ["create", "push", "delete", "pull", "push"]
    assert q(AuditQuery(operation="push")).total == 2
    assert q(AuditQuery(username="alice", project="team")).total == 2
    assert q(AuditQuery(resource=Match("app", fuzzy=True))).total == 3
    assert q(AuditQuery(resource="team/app")).total == 0  # exact, not a prefix
    assert q(AuditQuery(operation=Match(("push", "pull")))).total == 3
    assert q(AuditQuery(since=start + 60, until=start + 180)).total == 3
    assert q(AuditQuery(projects=["other"])).total == 2
    assert q(AuditQuery(projects=[])).total == 0
    assert q(AuditQuery(resource=Match("%", fuzzy=True))).total == 0
    page = q(page=2, page_size=2)
    assert [e.operation for e in page.items] == ["delete", "pull"] and page.total == 5
    entry = q().items[0]
    assert (entry.username, entry.client_ip, entry.ok) == ("carol", "127.0.0.1", True)


def test_purge_by_age(service: AccessService, clock: Clock) -> None:
    fill(service, clock)  # entries at 0, 60, …, 240 s; now is 300 s
    assert service.audit.purge(timedelta(seconds=150)) == 3
    assert service.audit.query().total == 2
    with pytest.raises(InvalidArgument):
        service.audit.purge(timedelta(seconds=-1))


def test_the_log_keeps_only_max_rows(db: Database, clock: Clock) -> None:
    service = access_service(db, clock, audit_max_rows=3)
    fill(service, clock)
    assert [e.operation for e in service.audit.query().items] == ["create", "push", "delete"]


def test_long_fields_are_cut_not_refused(service: AccessService) -> None:
    service.audit.record("push", "artifact", "x" * 5000, "u" * 300, client_ip="1" * 100)
    entry = service.audit.query().items[0]
    assert len(entry.resource) == 512 and len(entry.username) == 255 and len(entry.client_ip) == 64


def test_retention_from_the_config(db: Database, clock: Clock) -> None:
    service = access_service(db, clock)
    fill(service, clock)
    clock.advance(90 * 86400 - 200)  # the default retention is 90 days
    assert service.purge_audit() == 2
    assert service.audit.query().total == 3
