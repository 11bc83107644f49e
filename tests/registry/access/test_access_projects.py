"""Projects, their metadata and members; names as Harbor's; paging within Harbor's bounds;
SQL-looking and unicode names are refused by the rules or kept as plain data."""

from __future__ import annotations

import pytest

from _infra.access import PASSWORD
from dockyard.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NameInvalid,
    NotFound,
)
from dockyard.registry.access import MAX_PAGE_SIZE, AccessService, Role, project_of
from dockyard.registry.identity import ANONYMOUS
from dockyard.registry.metadata import Database, RegistryMetadata

IP = "127.0.0.1"


def test_create_sets_harbors_metadata_owner_and_quota(service: AccessService) -> None:
    alice = service.users.create("alice", PASSWORD)
    me = service.authenticate("alice", PASSWORD, client_ip=IP)
    project = service.create_project(
        me, "team-a", public=True, storage_limit=1024,
        metadata={"auto_scan": True, "severity": "High", "prevent_vul": "false"},
    )  # fmt: skip
    assert project.public and project.owner_name == "alice" and project.owner_id == alice.id
    assert project.metadata == {
        "public": "true",
        "auto_scan": "true",
        "severity": "high",
        "prevent_vul": "false",
    }
    assert service.quotas.get("team-a").hard == 1024
    [member] = service.members.list(project.id).items
    assert (member.entity_name, member.role_id, member.role_name) == ("alice", 1, "projectAdmin")
    with pytest.raises(AlreadyExists):
        service.projects.create("team-a", owner_id=None)
    assert service.audit.query().items[0].resource == "team-a"


@pytest.mark.parametrize(
    "metadata",
    [{"public": "yes"}, {"severity": "apocalyptic"}, {"color": "blue"}, {"auto_scan": "x" * 300}],
)
def test_bad_metadata_is_refused(service: AccessService, metadata: dict[str, str]) -> None:
    with pytest.raises(InvalidArgument):
        service.projects.create("team", owner_id=None, metadata=metadata)
    assert service.projects.find("team") is None


def test_update_metadata_keeps_the_rest(service: AccessService) -> None:
    service.projects.create("team", owner_id=None, metadata={"auto_scan": "true"})
    updated = service.update_project(ANONYMOUS, "team", {"public": True})
    assert updated.metadata == {"public": "true", "auto_scan": "true"}
    assert service.projects.delete_metadata("team", ["auto_scan", "public"]).metadata == {
        "public": "true"
    }


@pytest.mark.parametrize(
    "name",
    ["Team", "team/app", "-team", "team-", "te..am", "", "a" * 256, "team'; DROP TABLE x;--",
     "t\u00e9am", "\u56e2\u961f", "team\n", "team name"],
)  # fmt: skip
def test_project_names_follow_harbors_rule(service: AccessService, name: str) -> None:
    with pytest.raises(NameInvalid):
        service.projects.create(name, owner_id=None)


def test_sql_looking_and_unicode_names_are_plain_data(service: AccessService) -> None:
    odd = ["robert'); DROP TABLE access_users;--", "\u00e9l\u00e8ve \u5b66\u751f", "%_%", "a\\b"]
    for name in odd:
        service.users.create(name, PASSWORD)
    assert [service.users.by_name(n).username for n in odd] == odd
    assert service.users.list(username="%", fuzzy=True, page_size=100).total == 1  # only "%_%"
    assert service.users.list(page_size=100).total == len(odd)
    assert service.authenticate(odd[0], PASSWORD, client_ip=IP).name == odd[0]
    assert service.projects.list(name="%").total == 0
    with pytest.raises(NotFound):
        service.users.by_name("' OR '1'='1")


@pytest.mark.parametrize(
    "name", ["robot$x", "ROBOT$x", "", "x" * 256, "a:b", " alice", "tab\there", "nul\x00", "bidi\u202e"]
)  # fmt: skip
def test_user_names_are_bounded(service: AccessService, name: str) -> None:
    with pytest.raises(InvalidArgument):
        service.users.create(name, PASSWORD)


