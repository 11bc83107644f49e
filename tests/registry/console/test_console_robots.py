"""The project page's robots and quota, in-process: a project admin creates a robot (its
secret shown once and working), disables, enables and deletes it; a developer sees the
robots but no form; only a system administrator may set the storage limit; every change
needs the CSRF token; robot names and descriptions are text, never markup."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _infra.console import close_app, csrf_of, projects_app, push_with_history, sign_in
from _infra.projects_registry import (
    ADMIN_PASSWORD,
    PASSWORD,
    basic,
    team_with_people,
)
from _infra.registry_server import ASGIClient, AuthedClient
from dockyard.registry import RegistryApp
from dockyard.registry.access import AccessService, Role

SCRIPT = "<script>alert(1)</script>"
_SECRET = re.compile(r'id="robot-secret" readonly value="([^"]+)"')


@dataclass
class Served:
    app: RegistryApp
    access: AccessService


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("console-robots") / "data"
    app, access = projects_app(root)
    admin = team_with_people(access, storage_limit=10 << 20)
    access.users.create("boss", PASSWORD)
    access.add_member(admin, "team", role_id=int(Role.PROJECT_ADMIN), username="boss")
    with ASGIClient(app) as client:
        push_with_history(AuthedClient(client, basic("dev", PASSWORD)), "team/app", "v1")
    yield Served(app, access)
    close_app(app)


@pytest.fixture
def client(served: Served) -> Iterator[ASGIClient]:
    with ASGIClient(served.app) as c:
        yield c


def _robots(served: Served) -> dict[str, bool]:
    """name → disabled, of the project's robots."""
    ref = served.access.projects.ref("team")
    assert ref is not None
    found = served.access.robots.list(level="project", project_id=ref[0], page=1, page_size=100)
    return {r.name: r.disabled for r in found.items}


def _robot_id(served: Served, name: str) -> int:
    ref = served.access.projects.ref("team")
    assert ref is not None
    found = served.access.robots.list(level="project", project_id=ref[0], page=1, page_size=100)
    return next(r.id for r in found.items if r.name == name)


def test_a_project_admin_makes_uses_disables_and_deletes_a_robot(
    client: ASGIClient, served: Served
) -> None:
    assert sign_in(client, "boss", PASSWORD).status_code == 303
    page = client.get("/projects/team")
    assert page.status_code == 200 and "New robot account" in page.text
    assert "Set limit" not in page.text  # a project admin reads the quota, cannot change it
    token = csrf_of(page.text)
    form = {"csrf": token, "robot_name": "ci", "description": SCRIPT, "duration": "7",
            "access_pull": "1", "access_push": "1"}  # fmt: skip
    made = client.post("/projects/team/robots", data=form)
    assert made.status_code == 200, made.text
    found = _SECRET.search(made.text)
    assert found is not None, "the secret is shown once"
    secret = found.group(1)
    assert "robot$team+ci" in made.text and 'data-copy="robot-secret"' in made.text
    assert SCRIPT not in made.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in made.text
    assert "Pull images, Push images" in made.text
    assert secret not in client.get("/projects/team").text  # never again
    name = "robot$team+ci"
    # the secret works: the robot may read the project through the API and pull
    r = client.get("/api/v2.0/projects/team/repositories", headers=basic(name, secret))
    assert r.status_code == 200 and "team/app" in r.text

    robot_id = _robot_id(served, name)
    r = client.post(f"/projects/team/robots/{robot_id}/disable", data={"csrf": token})
    assert r.status_code == 303 and _robots(served)[name] is True
    r = client.get("/api/v2.0/projects/team/repositories", headers=basic(name, secret))
    assert r.status_code == 401
    assert ">disabled<" in client.get("/projects/team").text
    r = client.post(f"/projects/team/robots/{robot_id}/enable", data={"csrf": token})
    assert r.status_code == 303 and _robots(served)[name] is False
    r = client.post(f"/projects/team/robots/{robot_id}/delete", data={"csrf": token})
    assert r.status_code == 303 and name not in _robots(served)


