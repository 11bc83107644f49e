"""Harbor's permission table, cell by cell: every role by every (resource, action).

The expected table below is written out from goharbor/harbor
``src/common/rbac/project/rbac_role.go`` (``rolePoliciesMap``) and
``src/common/rbac/project/rbac_util.go`` (``publicProjectPolicies``), independently of
dockyard's transcription; Harbor's ``ResourceSelf`` (the project itself) is spelt ``project``.
Each cell is asked through ``AccessService.can`` for a real user holding that role in a real
project, so the table, the membership lookup and the public-project rule are all exercised.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra.access import PASSWORD, access_database
from dockyard.registry.access import (
    PUBLIC_PROJECT_POLICIES,
    ROLE_POLICIES,
    AccessService,
    Role,
)
from dockyard.registry.identity import ANONYMOUS, Identity
from dockyard.registry.metadata import Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """The table is about data, not storage: one kind of database is enough here (the other
    modules run against both)."""
    database = access_database(tmp_path)
    yield database
    database.close()


# rbac_role.go, rolePoliciesMap, one "resource:action" per Harbor policy line
HARBOR: dict[Role, str] = {
    Role.PROJECT_ADMIN: """
        project:read project:update project:delete
        member:create member:read member:update member:delete member:list
        metadata:create metadata:read metadata:update metadata:delete
        log:list
        label:create label:read label:update label:delete label:list
        quota:read
        repository:create repository:read repository:update repository:delete repository:list
        repository:pull repository:push
        tag-retention:create tag-retention:read tag-retention:update tag-retention:delete
        tag-retention:list tag-retention:operate
        immutable-tag:create immutable-tag:update immutable-tag:delete immutable-tag:list
        configuration:read configuration:update
        robot:create robot:read robot:update robot:delete robot:list
        notification-policy:create notification-policy:update notification-policy:delete
        notification-policy:list notification-policy:read
        scan:create scan:read scan:stop sbom:create sbom:stop sbom:read
        scanner:read scanner:create
        artifact:create artifact:read artifact:delete artifact:list artifact-addition:read
        tag:list tag:create tag:delete
        accessory:list
        artifact-label:create artifact-label:delete
        preheat-policy:create preheat-policy:read preheat-policy:update preheat-policy:delete
        preheat-policy:list
        export-cve:create export-cve:read export-cve:list
    """,
    Role.MAINTAINER: """
        project:read
        member:read member:list
        metadata:read
        quota:read
        label:create label:read label:update label:delete label:list
        repository:create repository:read repository:update repository:delete repository:list
        repository:push repository:pull
        tag-retention:create tag-retention:read tag-retention:update tag-retention:delete
        tag-retention:list tag-retention:operate
        accessory:list
        immutable-tag:create immutable-tag:update immutable-tag:delete immutable-tag:list
        configuration:read
        robot:read robot:list
        notification-policy:read notification-policy:list
        scan:create scan:read scan:stop sbom:create sbom:stop sbom:read
        scanner:read
        artifact:create artifact:read artifact:delete artifact:list artifact-addition:read
        tag:list tag:create tag:delete
        artifact-label:create artifact-label:delete
        export-cve:create export-cve:read export-cve:list
    """,
    Role.DEVELOPER: """
        project:read
        member:read member:list
        label:read label:list
        quota:read
        repository:create repository:read repository:update repository:list repository:push
        repository:pull
        tag-retention:create tag-retention:read tag-retention:update tag-retention:delete
        tag-retention:list tag-retention:operate
        configuration:read
        robot:read robot:list
        scan:read sbom:read
        scanner:read
        artifact:create artifact:read artifact:list artifact-addition:read
        tag:list tag:create
        accessory:list
        artifact-label:create artifact-label:delete
        export-cve:create export-cve:read export-cve:list
    """,
    Role.GUEST: """
        project:read
        member:read member:list
        label:read label:list
        quota:read
        repository:read repository:list repository:pull
        configuration:read
        robot:read robot:list
        scan:read sbom:read
        scanner:read
        tag:list accessory:list
        artifact:read artifact:list artifact-addition:read
    """,
    Role.LIMITED_GUEST: """
        project:read
        quota:read
        repository:list repository:read repository:pull
        configuration:read
        scan:read sbom:read
        scanner:read
        tag:list accessory:list
        artifact:read artifact:list artifact-addition:read
    """,
}

# rbac_util.go, publicProjectPolicies
HARBOR_PUBLIC = """
    project:read
    label:read label:list
    repository:list repository:pull
    scan:read scanner:read
    tag:list
    artifact:read artifact:list artifact-addition:read accessory:list