def test_list_filters_and_visibility(service: AccessService) -> None:
    alice = service.users.create("alice", PASSWORD)
    service.users.create("bob", PASSWORD)
    me = service.authenticate("alice", PASSWORD, client_ip=IP)
    bob = service.authenticate("bob", PASSWORD, client_ip=IP)
    for i in range(12):
        service.projects.create(f"p{i:02d}", owner_id=alice.id if i % 2 else None, public=i < 3)
    everything = service.projects.list(page_size=100)
    assert everything.total == 12 and [p.name for p in everything.items][:2] == ["p00", "p01"]
    assert service.projects.list(public=True).total == 3
    assert service.projects.list(public=False).total == 9
    assert service.projects.list(owner="alice").total == 6
    assert [p.name for p in service.projects.list(name="p1").items] == ["p10", "p11"]
    page = service.projects.list(page=2, page_size=5)
    assert [p.name for p in page.items] == ["p05", "p06", "p07", "p08", "p09"] and page.total == 12
    assert service.projects.list(page=9, page_size=5).items == []
    # a non-admin sees public projects and their own; with their role ids
    mine = service.list_projects(me, page_size=100)
    assert mine.total == 3 + 5  # p00-p02 public, p01 counted once, p03..p11 odd ones
    assert {p.name: p.current_user_role_ids for p in mine.items}["p03"] == (
        int(Role.PROJECT_ADMIN),
    )
    assert service.list_projects(bob, page_size=100).total == 3
    assert service.list_projects(ANONYMOUS, page_size=100).total == 3


@pytest.mark.parametrize(("page", "page_size"), [(0, 10), (1, 0), (1, MAX_PAGE_SIZE + 1), (-1, 5)])
def test_paging_outside_harbors_bounds_is_refused(
    service: AccessService, page: int, page_size: int
) -> None:
    # Harbor's swagger: page_size has "maximum: 100"; pages count from 1
    for listing in (
        lambda: service.projects.list(page=page, page_size=page_size),
        lambda: service.users.list(page=page, page_size=page_size),
        lambda: service.robots.list(page=page, page_size=page_size),
        lambda: service.audit.query(page=page, page_size=page_size),
        lambda: service.quotas.list(page=page, page_size=page_size),
    ):
        with pytest.raises(InvalidArgument):
            listing()


def test_delete_is_refused_while_repositories_exist(service: AccessService, db: Database) -> None:
    service.projects.create("team", owner_id=None)
    service.projects.create("team2", owner_id=None)
    RegistryMetadata(db).add_blob("team/app", "sha256:" + "a" * 64, 3)
    RegistryMetadata(db).add_blob("team_x/app", "sha256:" + "b" * 64, 3)  # not in "team"
    assert service.projects.get("team").repo_count == 1
    with pytest.raises(FailedPrecondition) as caught:
        service.delete_project(ANONYMOUS, "team")
    assert caught.value.http_status == 412 and "1 repository" in caught.value.message
    service.delete_project(ANONYMOUS, "team2")
    service.delete_project(ANONYMOUS, "team", force=True)
    with pytest.raises(NotFound):
        service.projects.get("team")


def test_members_add_update_remove(service: AccessService) -> None:
    service.users.create("alice", PASSWORD)
    project = service.projects.create("team", owner_id=None)
    member = service.add_member(ANONYMOUS, "team", role_id=int(Role.GUEST), username="alice")
    with pytest.raises(AlreadyExists):
        service.add_member(ANONYMOUS, "team", role_id=int(Role.DEVELOPER), username="alice")
    updated = service.update_member(ANONYMOUS, "team", member.id, int(Role.MAINTAINER))
    assert updated.role_name == "maintainer"
    group = service.add_member(ANONYMOUS, "team", role_id=2, group="devs")
    assert (group.entity_type, group.entity_name) == ("g", "devs")
    assert [m.entity_name for m in service.members.list(project.id, entityname="dev").items] == [
        "devs"
    ]
    for bad in (0, 6, -1):
        with pytest.raises(InvalidArgument):
            service.update_member(ANONYMOUS, "team", member.id, bad)
    with pytest.raises(NotFound):
        service.add_member(ANONYMOUS, "team", role_id=2, username="nobody")
    with pytest.raises(InvalidArgument):
        service.add_member(ANONYMOUS, "team", role_id=2)
    service.remove_member(ANONYMOUS, "team", member.id)
    with pytest.raises(NotFound):
        service.remove_member(ANONYMOUS, "team", member.id)
    operations = [e.operation for e in service.audit.query(page_size=100).items]
    assert operations == ["delete", "create", "update", "create"]


@pytest.mark.parametrize(
    ("repository", "project"), [("team/app", "team"), ("team/a/b/c", "team"), ("t.x/app", "t.x")]
)
def test_project_of(repository: str, project: str) -> None:
    assert project_of(repository) == project


@pytest.mark.parametrize("repository", ["app", "/app", "team/", ""])
def test_a_repository_outside_projects(repository: str) -> None:
    with pytest.raises(NameInvalid):
        project_of(repository)
