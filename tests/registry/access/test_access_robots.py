"""Robot accounts: Harbor's names, a secret shown once, expiry, disable, refresh, delete, and
the permission list checked against the accesses a robot may hold."""

from __future__ import annotations

import pytest

from _infra.access import PASSWORD, Clock
from dockyard.errors import AlreadyExists, InvalidArgument, NameInvalid, NotFound
from dockyard.registry.access import Access, AccessService, RobotPermission
from dockyard.registry.auth import AuthenticationRequired
from dockyard.registry.identity import ANONYMOUS

IP = "127.0.0.1"
DAY = 86400
PULL = (Access("repository", "pull"),)


def project_robot(
    service: AccessService, name: str = "ci", *, duration: int = -1
) -> tuple[int, str, str]:
    if service.projects.find("team") is None:
        service.projects.create("team", owner_id=None)
    robot, secret = service.create_robot(
        ANONYMOUS, name, level="project", duration=duration,
        permissions=[RobotPermission("project", "team", PULL)], client_ip=IP,
    )  # fmt: skip
    return robot.id, robot.name, secret


def test_names_secret_and_record_follow_harbor(service: AccessService, clock: Clock) -> None:
    robot_id, name, secret = project_robot(service, duration=7)
    robot = service.robots.get(robot_id)
    assert name == robot.name == "robot$team+ci"
    assert robot.level == "project" and robot.duration == 7
    assert robot.expires_at == int(clock.now) + 7 * DAY
    assert robot.permissions == (RobotPermission("project", "team", PULL),)
    assert len(secret) == 32 and secret not in repr(robot)
    system, _ = service.robots.create(
        "ops",
        level="system",
        duration=-1,
        permissions=[RobotPermission("system", "/", (Access("project", "list"),))],
    )
    assert system.name == "robot$ops" and system.expires_at == -1 and system.level == "system"
    assert service.robots.by_login_name("robot$ops") == system
    assert service.audit.query().items[-1].operation == "create"


def test_the_secret_logs_in_and_nothing_else_does(service: AccessService) -> None:
    _, name, secret = project_robot(service)
    assert service.authenticate(name, secret, client_ip=IP).kind == "robot"
    for user, password in [
        (name, secret.lower()),
        (name, ""),
        ("robot$team+other", secret),
        ("robot$ci", secret),
        (name.removeprefix("robot$"), secret),
    ]:
        with pytest.raises(AuthenticationRequired):
            service.authenticate(user, password, client_ip=f"10.0.0.{len(password)}")


def test_an_expired_robot_is_refused(service: AccessService, clock: Clock) -> None:
    robot_id, name, secret = project_robot(service, duration=1)
    token_identity = service.authenticate(name, secret, client_ip=IP)
    clock.advance(DAY - 1)
    assert service.can(token_identity, "team", "repository", "pull")
    clock.advance(1)
    with pytest.raises(AuthenticationRequired):
        service.authenticate(name, secret, client_ip=IP)
    assert not service.can(token_identity, "team", "repository", "pull")
    assert service.audit.query().items[0].description == "the robot has expired"
    # a longer duration (counted from creation, as Harbor) brings it back
    service.update_robot(ANONYMOUS, robot_id, duration=2)
    assert service.authenticate(name, secret, client_ip=IP).name == name


def test_a_disabled_robot_is_refused_until_enabled(service: AccessService) -> None:
    robot_id, name, secret = project_robot(service)
    identity = service.authenticate(name, secret, client_ip=IP)
    service.update_robot(ANONYMOUS, robot_id, disabled=True)
    with pytest.raises(AuthenticationRequired):
        service.authenticate(name, secret, client_ip=IP)
    assert service.grant(identity, []) == [] and not service.can(
        identity, "team", "repository", "pull"
    )
    service.update_robot(ANONYMOUS, robot_id, disabled=False)
    assert service.can(
        service.authenticate(name, secret, client_ip=IP), "team", "repository", "pull"
    )


def test_refresh_makes_the_old_secret_stop_at_once(service: AccessService) -> None:
    robot_id, name, old = project_robot(service)
    new = service.refresh_robot_secret(ANONYMOUS, robot_id)
    assert new != old
    with pytest.raises(AuthenticationRequired):
        service.authenticate(name, old, client_ip=IP)
    assert service.authenticate(name, new, client_ip=IP).id == robot_id
    chosen = service.refresh_robot_secret(ANONYMOUS, robot_id, "Chosen123x")
    assert service.authenticate(name, chosen, client_ip=IP).id == robot_id
    with pytest.raises(InvalidArgument):
        service.refresh_robot_secret(ANONYMOUS, robot_id, "weak")


