"""LDAP logins against a real slapd: search bind, user filter, group membership."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from _infra.slapd import PEOPLE, READER_DN, READER_PASSWORD, SUFFIX, Slapd, group_dn, started_slapd
from dockyard.errors import InvalidArgument, Unavailable
from dockyard.registry.ldap import LdapConfig, LdapDirectory


@pytest.fixture(scope="module")
def slapd() -> Iterator[Slapd]:
    with started_slapd() as server:
        yield server


@pytest.fixture
def config(slapd: Slapd) -> LdapConfig:
    return LdapConfig(
        url=slapd.url,
        base_dn=f"ou=people,{SUFFIX}",
        search_dn=READER_DN,
        search_password=READER_PASSWORD,
        filter="(objectClass=inetOrgPerson)",
        group_base_dn=f"ou=groups,{SUFFIX}",
        group_admin_dn=group_dn("admins"),
    )


def test_user_logs_in_with_their_groups(config: LdapConfig) -> None:
    user = LdapDirectory(config).authenticate("alice", PEOPLE["alice"][0])
    assert user is not None
    assert user.dn == f"uid=alice,ou=people,{SUFFIX}"
    assert user.email == "alice@example.org" and user.realname == "Alice"
    assert user.groups == (group_dn("developers").lower(),)
    assert not user.admin


def test_admin_group_member_is_admin(config: LdapConfig) -> None:
    user = LdapDirectory(config).authenticate("bob", PEOPLE["bob"][0])
    assert user is not None and user.admin


def test_groups_found_by_search_when_the_entry_has_no_membership_attribute(
    config: LdapConfig,
) -> None:
    directory = LdapDirectory(replace(config, group_membership_attribute="description"))
    user = directory.authenticate("alice", PEOPLE["alice"][0])
    assert user is not None and user.groups == (group_dn("developers").lower(),)


@pytest.mark.parametrize(
    ("name", "password"),
    [
        ("alice", "wrong"),
        ("alice", ""),  # an unauthenticated bind would "succeed"
        ("nobody", "x"),
        ("*", PEOPLE["alice"][0]),  # a filter wildcard is a literal
        ("alice)(uid=*", PEOPLE["alice"][0]),  # filter injection
        ("alice\x00", PEOPLE["alice"][0]),
        ("a" * 300, "x"),
    ],
)
def test_wrong_credentials_are_refused(config: LdapConfig, name: str, password: str) -> None:
    assert LdapDirectory(config).authenticate(name, password) is None


def test_user_filter_limits_who_may_log_in(config: LdapConfig) -> None:
    directory = LdapDirectory(replace(config, filter="(mail=carol@example.org)"))
    assert directory.authenticate("alice", PEOPLE["alice"][0]) is None
    assert directory.authenticate("carol", PEOPLE["carol"][0]) is not None


def test_wrong_search_password_is_the_servers_problem(config: LdapConfig) -> None:
    directory = LdapDirectory(replace(config, search_password="nope"))
    with pytest.raises(Unavailable, match="refused the search account"):
        directory.authenticate("alice", PEOPLE["alice"][0])


def test_unreachable_directory_is_unavailable(config: LdapConfig) -> None:
    directory = LdapDirectory(replace(config, url="ldap://127.0.0.1:9", timeout=2))
    with pytest.raises(Unavailable, match="cannot be used"):
        directory.authenticate("alice", PEOPLE["alice"][0])


@pytest.mark.parametrize(
    "changes",
    [{"url": "http://x"}, {"base_dn": ""}, {"scope": "tree"}, {"filter": "uid=x"}, {"timeout": 0}],
)
def test_bad_config_is_refused(config: LdapConfig, changes: dict[str, object]) -> None:
    with pytest.raises(InvalidArgument):
        replace(config, **changes)  # type: ignore[arg-type]
