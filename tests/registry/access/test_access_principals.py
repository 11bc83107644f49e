"""Who holds what: anonymous, signed-in non-members, members, system admins and robots, in
public and private projects; and what a token request is granted (never more than asked)."""

from __future__ import annotations

import pytest

from _infra.access import PASSWORD
from dockyard.registry.access import Access, AccessService, RobotPermission, Role
from dockyard.registry.identity import ANONYMOUS, Identity, Scope, parse_scopes

IP = "127.0.0.1"


@pytest.fixture
def world(service: AccessService) -> dict[str, Identity]:
    """``pub`` (public) and ``priv`` (private) owned by alice; bob a developer in priv; eve a
    signed-in stranger; root a system admin."""
    alice = service.users.create("alice", PASSWORD)
    service.users.create("bob", PASSWORD)
    service.users.create("eve", PASSWORD)
    root = service.users.create("root", PASSWORD)
    service.users.set_sysadmin(root.id, True)
    service.projects.create("pub", owner_id=alice.id, public=True)
    service.projects.create("priv", owner_id=alice.id)
    service.add_member(ANONYMOUS, "priv", role_id=int(Role.DEVELOPER), username="bob")
    return {
        name: service.authenticate(name, PASSWORD, client_ip=IP)
        for name in ("alice", "bob", "eve", "root")
    }


def test_anonymous_pulls_public_projects_only(
    service: AccessService, world: dict[str, Identity]
) -> None:
    assert service.can(ANONYMOUS, "pub", "repository", "pull")
    assert service.can(ANONYMOUS, "pub", "artifact", "read")
    for resource, action in [
        ("repository", "push"),
        ("repository", "delete"),
        ("member", "list"),
        ("robot", "list"),
        ("project", "delete"),
    ]:
        assert not service.can(ANONYMOUS, "pub", resource, action)
    assert not service.can(ANONYMOUS, "priv", "repository", "pull")
    assert not service.can(ANONYMOUS, "priv", "project", "read")
    assert not service.can(ANONYMOUS, None, "project", "create")
    assert service.can(ANONYMOUS, None, "project", "list")


def test_a_stranger_is_a_reader_of_public_projects_and_nothing_in_private_ones(
    service: AccessService, world: dict[str, Identity]
) -> None:
    eve = world["eve"]
    assert service.can(eve, "pub", "repository", "pull")
    assert not service.can(eve, "pub", "repository", "push")
    assert not service.can(eve, "pub", "member", "read")
    assert not any(
        service.can(eve, "priv", r, a)
        for r, a in [("repository", "pull"), ("project", "read"), ("artifact", "list")]
    )
    assert service.can(eve, None, "project", "create")  # Harbor's default: everyone
    assert not service.can(eve, None, "user", "list")


def test_the_creator_is_project_admin_and_a_member_holds_its_role(
    service: AccessService, world: dict[str, Identity]
) -> None:
    assert service.can(world["alice"], "priv", "member", "create")
    assert service.can(world["alice"], "priv", "project", "delete")
    assert service.can(world["bob"], "priv", "repository", "push")
    assert not service.can(world["bob"], "priv", "repository", "delete")
    assert not service.can(world["bob"], "priv", "member", "create")
    assert not service.can(world["bob"], "missing", "repository", "pull")


def test_a_system_admin_may_do_everything(
    service: AccessService, world: dict[str, Identity]
) -> None:
    root = world["root"]
    assert service.can(root, "priv", "repository", "delete")
    assert service.can(root, None, "user", "create")
    assert service.can(root, None, "audit-log", "list")
    # demoted: the same identity (e.g. inside a token) loses it at once
    service.users.set_sysadmin(root.id or 0, False)
    assert not service.can(root, "priv", "repository", "pull")
    assert not service.can(root, None, "user", "create")


def test_a_forged_or_deleted_identity_holds_nothing(
    service: AccessService, world: dict[str, Identity]
) -> None:
    forged = Identity(kind="user", name="eve", id=world["eve"].id, sysadmin=True)
    assert not service.can(forged, None, "user", "create")  # the database says eve is no admin
    wrong_id = Identity(kind="user", name="alice", id=world["bob"].id)
    assert not service.can(wrong_id, "priv", "member", "create")
    service.users.delete(world["bob"].id or 0)
    assert not service.can(world["bob"], "priv", "repository", "pull")
    assert service.grant(world["bob"], parse_scopes(["repository:priv/app:pull"])) == []