"""


def cells(text: str) -> set[tuple[str, str]]:
    out = set()
    for word in text.split():
        resource, _, action = word.partition(":")
        out.add((resource, action))
    return out


EXPECTED = {role: cells(text) for role, text in HARBOR.items()}
EXPECTED_PUBLIC = cells(HARBOR_PUBLIC)
#: Every cell any role holds, plus cells no project role holds (system-level, unknown).
UNIVERSE = sorted(
    set().union(*EXPECTED.values())
    | {
        ("catalog", "read"), ("user", "create"), ("audit-log", "list"), ("project", "create"),
        ("repository", "scanner-pull"), ("repository", "*"), ("*", "*"), ("member", "push"),
    }
)  # fmt: skip


def test_the_transcription_is_harbors_table() -> None:
    assert {role: set(policies) for role, policies in ROLE_POLICIES.items()} == EXPECTED
    assert set(PUBLIC_PROJECT_POLICIES) == EXPECTED_PUBLIC


def _member(service: AccessService, role: Role, *, public: bool) -> Identity:
    owner = service.users.create("owner", PASSWORD)
    service.projects.create("team", owner_id=owner.id, public=public)
    service.users.create("carol", PASSWORD)
    service.add_member(ANONYMOUS, "team", role_id=int(role), username="carol")
    return service.authenticate("carol", PASSWORD, client_ip="127.0.0.1")


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.harbor_name)
def test_every_cell_of_a_role_in_a_private_project(service: AccessService, role: Role) -> None:
    carol = _member(service, role, public=False)
    wrong = [
        (resource, action, expected)
        for resource, action in UNIVERSE
        if service.can(carol, "team", resource, action)
        != (expected := (resource, action) in EXPECTED[role])
    ]
    assert wrong == [], f"{role.harbor_name}: cells that differ from Harbor's table"
    # the same role gives nothing in another project
    service.projects.create("other", owner_id=None)
    assert not any(service.can(carol, "other", r, a) for r, a in UNIVERSE)


@pytest.mark.parametrize("role", [Role.LIMITED_GUEST, Role.DEVELOPER], ids=lambda r: r.harbor_name)
def test_a_public_project_adds_the_public_policies_to_a_role(
    service: AccessService, role: Role
) -> None:
    carol = _member(service, role, public=True)
    for resource, action in UNIVERSE:
        expected = (resource, action) in EXPECTED[role] | EXPECTED_PUBLIC
        assert service.can(carol, "team", resource, action) == expected, (resource, action)


def test_roles_of_a_user_and_its_group_add_up(service: AccessService) -> None:
    service.projects.create("team", owner_id=None)
    service.users.create("carol", PASSWORD)
    service.add_member(ANONYMOUS, "team", role_id=int(Role.LIMITED_GUEST), username="carol")
    service.add_member(ANONYMOUS, "team", role_id=int(Role.DEVELOPER), group="builders")
    alone = service.authenticate("carol", PASSWORD, client_ip="127.0.0.1")
    assert not service.can(alone, "team", "repository", "push")
    in_group = Identity(kind="user", name="carol", id=alone.id, groups=("builders",))
    assert service.can(in_group, "team", "repository", "push")
    assert service.can(in_group, "team", "member", "list")  # developer's, not limitedGuest's
    assert not service.can(in_group, "team", "repository", "delete")
