"""Users and logins: the first admin, passwords, CLI secrets, Basic headers, a directory."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from _infra.access import PASSWORD, Clock, StaticDirectory, access_database, access_service
from dockyard.errors import AlreadyExists, Denied, FailedPrecondition, InvalidArgument
from dockyard.registry.access import ADMIN, AccessService, Role
from dockyard.registry.auth import AuthenticationRequired
from dockyard.registry.identity import ANONYMOUS
from dockyard.registry.metadata import Database

IP = "127.0.0.1"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_ensure_admin_makes_admin_once(service: AccessService) -> None:
    generated = service.users.ensure_admin(None)
    assert generated is not None and len(generated) == 32
    assert service.users.ensure_admin(None) is None
    assert service.users.ensure_admin("Other1234") is None
    admin = service.authenticate(ADMIN, generated, client_ip=IP)
    assert admin.sysadmin and service.can(admin, None, "user", "create")


def test_ensure_admin_takes_the_given_password(db: Database, clock: Clock) -> None:
    service = access_service(db, clock)
    assert service.users.ensure_admin("Harbor12345") == "Harbor12345"
    assert service.authenticate(ADMIN, "Harbor12345", client_ip=IP).sysadmin
    # a second process over the same database sees the admin and does nothing
    assert access_service(db, clock).users.ensure_admin(None) is None


def test_passwords_follow_harbors_rule_and_change(service: AccessService) -> None:
    for weak in ("short1A", "alllowercase1", "ALLUPPER123", "NoDigitsHere", "A1" + "a" * 80):
        with pytest.raises(InvalidArgument):
            service.users.create("weak", weak)
    user = service.users.create("alice", PASSWORD, email="alice@example.org")
    assert user.email == "alice@example.org" and not user.sysadmin
    with pytest.raises(AlreadyExists):
        service.users.create("alice", PASSWORD)
    service.authenticate("alice", PASSWORD, client_ip=IP)  # now remembered by the cache
    with pytest.raises(Denied):
        service.users.change_password(user.id, "Newpass123", old="Wrong1234")
    service.users.change_password(user.id, "Newpass123", old=PASSWORD)
    with pytest.raises(AuthenticationRequired):  # the remembered old password is gone too
        service.authenticate("alice", PASSWORD, client_ip=IP)
    assert service.authenticate("alice", "Newpass123", client_ip=IP).name == "alice"


def test_a_cli_secret_works_as_the_registry_password(service: AccessService) -> None:
    user = service.users.create("alice", PASSWORD)
    assert not user.has_cli_secret
    first = service.users.set_cli_secret(user.id)
    assert service.users.get(user.id).has_cli_secret
    assert service.authenticate("alice", first, client_ip=IP).id == user.id
    second = service.users.set_cli_secret(user.id)
    with pytest.raises(AuthenticationRequired):
        service.authenticate("alice", first, client_ip=IP)
    assert service.authenticate("alice", second, client_ip=IP).id == user.id
    assert service.authenticate("alice", PASSWORD, client_ip=IP).id == user.id


def test_identify_reads_basic_headers(service: AccessService) -> None:
    service.users.create("alice", PASSWORD)
    assert service.identify(None, client_ip=IP) == ANONYMOUS
    assert service.identify("", client_ip=IP) == ANONYMOUS
    assert service.identify(basic("alice", PASSWORD), client_ip=IP).name == "alice"
    for header in (basic("alice", "nope"), "Bearer abc", "Basic !!!", basic("nobody", PASSWORD)):
        with pytest.raises(AuthenticationRequired) as caught:
            service.identify(header, client_ip=IP)
        assert caught.value.headers["WWW-Authenticate"].startswith("Basic realm=")


def test_unknown_users_are_checked_like_known_ones(service: AccessService) -> None:
    with pytest.raises(AuthenticationRequired) as caught:
        service.authenticate("nobody", PASSWORD, client_ip=IP)
    assert "nobody" in str(caught.value)
    entry = service.audit.query().items[0]
    assert (entry.operation, entry.ok, entry.username, entry.client_ip) == (
        "login", False, "nobody", IP,
    )  # fmt: skip


def test_a_deleted_user_cannot_log_in_and_leaves_no_membership(service: AccessService) -> None:
    user = service.users.create("alice", PASSWORD)
    service.create_project(service.authenticate("alice", PASSWORD, client_ip=IP), "team")
    service.users.delete(user.id)
    with pytest.raises(AuthenticationRequired):
        service.authenticate("alice", PASSWORD, client_ip=IP)
    assert service.members.list(service.projects.get("team").id).total == 0
    assert service.projects.get("team").owner_id is None


def test_directory_users_log_in_with_their_groups(db: Database, clock: Clock) -> None:
    directory = StaticDirectory()
    directory.add("dana", "DirPass123", "cn=builders,ou=groups,dc=example,dc=org")
    directory.add("boss", "DirPass123", admin=True)
    service = access_service(db, clock, directory=directory)
    service.projects.create("team", owner_id=None)
    service.add_member(
        ANONYMOUS, "team", role_id=int(Role.DEVELOPER), group="builders",
        ldap_group_dn="CN=Builders,OU=Groups,DC=example,DC=org",
    )  # fmt: skip
    dana = service.authenticate("dana", "DirPass123", client_ip=IP)
    assert dana.groups == ("cn=builders,ou=groups,dc=example,dc=org",)
    assert service.users.by_name("dana").source == "ldap"
    assert service.can(dana, "team", "repository", "push")
    assert service.grant(dana, []) == []
    boss = service.authenticate("boss", "DirPass123", client_ip=IP)
    assert boss.sysadmin and service.users.by_name("boss").admin_role_in_auth
    with pytest.raises(AuthenticationRequired):
        service.authenticate("dana", "wrong", client_ip=IP)
    # a local account is never handed to the directory
    service.users.create("local", PASSWORD)
    calls = directory.calls
    with pytest.raises(AuthenticationRequired):
        service.authenticate("local", "DirPass123", client_ip=IP)
    assert directory.calls == calls
    with pytest.raises(FailedPrecondition):
        service.users.change_password(service.users.by_name("dana").id, "Newpass123")


def test_two_services_over_one_database_agree(tmp_path: Path, clock: Clock) -> None:
    db = access_database(tmp_path)
    try:
        first, second = access_service(db, clock), access_service(db, clock)
        first.users.create("alice", PASSWORD)
        assert second.authenticate("alice", PASSWORD, client_ip=IP).name == "alice"
        first.users.change_password(first.users.by_name("alice").id, "Newpass123")
        with pytest.raises(AuthenticationRequired):
            second.authenticate("alice", PASSWORD, client_ip=IP)
    finally:
        db.close()
