"""distribution 2.8.2 (the Debian ``docker-registry``) trusting a projects-mode dockyard as its
token issuer: ``auth.token`` points at dockyard's ``/service/token``, and the scopes dockyard
grants by project role decide what skopeo may do on the distribution registry."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _infra import backend
from _infra._process import run_command
from _infra._registry import RunningRegistry, docker_registry
from _infra.oci_layout import gzip_tar, oci_layout
from _infra.projects_registry import (
    ADMIN_PASSWORD,
    PASSWORD,
    SERVICE,
    projects_config,
    projects_env,
    team_with_people,
)
from _infra.registry_server import start_registry
from dockyard.registry._projects_mode import open_access
from dockyard.registry.access import Access, RobotPermission

pytestmark = pytest.mark.slow


@dataclass
class Fleet:
    dist: RunningRegistry
    layout: Path
    #: login → password (or robot secret)
    creds: dict[str, str]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    tmp = tmp_path_factory.mktemp("projects-interop")
    root = tmp / "dockyard"
    env = projects_env(root, DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD)
    with start_registry(root, env=env) as dockyard:
        config = projects_config(root)
        assert config.access is not None
        db = backend.database(root)
        access = open_access(config.access, db)
        admin = team_with_people(access)  # private project "team": dev developer, guest guest
        access.users.create("outsider", PASSWORD)
        pull_only = [RobotPermission("project", "team", (Access("repository", "pull"),))]
        robot, secret = access.create_robot(
            admin, "puller", level="project", permissions=pull_only, duration=-1
        )
        db.close()
        auth = {
            "realm": f"{dockyard.url}/service/token",
            "service": SERVICE,
            "issuer": config.access.issuer,
            "rootcertbundle": str(root / "token" / "signing-cert.pem"),
        }
        layout = tmp / "layout"
        oci_layout(layout, [gzip_tar("hello.txt", b"hello from a private project\n" * 40)])
        creds = {"dev": PASSWORD, "guest": PASSWORD, "outsider": PASSWORD, robot.name: secret}
        with docker_registry(tmp / "dist", token=auth) as dist:
            yield Fleet(dist, layout, creds)


def _push(fleet: Fleet, user: str, tag: str) -> bool:
    done = run_command(
        ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds",
         f"{user}:{fleet.creds[user]}", f"oci:{fleet.layout}:t",
         f"docker://{fleet.dist.host}/team/app:{tag}"],
        check=False, timeout=120,
    )  # fmt: skip
    return done.returncode == 0


def _pull(fleet: Fleet, user: str | None, tag: str = "1") -> bool:
    creds = ["--no-creds"] if user is None else ["--creds", f"{user}:{fleet.creds[user]}"]
    done = run_command(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", *creds,
         f"docker://{fleet.dist.host}/team/app:{tag}"],
        check=False, timeout=60,
    )  # fmt: skip
    return done.returncode == 0


def test_a_developer_pushes_and_pulls_a_private_project_through_distribution(
    fleet: Fleet,
) -> None:
    assert _push(fleet, "dev", "1")
    assert _pull(fleet, "dev")


@pytest.mark.parametrize(
    ("who", "pull", "push"),
    [("guest", True, False), ("outsider", False, False), ("robot$team+puller", True, False),
     (None, False, False)],
)  # fmt: skip
def test_distribution_enforces_the_roles_dockyard_granted(
    fleet: Fleet, who: str | None, pull: bool, push: bool
) -> None:
    if not _pull(fleet, "dev"):
        assert _push(fleet, "dev", "1")
    assert _pull(fleet, who) is pull
    if who is not None:
        assert _push(fleet, who, f"by-{who.replace('$', '-').replace('+', '-')}") is push
    assert _pull(fleet, "dev")  # what was refused changed nothing