def test_delete_and_list(service: AccessService) -> None:
    robot_id, name, secret = project_robot(service)
    project_robot(service, "deploy")
    page = service.robots.list(project_id=service.projects.get("team").id, page_size=1)
    assert page.total == 2 and [r.name for r in page.items] == ["robot$team+ci"]
    assert [r.name for r in service.robots.list(name="deploy").items] == ["robot$team+deploy"]
    service.delete_robot(ANONYMOUS, robot_id)
    with pytest.raises(NotFound):
        service.robots.get(robot_id)
    with pytest.raises(AuthenticationRequired):
        service.authenticate(name, secret, client_ip=IP)
    # deleting the project takes its robots along
    service.projects.delete("team")
    assert service.robots.list().total == 0


@pytest.mark.parametrize(
    ("level", "permissions", "error"),
    [
        ("project", [], InvalidArgument),
        ("project", [RobotPermission("project", "team", ())], InvalidArgument),
        ("project", [RobotPermission("project", "team", (Access("repository", "fly"),))], InvalidArgument),
        ("project", [RobotPermission("project", "team", (Access("user", "create"),))], InvalidArgument),
        ("project", [RobotPermission("project", "*", PULL)], InvalidArgument),
        ("project", [RobotPermission("project", "team", PULL)] * 2, InvalidArgument),
        ("project", [RobotPermission("system", "/", (Access("project", "list"),))], InvalidArgument),
        ("project", [RobotPermission("project", "nope", PULL)], NotFound),
        ("system", [RobotPermission("system", "/", (Access("repository", "pull"),))], InvalidArgument),
        ("system", [RobotPermission("system", "team", (Access("project", "list"),))], InvalidArgument),
        ("system", [RobotPermission("project", "team", (Access("repository", "pull", "deny"),))], InvalidArgument),
        ("galaxy", [RobotPermission("project", "team", PULL)], InvalidArgument),
    ],
)  # fmt: skip
def test_harbors_permission_rules_refuse(
    service: AccessService, level: str, permissions: list[RobotPermission], error: type[Exception]
) -> None:
    service.projects.create("team", owner_id=None)
    with pytest.raises(error):
        service.robots.create("x", level=level, duration=-1, permissions=permissions)  # type: ignore[arg-type]
    assert service.robots.list().total == 0


@pytest.mark.parametrize(
    "name", ["CI", "a+b", "robot$x", "", "x" * 256, "ci;drop table x", "ci\u00e9"]
)
def test_robot_names_follow_harbors_rule(service: AccessService, name: str) -> None:
    service.projects.create("team", owner_id=None)
    with pytest.raises(NameInvalid):
        service.robots.create(
            name,
            level="project",
            duration=-1,
            permissions=[RobotPermission("project", "team", PULL)],
        )


@pytest.mark.parametrize("duration", [0, -2, 2**31])
def test_durations_are_days_or_minus_one(service: AccessService, duration: int) -> None:
    service.projects.create("team", owner_id=None)
    with pytest.raises(InvalidArgument):
        service.robots.create(
            "ci",
            level="project",
            duration=duration,
            permissions=[RobotPermission("project", "team", PULL)],
        )


def test_the_same_name_twice_is_a_conflict_but_not_across_projects(service: AccessService) -> None:
    project_robot(service)
    with pytest.raises(AlreadyExists):
        project_robot(service)
    service.projects.create("other", owner_id=None)
    robot, _ = service.robots.create(
        "ci", level="project", duration=-1, permissions=[RobotPermission("project", "other", PULL)]
    )
    assert robot.name == "robot$other+ci"


def test_a_project_robot_cannot_move_to_another_project(service: AccessService) -> None:
    robot_id, _, _ = project_robot(service)
    service.projects.create("other", owner_id=None)
    with pytest.raises(InvalidArgument):
        service.update_robot(
            ANONYMOUS, robot_id, permissions=[RobotPermission("project", "other", PULL)]
        )
    push = (Access("repository", "pull"), Access("repository", "push"))
    updated = service.update_robot(
        ANONYMOUS, robot_id, permissions=[RobotPermission("project", "team", push)]
    )
    assert updated.permissions[0].access == push


def test_user_password_is_not_a_robot_login(service: AccessService) -> None:
    service.users.create("ci", PASSWORD)
    project_robot(service)
    with pytest.raises(AuthenticationRequired):
        service.authenticate("robot$team+ci", PASSWORD, client_ip=IP)
