"""The batched audit writer as the token service's login log: a successful login is noted in
memory (no database write on the request path), repeated ones are merged, and closing the
writer writes everything still pending."""

from __future__ import annotations

import pytest

from _infra.access import PASSWORD, Clock, access_service
from dockyard.registry._audit_hook import AuditWriter
from dockyard.registry.access import AuditQuery
from dockyard.registry.auth import AuthenticationRequired
from dockyard.registry.metadata import Database


def test_logins_wait_in_the_writer_and_close_writes_them(db: Database, clock: Clock) -> None:
    service = access_service(db, clock)
    service.users.create("alice", PASSWORD)
    writer = AuditWriter(service.audit, interval=3600)  # only close() writes
    service.login_audit = writer.login
    for _ in range(3):
        service.authenticate("alice", PASSWORD, client_ip="10.0.0.1")
    service.authenticate("alice", PASSWORD, client_ip="10.0.0.2")
    logins = AuditQuery(operation="login")
    assert service.audit.query(logins).total == 0  # nothing written while serving
    writer.close()
    entries = service.audit.query(logins).items
    assert {(e.username, e.client_ip, e.description, e.ok) for e in entries} == {
        ("alice", "10.0.0.1", "3 times", True),
        ("alice", "10.0.0.2", "", True),
    }
    assert writer.written == 2 and writer.dropped == 0


def test_failures_are_still_written_at_once(db: Database, clock: Clock) -> None:
    """A failed login is rare and slowed anyway: written at once, with its reason."""
    service = access_service(db, clock)
    writer = AuditWriter(service.audit, interval=3600)
    service.login_audit = writer.login
    with pytest.raises(AuthenticationRequired):
        service.authenticate("nobody", "Wrong1234", client_ip="10.0.0.3")
    (entry,) = service.audit.query(AuditQuery(operation="login")).items
    assert (entry.username, entry.ok, entry.description) == ("nobody", False, "unknown user")
    writer.close()
