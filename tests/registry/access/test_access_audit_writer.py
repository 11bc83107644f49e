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


def test_a_failed_write_keeps_its_entries_for_the_next_try(db: Database, clock: Clock) -> None:
    """The database refusing one write (here: its audit table gone for a moment) loses no
    entry: the next flush writes what the failed one held, merged with what came since."""
    service = access_service(db, clock)
    writer = AuditWriter(service.audit, interval=3600)
    writer.login("alice", "10.0.0.1")
    with db.write() as conn:
        conn.exec_driver_sql("ALTER TABLE access_audit_log RENAME TO audit_away")
    assert writer.flush() == 0
    writer.login("alice", "10.0.0.1")
    writer.login("bob", "10.0.0.2")
    with db.write() as conn:
        conn.exec_driver_sql("ALTER TABLE audit_away RENAME TO access_audit_log")
    assert writer.flush() == 2
    entries = service.audit.query(AuditQuery(operation="login")).items
    assert {(e.username, e.description) for e in entries} == {("alice", "2 times"), ("bob", "")}
    assert writer.dropped == 0
    writer.close()
