"""The console's sign-in form with LDAP users (a real slapd): a user of the directory signs in
with their directory password and sees what their group's role lets them see; a directory user
in no group signs in but sees none of the project; a wrong directory password is refused and
makes no session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _infra.console import close_app, push_with_history, sign_in
from _infra.projects_registry import PASSWORD, basic, projects_config, team_with_people
from _infra.registry_server import ASGIClient, AuthedClient
from _infra.slapd import PEOPLE, READER_DN, READER_PASSWORD, SUFFIX, group_dn, started_slapd
from dockyard.registry import RegistryApp
from dockyard.registry._projects_mode import open_access
from dockyard.registry._server import build_app
from dockyard.registry.access import Role


@dataclass
class Served:
    app: RegistryApp
    digest: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("console-ldap") / "data"
    with started_slapd() as slapd:
        config = projects_config(
            root,
            REGISTRY_AUTH_PROJECTS_LDAP_URL=slapd.url,
            REGISTRY_AUTH_PROJECTS_LDAP_SEARCHDN=READER_DN,
            REGISTRY_AUTH_PROJECTS_LDAP_SEARCHPASSWORD=READER_PASSWORD,
            REGISTRY_AUTH_PROJECTS_LDAP_BASEDN=f"ou=people,{SUFFIX}",
            REGISTRY_AUTH_PROJECTS_LDAP_FILTER="(objectClass=inetOrgPerson)",
            REGISTRY_AUTH_PROJECTS_LDAP_GROUPBASEDN=f"ou=groups,{SUFFIX}",
            REGISTRY_AUTH_PROJECTS_LDAP_GROUPADMINDN=group_dn("admins"),
        )
        app = build_app(config, access_log=False)
        assert config.access is not None
        access = open_access(config.access, app.registry.meta.db)
        try:
            admin = team_with_people(access)
            access.add_member(admin, "team", role_id=int(Role.DEVELOPER), group="developers",
                              ldap_group_dn=group_dn("developers"))  # fmt: skip
            with ASGIClient(app) as client:
                pushed = push_with_history(AuthedClient(client, basic("dev", PASSWORD)),
                                           "team/app", "v1")  # fmt: skip
            yield Served(app, pushed.digest)
        finally:
            close_app(app)


@pytest.fixture
def client(served: Served) -> Iterator[ASGIClient]:
    with ASGIClient(served.app) as c:
        yield c


def test_a_directory_user_signs_in_and_sees_their_groups_project(
    client: ASGIClient, served: Served
) -> None:
    r = sign_in(client, "alice", PEOPLE["alice"][0])
    assert r.status_code == 303, r.text
    assert "HttpOnly" in r.headers["set-cookie"] and "SameSite=Lax" in r.headers["set-cookie"]
    home = client.get("/")
    assert home.status_code == 200 and "alice" in home.text and "team" in home.text
    repo = client.get("/projects/team/repository", params={"name": "app"})
    assert repo.status_code == 200 and served.digest[:19] in repo.text


def test_a_directory_user_in_no_group_sees_nothing(client: ASGIClient, served: Served) -> None:
    assert sign_in(client, "carol", PEOPLE["carol"][0]).status_code == 303
    assert "team" not in client.get("/").text
    repo = client.get("/projects/team/repository", params={"name": "app"})
    assert repo.status_code in (403, 404) and served.digest not in repo.text


def test_a_wrong_directory_password_is_refused(client: ASGIClient) -> None:
    r = sign_in(client, "alice", "not-" + PEOPLE["alice"][0])
    assert r.status_code == 401 and "Wrong user name or password" in r.text
    assert "dockyard_session" not in r.headers.get("set-cookie", "")
    assert client.get("/").status_code == 303  # still signed out