def _robot(service: AccessService, *accesses: tuple[str, str], namespace: str = "priv") -> Identity:
    robot, secret = service.robots.create(
        "ci", level="project", duration=-1,
        permissions=[RobotPermission("project", namespace, tuple(Access(r, a) for r, a in accesses))],
    )  # fmt: skip
    return service.authenticate(robot.name, secret, client_ip=IP)


def test_a_robot_holds_its_permission_list_only(
    service: AccessService, world: dict[str, Identity]
) -> None:
    ci = _robot(service, ("repository", "pull"), ("repository", "push"))
    assert ci.kind == "robot" and ci.name == "robot$priv+ci"
    assert service.can(ci, "priv", "repository", "push")
    assert not service.can(ci, "priv", "repository", "delete")
    assert not service.can(ci, "priv", "member", "list")
    assert service.can(ci, "pub", "repository", "pull")  # public, as for anyone
    assert not service.can(ci, "pub", "repository", "push")
    assert not service.can(ci, None, "project", "create")


def test_a_system_robot_holds_system_and_per_project_accesses(
    service: AccessService, world: dict[str, Identity]
) -> None:
    _, secret = service.robots.create(
        "ops", level="system", duration=30,
        permissions=[
            RobotPermission("system", "/", (Access("project", "create"),)),
            RobotPermission("project", "priv", (Access("repository", "pull"),)),
        ],
    )  # fmt: skip
    ops = service.authenticate("robot$ops", secret, client_ip=IP)
    assert service.can(ops, None, "project", "create")
    assert not service.can(ops, None, "user", "create")
    assert service.can(ops, "priv", "repository", "pull")
    assert not service.can(ops, "priv", "repository", "push")
    service.projects.create("later", owner_id=None)
    assert not service.can(ops, "later", "repository", "pull")


# --- token scopes ---------------------------------------------------------------------------


def scopes(*texts: str) -> list[Scope]:
    return parse_scopes(texts)


def test_grant_gives_the_held_part_of_each_request(
    service: AccessService, world: dict[str, Identity]
) -> None:
    asked = scopes("repository:priv/app:pull,push,delete", "repository:pub/web:pull,push")
    assert service.grant(world["bob"], asked) == scopes(
        "repository:priv/app:pull,push", "repository:pub/web:pull"
    )
    assert service.grant(world["alice"], asked) == scopes(
        "repository:priv/app:pull,push,delete", "repository:pub/web:pull,push"
    )
    assert service.grant(ANONYMOUS, asked) == scopes("repository:pub/web:pull")
    assert service.grant(world["eve"], asked) == scopes("repository:pub/web:pull")


def test_grant_never_exceeds_the_request(
    service: AccessService, world: dict[str, Identity]
) -> None:
    asked = scopes("repository:priv/app:pull")
    for who in world.values():
        for granted in service.grant(who, asked):
            assert granted.type == "repository" and granted.name == "priv/app"
            assert set(granted.actions) <= {"pull"}
    assert service.grant(world["root"], asked) == asked
    assert service.grant(world["root"], []) == []


def test_star_is_granted_only_with_pull_push_and_delete(
    service: AccessService, world: dict[str, Identity]
) -> None:
    star = scopes("repository:priv/app:*")
    assert service.grant(world["alice"], star) == star
    assert service.grant(world["root"], star) == star
    # a developer asking for everything gets what a developer holds, not "*"
    assert service.grant(world["bob"], star) == scopes("repository:priv/app:pull,push")
    assert service.grant(world["eve"], star) == []


def test_escalation_attempts_get_nothing(
    service: AccessService, world: dict[str, Identity]
) -> None:
    bob = world["bob"]
    asked = [
        *scopes(
        "registry:catalog:*",            # the catalog is for system admins
        "repository:other/app:pull",     # a project that does not exist
        "repository:app:pull",           # a repository outside any project
        "repository:priv:pull",          # the project name alone is no repository in it
        "repository(plugin):priv/app:pull",
        "repository:priv/app:admin",     # an action the table does not know
        "repository:privx/app:pull",     # a prefix of a project is another project
        ),
        Scope("repository", "priv/app", ("scanner-pull",)),
    ]  # fmt: skip
    assert service.grant(bob, asked) == []
    assert service.grant(world["root"], scopes("registry:catalog:*")) == scopes(
        "registry:catalog:*"
    )


def test_a_robot_token_request_is_cut_to_its_permissions(
    service: AccessService, world: dict[str, Identity]
) -> None:
    ci = _robot(service, ("repository", "pull"))
    asked = scopes("repository:priv/app:pull,push", "repository:pub/x:pull,push",
                   "registry:catalog:*")  # fmt: skip
    assert service.grant(ci, asked) == scopes("repository:priv/app:pull", "repository:pub/x:pull")
