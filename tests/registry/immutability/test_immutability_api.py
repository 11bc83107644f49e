"""Immutable tag rules through the real projects-mode app (in process, over ASGI): Harbor's
``/immutabletagrules`` API (answers checked against Harbor's definitions, its errors, who may
use it) and the guard they drive — ``/v2/`` pushes and deletes and the API's tag, artifact and
repository endpoints all refuse to move or delete a protected tag."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from _infra.harbor_api import check_created, check_empty, check_error, check_list, check_one
from _infra.projects_registry import (
    ADMIN_PASSWORD,
    PASSWORD,
    basic,
    projects_config,
    team_with_people,
)
from _infra.registry_server import ASGIClient, AuthedClient, error_code, push_image
from dockyard.registry import RegistryApp
from dockyard.registry._projects_mode import open_access
from dockyard.registry._server import build_app
from dockyard.registry.access import AccessService, Role
from dockyard.registry.immutability import rules_of

API = "/api/v2.0"
ADMIN = basic("admin", ADMIN_PASSWORD)
DEV = basic("dev", PASSWORD)
GUEST = basic("guest", PASSWORD)
KEEPER = basic("keeper", PASSWORD)


@dataclass
class Served:
    app: RegistryApp
    client: ASGIClient
    access: AccessService

    def project(self, name: str) -> int:
        """A new project with admin, dev (developer), guest and keeper (maintainer); its id."""
        admin = team_with_people(self.access, name)
        if self.access.users.find("keeper") is None:
            self.access.users.create("keeper", PASSWORD)
        self.access.add_member(admin, name, role_id=int(Role.MAINTAINER), username="keeper")
        return self.access.projects.get(name).id

    def add_rule(self, project: str, body: dict[str, Any], who: dict[str, str] = ADMIN) -> int:
        r = self.client.post(f"{API}/projects/{project}/immutabletagrules", json=body,
                             headers=who)  # fmt: skip
        return int(check_created(r, f"{API}/projects/{project}/immutabletagrules"))

    def rules(self, project: str, **params: str) -> list[Any]:
        r = self.client.get(f"{API}/projects/{project}/immutabletagrules", params=params,
                            headers=ADMIN)  # fmt: skip
        return check_list(r, "ImmutableRule")


def rule(
    tags: str = "v*.*.*",
    repositories: str = "**",
    *,
    tag_decoration: str = "matches",
    repo_decoration: str = "repoMatches",
    **extra: Any,
) -> dict[str, Any]:
    """Harbor's ImmutableRule body, as Harbor's portal sends it."""
    return {
        "action": "immutable",
        "template": "immutable_template",
        "priority": 0,
        "tag_selectors": [{"kind": "doublestar", "decoration": tag_decoration, "pattern": tags}],
        "scope_selectors": {
            "repository": [
                {"kind": "doublestar", "decoration": repo_decoration, "pattern": repositories}
            ]
        },
        **extra,
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("immutability") / "data"
    config = projects_config(root)
    app = build_app(config, access_log=False)
    access = open_access(config.access, app.registry.meta.db)  # type: ignore[arg-type]
    with ASGIClient(app) as client:
        yield Served(app, client, access)
    for stop in app.on_shutdown:
        stop()
    app.registry.close()


def test_rules_are_listed_created_changed_and_deleted_as_harbor_does(served: Served) -> None:
    pid = served.project("crud")
    first = served.add_rule("crud", rule("{v*.*.*,latest}"))
    second = served.add_rule(str(pid), rule("release-*", "web/**"))  # by id, as Harbor's UI
    third = served.add_rule("crud", rule("**", "base", tag_decoration="excludes"))
    listed = served.rules("crud")
    assert [r["id"] for r in listed] == [first, second, third]
    assert listed[0] == {
        "id": first, "priority": 0, "disabled": False, "action": "immutable",
        "template": "immutable_template",
        "tag_selectors": [{"kind": "doublestar", "decoration": "matches",
                           "pattern": "{v*.*.*,latest}"}],
        "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches",
                                            "pattern": "**"}]},
    }  # fmt: skip
    r = served.client.get(f"{API}/projects/crud/immutabletagrules",
                          params={"page": "1", "page_size": "2"}, headers=ADMIN)  # fmt: skip
    assert [x["id"] for x in check_list(r, "ImmutableRule")] == [first, second]
    assert r.headers["x-total-count"] == "3"
    assert 'rel="next"' in r.headers["link"]
    assert [x["id"] for x in served.rules("crud", sort="-id")] == [third, second, first]
    # by name with X-Is-Resource-Name, as the API's clients do
    r = served.client.get(f"{API}/projects/{pid}/immutabletagrules",
                          headers={**ADMIN, "X-Is-Resource-Name": "false"})  # fmt: skip
    assert len(check_list(r, "ImmutableRule")) == 3
    # PUT replaces the selectors and the disabled flag
    changed = rule("v*", "**", id=second, disabled=True)
    check_empty(served.client.put(f"{API}/projects/crud/immutabletagrules/{second}",
                                  json=changed, headers=ADMIN))  # fmt: skip
    after = {x["id"]: x for x in served.rules("crud")}
    assert after[second]["disabled"] is True
    assert after[second]["tag_selectors"][0]["pattern"] == "v*"
    check_empty(served.client.put(f"{API}/projects/crud/immutabletagrules/{second}",
                                  json={**changed, "disabled": False}, headers=ADMIN))  # fmt: skip
    assert {x["id"]: x for x in served.rules("crud")}[second]["disabled"] is False
    check_empty(served.client.delete(f"{API}/projects/crud/immutabletagrules/{third}",
                                     headers=ADMIN))  # fmt: skip
    assert [x["id"] for x in served.rules("crud")] == [first, second]
    check_error(served.client.delete(f"{API}/projects/crud/immutabletagrules/{third}",
                                     headers=ADMIN), 404, "NOT_FOUND")  # fmt: skip


def test_rules_that_cannot_be_stored_are_refused_with_harbors_errors(served: Served) -> None:
    served.project("invalid")
    served.project("elsewhere")
    kept = served.add_rule("invalid", rule())
    url = f"{API}/projects/invalid/immutabletagrules"
    bad: dict[str, Any]
    for bad in (
        rule(tag_decoration="repoMatches"),
        rule(repo_decoration="matches"),
        rule("["),
        rule("v1", "{a,b"),
        rule(""),
        {**rule(), "tag_selectors": []},
        {**rule(), "tag_selectors": [rule()["tag_selectors"][0]] * 2},
        {**rule(), "scope_selectors": {"namespace": rule()["scope_selectors"]["repository"]}},
        {**rule(), "tag_selectors": [{"kind": "regex", "decoration": "matches", "pattern": "x"}]},
        {**rule(), "action": "retain"},
        {**rule(), "disabled": "yes"},
        {**rule(), "priority": -1},
        {key: value for key, value in rule().items() if key != "tag_selectors"},
    ):
        check_error(served.client.post(url, json=bad, headers=ADMIN), 400, "BAD_REQUEST")
    r = served.client.post(url, content=b"{not json", headers=ADMIN)
    check_error(r, 400, "BAD_REQUEST")
    message = check_error(served.client.post(url, json=rule(), headers=ADMIN), 409, "CONFLICT")
    assert "already exists" in message
    # a PUT whose body names another rule, or a rule of another project
    r = served.client.put(f"{url}/{kept}", json={**rule(), "id": kept + 1}, headers=ADMIN)
    assert "doesn't match" in check_error(r, 400, "BAD_REQUEST")
    other = f"{API}/projects/elsewhere/immutabletagrules/{kept}"
    check_error(served.client.put(other, json=rule(), headers=ADMIN), 404, "NOT_FOUND")
    check_error(served.client.delete(other, headers=ADMIN), 404, "NOT_FOUND")
    check_error(served.client.get(f"{API}/projects/nowhere/immutabletagrules", headers=ADMIN),
                404, "NOT_FOUND")  # fmt: skip
    check_error(served.client.get(url, params={"q": "id=1"}, headers=ADMIN), 400, "BAD_REQUEST")
    check_error(served.client.get(url, params={"sort": "pattern"}, headers=ADMIN), 400,
                "BAD_REQUEST")  # fmt: skip


def test_only_project_admins_and_maintainers_manage_rules(served: Served) -> None:
    served.project("roles")
    url = f"{API}/projects/roles/immutabletagrules"
    by_keeper = served.add_rule("roles", rule("keeper-*"), who=KEEPER)
    check_list(served.client.get(url, headers=KEEPER), "ImmutableRule")
    for who in (DEV, GUEST):
        check_error(served.client.post(url, json=rule("x-*"), headers=who), 403, "FORBIDDEN")
        check_error(served.client.get(url, headers=who), 403, "FORBIDDEN")
        check_error(served.client.put(f"{url}/{by_keeper}", json=rule("y-*"), headers=who),
                    403, "FORBIDDEN")  # fmt: skip
        check_error(served.client.delete(f"{url}/{by_keeper}", headers=who), 403, "FORBIDDEN")
    check_error(served.client.post(url, json=rule("x-*")), 401, "UNAUTHORIZED")
    # an outsider learns nothing about a project's existence
    check_error(served.client.get(f"{API}/projects/nowhere/immutabletagrules", headers=GUEST),
                403, "FORBIDDEN")  # fmt: skip
    check_empty(served.client.delete(f"{url}/{by_keeper}", headers=KEEPER))


def _digest_of(client: AuthedClient, name: str, tag: str) -> str:
    r = client.get(f"/v2/{name}/manifests/{tag}",
                   headers={"accept": "application/vnd.oci.image.manifest.v1+json"})  # fmt: skip
    assert r.status_code == 200, r.text
    return str(r.headers["docker-content-digest"])


def _denied(r: Any, tag: str, rule_id: int) -> str:
    assert r.status_code == 403, r.text
    assert error_code(r) == "DENIED"
    message = str(r.json()["errors"][0]["message"])
    assert f"immutable tag rule {rule_id}" in message and tag in message
    return message


def test_a_protected_tag_never_moves_nor_goes(served: Served) -> None:
    served.project("prod")
    dev = AuthedClient(served.client, DEV)
    rule_id = served.add_rule("prod", rule("{v*.*.*,stable}"))
    first = push_image(dev, "prod/app", "v1.0.0", seed="first")  # a new tag: allowed
    again = push_image(dev, "prod/app", "v1.0.0", seed="first")  # the same digest: allowed
    assert again.digest == first.digest
    second = push_image(dev, "prod/app", "latest", seed="second")
    push_image(dev, "prod/app", "latest", seed="third")  # unprotected tags move freely
    r = dev.put("/v2/prod/app/manifests/v1.0.0", content=second.manifest,
                headers={"content-type": "application/vnd.oci.image.manifest.v1+json"})  # fmt: skip
    _denied(r, "prod/app:v1.0.0", rule_id)
    # the same through ?tag= on a PUT by digest; a new protected tag alongside is fine
    r = dev.put(f"/v2/prod/app/manifests/{second.digest}", params={"tag": "v1.0.0"},
                content=second.manifest,
                headers={"content-type": "application/vnd.oci.image.manifest.v1+json"})  # fmt: skip
    _denied(r, "v1.0.0", rule_id)
    r = dev.put(f"/v2/prod/app/manifests/{second.digest}", params={"tag": "v2.0.0"},
                content=second.manifest,
                headers={"content-type": "application/vnd.oci.image.manifest.v1+json"})  # fmt: skip
    assert r.status_code == 201, r.text
    assert _digest_of(dev, "prod/app", "v1.0.0") == first.digest
    # deletes through /v2/: the tag, or the manifest it points at
    admin = AuthedClient(served.client, ADMIN)
    _denied(admin.request("DELETE", "/v2/prod/app/manifests/v1.0.0"), "v1.0.0", rule_id)
    _denied(admin.request("DELETE", f"/v2/prod/app/manifests/{first.digest}"), "v1.0.0", rule_id)
    # deletes through the API: 412 PRECONDITION, as Harbor's API answers
    art = f"{API}/projects/prod/repositories/app/artifacts"
    r = served.client.delete(f"{art}/{first.digest}/tags/v1.0.0", headers=ADMIN)
    assert "immutable" in check_error(r, 412, "PRECONDITION")
    check_error(served.client.delete(f"{art}/v1.0.0", headers=ADMIN), 412, "PRECONDITION")
    check_error(served.client.delete(f"{API}/projects/prod/repositories/app", headers=ADMIN),
                412, "PRECONDITION")  # fmt: skip
    # a new protected tag through the API is allowed; then it holds too
    r = served.client.post(f"{art}/{first.digest}/tags", json={"name": "stable"}, headers=ADMIN)
    assert r.status_code == 201, r.text
    _denied(admin.request("DELETE", "/v2/prod/app/manifests/stable"), "stable", rule_id)
    assert _digest_of(dev, "prod/app", "v1.0.0") == first.digest
    # an unprotected tag on the same artifact still goes
    r = served.client.post(f"{art}/{first.digest}/tags", json={"name": "scratch"}, headers=ADMIN)
    assert r.status_code == 201, r.text
    check_empty(served.client.delete(f"{art}/{first.digest}/tags/scratch", headers=ADMIN))
    # the listings say which tags are immutable
    r = served.client.get(f"{art}/{first.digest}/tags",
                          params={"with_immutable_status": "true"}, headers=ADMIN)  # fmt: skip
    assert {t["name"]: t["immutable"] for t in check_list(r, "Tag")} == {
        "v1.0.0": True, "stable": True,
    }  # fmt: skip
    r = served.client.get(f"{art}/{first.digest}/tags", headers=ADMIN)
    assert not any(t["immutable"] for t in check_list(r, "Tag"))
    r = served.client.get(art, params={"with_immutable_status": "true"}, headers=ADMIN)
    shown = {t["name"]: t["immutable"] for a in check_list(r, "Artifact") for t in a["tags"]}
    assert shown == {"v1.0.0": True, "stable": True, "v2.0.0": True, "latest": False}
    r = served.client.get(f"{art}/latest", params={"with_immutable_status": "true"},
                          headers=ADMIN)  # fmt: skip
    assert [t["immutable"] for t in check_one(r, "Artifact")["tags"]] == [False]


def test_exclusions_and_disabled_rules_let_tags_move(served: Served) -> None:
    served.project("excl")
    dev = AuthedClient(served.client, DEV)
    # every tag but dev-*, in every repository but sandbox/**
    rule_id = served.add_rule(
        "excl", rule("dev-*", "sandbox/**", tag_decoration="excludes",
                     repo_decoration="repoExcludes"),
    )  # fmt: skip
    push_image(dev, "excl/app", "dev-1", seed="a")
    moved = push_image(dev, "excl/app", "dev-1", seed="b")  # excluded tag: moves
    assert _digest_of(dev, "excl/app", "dev-1") == moved.digest
    push_image(dev, "excl/sandbox/tool", "1.0", seed="a")
    push_image(dev, "excl/sandbox/tool", "1.0", seed="b")  # excluded repository: moves
    admin = AuthedClient(served.client, ADMIN)
    assert admin.request("DELETE", "/v2/excl/sandbox/tool/manifests/1.0").status_code == 202
    kept = push_image(dev, "excl/app", "1.0", seed="a")
    other = push_image(dev, "excl/app", "other", seed="c")
    r = dev.put("/v2/excl/app/manifests/1.0", content=other.manifest,
                headers={"content-type": "application/vnd.oci.image.manifest.v1+json"})  # fmt: skip
    _denied(r, "excl/app:1.0", rule_id)
    # disabled, the rule protects nothing; enabled again, it does
    url = f"{API}/projects/excl/immutabletagrules/{rule_id}"
    body = served.rules("excl")[0]
    check_empty(served.client.put(url, json={**body, "disabled": True}, headers=ADMIN))
    r = dev.put("/v2/excl/app/manifests/1.0", content=other.manifest,
                headers={"content-type": "application/vnd.oci.image.manifest.v1+json"})  # fmt: skip
    assert r.status_code == 201, r.text
    check_empty(served.client.put(url, json=body, headers=ADMIN))
    r = dev.put("/v2/excl/app/manifests/1.0", content=kept.manifest,
                headers={"content-type": "application/vnd.oci.image.manifest.v1+json"})  # fmt: skip
    _denied(r, "excl/app:1.0", rule_id)
    # another project's rules are none of this one's business
    served.project("free")
    push_image(dev, "free/app", "1.0", seed="a")
    push_image(dev, "free/app", "1.0", seed="b")


def test_a_projects_rules_go_with_it(served: Served) -> None:
    pid = served.project("gone")
    served.add_rule("gone", rule())
    store = rules_of(served.app.registry.meta.db)
    assert store.page(pid)[0] == 1
    check_empty(served.client.delete(f"{API}/projects/gone", headers=ADMIN))
    assert store.page(pid) == (0, [])
