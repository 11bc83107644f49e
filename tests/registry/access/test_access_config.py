"""``auth.projects`` in the registry config: REGISTRY_AUTH=projects, every key settable from the
environment, unknown keys and an incomplete ldap section stop start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument
from dockyard.registry.access import AccessConfig
from dockyard.registry.config import load


def test_registry_auth_projects_turns_it_on_with_defaults() -> None:
    config = load(None, {"REGISTRY_AUTH": "projects"})
    assert config.access == AccessConfig()
    assert config.htpasswd is None and config.auth_enabled
    assert load(None, {}).access is None


def test_every_key_from_the_environment() -> None:
    config = load(
        None,
        {
            "REGISTRY_AUTH": "projects",
            "REGISTRY_AUTH_PROJECTS_REALM": "teams",
            "REGISTRY_AUTH_PROJECTS_PASSWORDCOST": "12",
            "REGISTRY_AUTH_PROJECTS_TOKENEXPIRATION": "10m",
            "REGISTRY_AUTH_PROJECTS_LOCKOUT_DELAYAFTER": "2",
            "REGISTRY_AUTH_PROJECTS_LOCKOUT_REFUSEAFTER": "4",
            "REGISTRY_AUTH_PROJECTS_LOCKOUT_WINDOW": "5m",
            "REGISTRY_AUTH_PROJECTS_LOCKOUT_DELAY": "0",
            "REGISTRY_AUTH_PROJECTS_LOCKOUT_MAXENTRIES": "100",
            "REGISTRY_AUTH_PROJECTS_AUDIT_RETENTION": "0",
            "REGISTRY_AUTH_PROJECTS_AUDIT_MAXROWS": "500",
        },
    )
    access = config.access
    assert access is not None
    assert (access.realm, access.password_cost, access.token_expiration) == ("teams", 12, 600.0)
    lock = access.lockout
    assert (lock.delay_after, lock.refuse_after, lock.window, lock.delay, lock.max_entries) == (
        2, 4, 300.0, 0.0, 100,
    )  # fmt: skip
    assert access.audit_retention is None and access.audit_max_rows == 500


def test_the_yaml_shape(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text(
        "version: 0.1\nauth:\n  projects:\n    lockout: {refuseafter: 20, window: 1h}\n"
        "    audit: {retention: 720h}\n"
    )
    access = load(path, {}).access
    assert access is not None
    assert access.lockout.refuse_after == 20 and access.lockout.window == 3600.0
    assert access.audit_retention == 720 * 3600.0


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"REGISTRY_AUTH_PROJECTS_LOCKOUT_REFUSE": "3"}, InvalidArgument),
        ({"REGISTRY_AUTH_PROJECTS_PASSWORD": "x"}, InvalidArgument),
        ({"REGISTRY_AUTH_PROJECTS_LDAP_URL": "ldap://127.0.0.1"}, InvalidArgument),  # no basedn
        (
            {"REGISTRY_AUTH_PROJECTS_LDAP_BASEDN": "o", "REGISTRY_AUTH_PROJECTS_LDAP_URL": "x"},
            InvalidArgument,
        ),
        ({"REGISTRY_AUTH_PROJECTS_LDAP_SEARCH_DN": "cn=x"}, InvalidArgument),
        ({"REGISTRY_AUTH_PROJECTS_PASSWORDCOST": "3"}, InvalidArgument),
        ({"REGISTRY_AUTH_PROJECTS_TOKENEXPIRATION": "48h"}, InvalidArgument),
        ({"REGISTRY_AUTH_PROJECTS_LOCKOUT_DELAYAFTER": "11"}, InvalidArgument),
        ({"REGISTRY_AUTH_PROJECTS_LOCKOUT_WINDOW": "soon"}, InvalidArgument),
        ({"REGISTRY_AUTH_PROJECTS_AUDIT_MAXROWS": "0"}, InvalidArgument),
    ],
)
def test_mistakes_stop_start_up(env: dict[str, str], error: type[Exception]) -> None:
    with pytest.raises(error):
        load(None, {"REGISTRY_AUTH": "projects", **env})


def test_projects_and_htpasswd_together_are_refused() -> None:
    with pytest.raises(InvalidArgument):
        load(
            None,
            {
                "REGISTRY_AUTH": "projects",
                "REGISTRY_AUTH_HTPASSWD_REALM": "r",
                "REGISTRY_AUTH_HTPASSWD_PATH": "/nonexistent",
            },
        )
