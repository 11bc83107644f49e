"""Brute force: failures from one address (or for one name) are slowed, then refused with 429
and Retry-After until the window passes; a success resets; the audit log shows the lockout."""

from __future__ import annotations

import pytest

from _infra.access import PASSWORD, Clock, access_service
from dockyard.errors import InvalidArgument, TooManyRequests
from dockyard.registry.access import AccessService, AuditQuery, Lockout, LockoutPolicy
from dockyard.registry.auth import AuthenticationRequired
from dockyard.registry.metadata import Database

IP = "127.0.0.1"
# the test service: delay after 3 failures, refuse after 5, in a 60 s window, 1 s delay


def fail(service: AccessService, times: int, *, user: str = "alice", ip: str = IP) -> None:
    for _ in range(times):
        with pytest.raises(AuthenticationRequired):
            service.authenticate(user, "wrong", client_ip=ip)


def test_failures_are_slowed_then_refused_until_the_window_passes(
    service: AccessService, clock: Clock
) -> None:
    service.users.create("alice", PASSWORD)
    fail(service, 3)
    assert clock.slept == []
    fail(service, 2)
    assert clock.slept == [1.0, 1.0]  # the 4th and 5th attempts waited
    with pytest.raises(TooManyRequests) as caught:
        service.authenticate("alice", PASSWORD, client_ip=IP)  # even the right password
    error = caught.value
    assert error.http_status == 429 and error.oci_code == "TOOMANYREQUESTS"
    assert 0 < error.retry_after <= 60
    # the lockout is in the audit log, naming the address and the user
    locked = service.audit.query(AuditQuery(operation="login_lockout")).items
    assert {(e.resource_type, e.resource, e.client_ip) for e in locked} == {
        ("client", IP, IP),
        ("user", "alice", IP),
    }
    assert not any(e.ok for e in locked)
    clock.advance(error.retry_after)
    assert service.authenticate("alice", PASSWORD, client_ip=IP).name == "alice"


def test_a_success_resets_the_count(service: AccessService, clock: Clock) -> None:
    service.users.create("alice", PASSWORD)
    fail(service, 4)
    service.authenticate("alice", PASSWORD, client_ip=IP)
    fail(service, 4)
    service.authenticate("alice", PASSWORD, client_ip=IP)  # not refused: 4 < 5 since the reset


def test_an_address_is_locked_across_user_names(service: AccessService) -> None:
    service.users.create("alice", PASSWORD)
    for i in range(5):
        fail(service, 1, user=f"guess{i}")
    with pytest.raises(TooManyRequests):
        service.authenticate("alice", PASSWORD, client_ip=IP)
    assert service.authenticate("alice", PASSWORD, client_ip="127.0.0.2").name == "alice"


def test_a_user_name_is_locked_across_addresses(service: AccessService) -> None:
    service.users.create("alice", PASSWORD)
    for i in range(5):
        fail(service, 1, ip=f"127.0.0.{10 + i}")
    with pytest.raises(TooManyRequests):
        service.authenticate("alice", PASSWORD, client_ip="127.0.0.99")


def test_robots_are_counted_too(service: AccessService) -> None:
    fail(service, 5, user="robot$team+ci")
    with pytest.raises(TooManyRequests):
        service.authenticate("robot$team+ci", "anything", client_ip=IP)


@pytest.mark.slow
def test_the_state_is_bounded(db: Database, clock: Clock) -> None:
    policy = LockoutPolicy(delay_after=1, refuse_after=2, max_entries=50)
    lockout = Lockout(policy, clock=clock, db=db)
    for i in range(1000):
        lockout.fail(f"10.0.{i // 250}.{i % 250}", f"user{i}")
    assert len(lockout) <= 50
    clock.advance(10_000)
    lockout.fail("10.9.9.9", "x")
    assert lockout.check("10.9.9.9", "x") == 1.0


@pytest.mark.parametrize(
    "policy", [dict(delay_after=0), dict(delay_after=6, refuse_after=5), dict(window=0),
               dict(delay=61), dict(max_entries=0)]
)  # fmt: skip
def test_bad_policies_are_refused(policy: dict[str, float]) -> None:
    with pytest.raises(InvalidArgument):
        LockoutPolicy(**policy)  # type: ignore[arg-type]


def test_zero_delay_never_sleeps(db: Database, clock: Clock) -> None:
    service = access_service(
        db, clock, lockout=LockoutPolicy(delay_after=1, refuse_after=3, delay=0)
    )
    fail(service, 3)
    assert clock.slept == []
    with pytest.raises(TooManyRequests):
        fail(service, 1)