def test_robot_forms_need_the_csrf_token_and_say_what_is_wrong(
    client: ASGIClient, served: Served
) -> None:
    assert sign_in(client, "boss", PASSWORD).status_code == 303
    token = csrf_of(client.get("/projects/team").text)
    good = {"robot_name": "nocsrf", "access_pull": "1"}
    for csrf in (None, "", token[:-2] + "xx"):
        data = dict(good) if csrf is None else {**good, "csrf": csrf}
        assert client.post("/projects/team/robots", data=data).status_code == 403
    assert "robot$team+nocsrf" not in _robots(served)
    r = client.post("/projects/team/robots", data={"csrf": token, "robot_name": "none"})
    assert r.status_code == 400 and "choose at least one thing" in r.text
    r = client.post("/projects/team/robots", data={"csrf": token, "robot_name": "x",
                                                   "access_pull": "1", "duration": "soon"})  # fmt: skip
    assert r.status_code == 400 and "number of days" in r.text
    made = client.post("/projects/team/robots",
                       data={**good, "robot_name": "kept", "csrf": token})  # fmt: skip
    assert made.status_code == 200
    robot_id = _robot_id(served, "robot$team+kept")
    for action in ("disable", "delete"):
        r = client.post(f"/projects/team/robots/{robot_id}/{action}", data={})
        assert r.status_code == 403
    assert _robots(served)["robot$team+kept"] is False
    # a robot of this project cannot be reached through another project's page
    served.access.create_project(served.access.identity_of("admin"), "other")  # type: ignore[arg-type]
    with ASGIClient(served.app) as admin:
        assert sign_in(admin, "admin", ADMIN_PASSWORD).status_code == 303
        admin_token = csrf_of(admin.get("/").text)
        r = admin.post(f"/projects/other/robots/{robot_id}/delete", data={"csrf": admin_token})
        assert r.status_code == 404
    assert "robot$team+kept" in _robots(served)


def test_a_developer_sees_robots_and_quota_but_changes_nothing(
    client: ASGIClient, served: Served
) -> None:
    assert sign_in(client, "boss", PASSWORD).status_code == 303
    token = csrf_of(client.get("/projects/team").text)
    client.post("/projects/team/robots",
                data={"csrf": token, "robot_name": "seen", "access_pull": "1"})  # fmt: skip
    robot_id = _robot_id(served, "robot$team+seen")
    with ASGIClient(served.app) as dev:
        assert sign_in(dev, "dev", PASSWORD).status_code == 303
        page = dev.get("/projects/team").text
        assert "robot$team+seen" in page and "Robot accounts" in page
        assert "New robot account" not in page and "Set limit" not in page
        assert "Storage quota" in page and "of 10.0 MiB" in page
        dev_token = csrf_of(page)
        for path, data in ((f"/projects/team/robots/{robot_id}/delete", {}),
                           ("/projects/team/robots", {"robot_name": "mine", "access_pull": "1"}),
                           ("/projects/team/quota", {"limit": "-1"})):  # fmt: skip
            r = dev.post(path, data={**data, "csrf": dev_token})
            assert r.status_code == 403, (path, r.status_code)
            assert "may not" in r.text
    assert "robot$team+seen" in _robots(served) and "robot$team+mine" not in _robots(served)
    assert served.access.quotas.get("team").hard == 10 << 20
    with ASGIClient(served.app) as outsider:
        served.access.users.create("stranger", PASSWORD)
        assert sign_in(outsider, "stranger", PASSWORD).status_code == 303
        r = outsider.get("/projects/team")
        assert r.status_code in (403, 404) and "robot$team" not in r.text


def test_a_system_admin_sets_the_storage_limit(client: ASGIClient, served: Served) -> None:
    assert sign_in(client, "admin", ADMIN_PASSWORD).status_code == 303
    page = client.get("/projects/team").text
    assert "Set limit" in page and '<meter id="quota-meter"' in page
    token = csrf_of(page)
    r = client.post("/projects/team/quota", data={"limit": "2", "unit": "GiB"})
    assert r.status_code == 403 and served.access.quotas.get("team").hard == 10 << 20
    r = client.post("/projects/team/quota", data={"limit": "lots", "unit": "GiB", "csrf": token})
    assert r.status_code == 400 and "number of GiB" in r.text
    r = client.post("/projects/team/quota", data={"limit": "2", "unit": "GiB", "csrf": token})
    assert r.status_code == 303 and served.access.quotas.get("team").hard == 2 << 30
    assert "of 2.0 GiB" in client.get("/projects/team").text
    r = client.post("/projects/team/quota", data={"limit": "", "unit": "GiB", "csrf": token})
    assert r.status_code == 303 and served.access.quotas.get("team").hard == -1
    page = client.get("/projects/team").text
    assert "used of no limit" in page and "<meter" not in page
