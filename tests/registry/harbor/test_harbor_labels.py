"""Harbor's labels through ``/api/v2.0`` (the projects-mode app, in process): ``/labels`` and
``…/artifacts/{reference}/labels`` answered in Harbor's shapes (validated against Harbor's
definitions), Harbor's permissions (global labels: system administrators; project labels:
project administrators and maintainers; attaching: ``artifact-label``), ``with_label`` and
``q=labels=(…)`` on the artifact list, and retention keeping an artifact labelled ``release``
by hand."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from _infra.harbor_api import check_created, check_empty, check_error, check_list, check_one
from _infra.projects_registry import PASSWORD, basic, team_with_people
from _infra.retention import API, Served, serve_projects, wait_execution
from dockyard.registry.access import Role


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve_projects(tmp_path_factory.mktemp("labels")) as s:
        admin = team_with_people(s.access)  # admin, dev (developer), guest (guest) in team
        s.access.users.create("keeper", PASSWORD)
        s.access.add_member(admin, "team", role_id=int(Role.MAINTAINER), username="keeper")
        s.access.users.create("outsider", PASSWORD)
        s.access.create_project(admin, "other")
        yield s


def _id(served: Served, project: str) -> int:
    return int(served.access.projects.get(project).id)


def _create(served: Served, body: dict[str, Any], who: dict[str, str] | None = None) -> int:
    r = served.client.post(f"{API}/labels", json=body, headers=who or served.headers)
    return int(check_created(r, f"{API}/labels"))


def test_global_labels_are_made_by_system_administrators(served: Served) -> None:
    h = served.headers
    body = {"name": "approved", "description": "QA approved", "color": "#00AA00", "scope": "g"}
    # only a system administrator makes one (Harbor: system access to the label resource)
    check_error(served.client.post(f"{API}/labels", json=body), 401, "UNAUTHORIZED")
    for who in ("keeper", "dev", "outsider"):
        r = served.client.post(f"{API}/labels", json=body, headers=basic(who, PASSWORD))
        check_error(r, 403, "FORBIDDEN")
    lid = _create(served, {**body, "project_id": 42})  # a global label has no project
    try:
        got = check_one(served.client.get(f"{API}/labels/{lid}", headers=h), "Label")
        assert {k: got[k] for k in ("id", "name", "description", "color", "scope",
                                    "project_id")} == {
            "id": lid, "name": "approved", "description": "QA approved", "color": "#00AA00",
            "scope": "g", "project_id": 0}  # fmt: skip
        # anyone lists global labels; reading one by id is the system administrators'
        listed = check_list(served.client.get(f"{API}/labels", params={"scope": "g"},
                                              headers=basic("guest", PASSWORD)), "Label")  # fmt: skip
        assert [x["name"] for x in listed] == ["approved"]
        r = served.client.get(f"{API}/labels/{lid}", headers=basic("keeper", PASSWORD))
        check_error(r, 403, "FORBIDDEN")
        check_error(served.client.post(f"{API}/labels", json=body, headers=h), 409, "CONFLICT")
        r = served.client.put(f"{API}/labels/{lid}", json={"name": "approved-qa",
                                                           "color": "#0000FF"}, headers=h)  # fmt: skip
        check_empty(r)
        got = check_one(served.client.get(f"{API}/labels/{lid}", headers=h), "Label")
        assert (got["name"], got["description"], got["color"]) == ("approved-qa", "", "#0000FF")
        found = check_list(served.client.get(f"{API}/labels", params={"scope": "g",
                                             "name": "qa"}, headers=h), "Label")  # fmt: skip
        assert [x["id"] for x in found] == [lid]
        r = served.client.get(f"{API}/labels", params={"scope": "g", "q": "name=approved"},
                              headers=h)  # fmt: skip
        assert check_list(r, "Label") == []
        r = served.client.put(f"{API}/labels/{lid}", json={"name": "x"},
                              headers=basic("keeper", PASSWORD))  # fmt: skip
        check_error(r, 403, "FORBIDDEN")
    finally:
        check_empty(served.client.delete(f"{API}/labels/{lid}", headers=h))
    check_error(served.client.get(f"{API}/labels/{lid}", headers=h), 404, "NOT_FOUND")
    check_error(served.client.delete(f"{API}/labels/{lid}", headers=h), 404, "NOT_FOUND")


def test_bad_label_requests_are_400(served: Served) -> None:
    h = served.headers
    team = _id(served, "team")
    for body in (
        {"name": "", "scope": "g"},
        {"name": "x" * 129, "scope": "g"},
        {"name": "x", "scope": "z"},
        {"name": "x", "scope": "p"},  # a project label needs its project
        {"name": 7, "scope": "g"},
    ):
        check_error(served.client.post(f"{API}/labels", json=body, headers=h), 400, "BAD_REQUEST")
    for params in ({}, {"scope": "x"}, {"scope": "p"}, {"scope": "p", "project_id": "a"},
                   {"scope": "g", "q": "color=red"}):  # fmt: skip
        r = served.client.get(f"{API}/labels", params=params, headers=h)
        check_error(r, 400, "BAD_REQUEST")
    r = served.client.get(f"{API}/labels", params={"scope": "p", "project_id": "999999"},
                          headers=h)  # fmt: skip
    check_error(r, 404, "NOT_FOUND")
    r = served.client.post(f"{API}/labels", json={"name": "y", "scope": "p", "project_id": team,
                                                  "description": "d" * 2000}, headers=h)  # fmt: skip
    check_error(r, 400, "BAD_REQUEST")


def test_project_labels_follow_the_projects_permission_table(served: Served) -> None:
    team, other = _id(served, "team"), _id(served, "other")
    body = {"name": "release", "scope": "p", "project_id": team}
    # label create: project administrators and maintainers, not developers nor guests
    for who, status in (("dev", 403), ("guest", 403), ("outsider", 403)):
        r = served.client.post(f"{API}/labels", json=body, headers=basic(who, PASSWORD))
        check_error(r, status, "FORBIDDEN")
    lid = _create(served, body, basic("keeper", PASSWORD))
    try:
        # the same name is another label in another project, and globally
        elsewhere = _create(served, {**body, "project_id": other})
        check_error(served.client.post(f"{API}/labels", json=body, headers=served.headers),
                    409, "CONFLICT")  # fmt: skip
        # label read/list: every member; not an outsider of a private project
        for who in ("keeper", "dev", "guest"):
            h = basic(who, PASSWORD)
            got = check_one(served.client.get(f"{API}/labels/{lid}", headers=h), "Label")
            assert (got["scope"], got["project_id"]) == ("p", team)
            listed = check_list(served.client.get(f"{API}/labels", params={
                "scope": "p", "project_id": str(team)}, headers=h), "Label")  # fmt: skip
            assert [x["id"] for x in listed] == [lid]
        outsider = basic("outsider", PASSWORD)
        check_error(served.client.get(f"{API}/labels/{lid}", headers=outsider), 403, "FORBIDDEN")
        r = served.client.get(f"{API}/labels", params={"scope": "p", "project_id": str(team)},
                              headers=outsider)  # fmt: skip
        check_error(r, 403, "FORBIDDEN")
        check_error(served.client.get(f"{API}/labels/{lid}"), 401, "UNAUTHORIZED")
        # update and delete: maintainers yes, developers no
        r = served.client.put(f"{API}/labels/{lid}", json={"name": "release", "description":
                              "ship it"}, headers=basic("dev", PASSWORD))  # fmt: skip
        check_error(r, 403, "FORBIDDEN")
        check_error(served.client.delete(f"{API}/labels/{lid}", headers=basic("dev", PASSWORD)),
                    403, "FORBIDDEN")  # fmt: skip
        check_empty(served.client.put(f"{API}/labels/{lid}", json={
            "name": "release", "description": "ship it"}, headers=basic("keeper", PASSWORD)))  # fmt: skip
        got = check_one(served.client.get(f"{API}/labels/{lid}", headers=served.headers), "Label")
        assert got["description"] == "ship it"
        check_empty(served.client.delete(f"{API}/labels/{elsewhere}", headers=served.headers))
    finally:
        check_empty(served.client.delete(f"{API}/labels/{lid}",
                                         headers=basic("keeper", PASSWORD)))  # fmt: skip


def _artifacts(served: Served, repo: str, **params: str) -> list[dict[str, Any]]:
    r = served.client.get(f"{API}/projects/team/repositories/{repo}/artifacts",
                          params={"with_label": "true", **params}, headers=served.headers)  # fmt: skip
    return check_list(r, "Artifact")


def test_labels_are_attached_to_artifacts_and_listed_with_them(served: Served) -> None:
    app = served.push("team/web", "v1", seed="web1")
    served.push("team/web", "v2", seed="web2")
    served.push("other/web", "v1", seed="oth1")
    team = _id(served, "team")
    mine = _create(served, {"name": "qa", "scope": "p", "project_id": team})
    theirs = _create(served, {"name": "qa", "scope": "p", "project_id": _id(served, "other")})
    shared = _create(served, {"name": "gold", "scope": "g"})
    base = f"{API}/projects/team/repositories/web/artifacts"
    try:
        # artifact-label create: developers yes, guests no
        r = served.client.post(f"{base}/v1/labels", json={"id": mine},
                               headers=basic("guest", PASSWORD))  # fmt: skip
        check_error(r, 403, "FORBIDDEN")
        check_error(served.client.post(f"{base}/v1/labels", json={"id": mine}), 401,
                    "UNAUTHORIZED")  # fmt: skip
        dev = basic("dev", PASSWORD)
        check_empty(served.client.post(f"{base}/v1/labels", json={"id": mine}, headers=dev))
        check_empty(served.client.post(f"{base}/{app.digest}/labels", json={"id": shared},
                                       headers=dev))  # fmt: skip
        # twice: 409; another project's label, or none: 404; no id: 400
        check_error(served.client.post(f"{base}/v1/labels", json={"id": mine}, headers=dev),
                    409, "CONFLICT")  # fmt: skip
        for missing in (theirs, 999999):
            r = served.client.post(f"{base}/v1/labels", json={"id": missing}, headers=dev)
            check_error(r, 404, "NOT_FOUND")
        check_error(served.client.post(f"{base}/v1/labels", json={}, headers=dev), 400,
                    "BAD_REQUEST")  # fmt: skip
        check_error(served.client.post(f"{base}/nope/labels", json={"id": mine}, headers=dev),
                    404, "NOT_FOUND")  # fmt: skip

        # with_label: Harbor's Label objects on the artifact, in the order attached
        got = check_one(served.client.get(f"{base}/v1", params={"with_label": "true"},
                                          headers=served.headers), "Artifact")  # fmt: skip
        assert [(x["id"], x["name"], x["scope"]) for x in got["labels"]] == [
            (mine, "qa", "p"), (shared, "gold", "g")]  # fmt: skip
        plain = check_one(served.client.get(f"{base}/v1", headers=served.headers), "Artifact")
        assert "labels" not in plain
        by_tag = {a["tags"][0]["name"]: a for a in _artifacts(served, "web")}
        assert [x["id"] for x in by_tag["v1"]["labels"]] == [mine, shared]
        assert by_tag["v2"]["labels"] == []
        # q=labels=(…): the artifacts carrying every label named
        assert [a["digest"] for a in _artifacts(served, "web", q=f"labels=({mine} {shared})")
                ] == [app.digest]  # fmt: skip
        assert [a["digest"] for a in _artifacts(served, "web", q=f"labels={mine}")] == [app.digest]
        bare = served.push("team/web", "v3", seed="web3")
        check_empty(served.client.post(f"{base}/v3/labels", json={"id": shared}, headers=dev))
        assert {a["digest"] for a in _artifacts(served, "web", q=f"labels=({shared})")} == {
            app.digest, bare.digest}  # fmt: skip
        assert _artifacts(served, "web", q=f"labels=({mine}),digest={bare.digest}") == []
        r = served.client.get(base, params={"q": "labels={1 2}"}, headers=served.headers)
        check_error(r, 400, "BAD_REQUEST")
        r = served.client.get(f"{API}/projects/team/artifacts", params={"q": f"labels={mine}"},
                              headers=served.headers)  # fmt: skip
        check_error(r, 400, "BAD_REQUEST")  # a repository's list only

        # artifact-label delete: guests no; a label the artifact does not carry: 404
        r = served.client.delete(f"{base}/v1/labels/{mine}", headers=basic("guest", PASSWORD))
        check_error(r, 403, "FORBIDDEN")
        check_empty(served.client.delete(f"{base}/v1/labels/{mine}", headers=dev))
        check_error(served.client.delete(f"{base}/v1/labels/{mine}", headers=dev), 404,
                    "NOT_FOUND")  # fmt: skip
        by_tag = {a["tags"][0]["name"]: a for a in _artifacts(served, "web")}
        assert [x["id"] for x in by_tag["v1"]["labels"]] == [shared]
        # deleting a label takes it off every artifact
        check_empty(served.client.delete(f"{API}/labels/{shared}", headers=served.headers))
        assert all(a["labels"] == [] for a in _artifacts(served, "web"))
    finally:
        for lid in (mine, theirs, shared):
            served.client.delete(f"{API}/labels/{lid}", headers=served.headers)


def test_a_deleted_artifact_loses_its_labels(served: Served) -> None:
    pushed = served.push("team/gone", "v1", seed="gone1")
    lid = _create(served, {"name": "doomed", "scope": "g"})
    base = f"{API}/projects/team/repositories/gone/artifacts"
    try:
        check_empty(served.client.post(f"{base}/v1/labels", json={"id": lid},
                                       headers=served.headers))  # fmt: skip
        check_empty(served.client.delete(f"{base}/{pushed.digest}", headers=served.headers))
        again = served.push("team/gone", "v1", seed="gone1")  # the same digest, pushed anew
        assert again.digest == pushed.digest
        [artifact] = _artifacts(served, "gone")
        assert artifact["labels"] == []
    finally:
        served.client.delete(f"{API}/labels/{lid}", headers=served.headers)


def test_labels_stay_through_new_tags_and_go_with_their_project(served: Served) -> None:
    pushed = served.push("team/retag", "v1", seed="retag1")
    lid = _create(served, {"name": "kept", "scope": "g"})
    base = f"{API}/projects/team/repositories/retag/artifacts"
    try:
        check_empty(served.client.post(f"{base}/v1/labels", json={"id": lid},
                                       headers=served.headers))  # fmt: skip
        # another tag on the same manifest, by the API and by a push: the same artifact
        r = served.client.post(f"{base}/v1/tags", json={"name": "v1-api"}, headers=served.headers)
        assert r.status_code == 201, r.text
        again = served.push("team/retag", "v1-push", seed="retag1")
        assert again.digest == pushed.digest
        [artifact] = _artifacts(served, "retag")
        assert [x["id"] for x in artifact["labels"]] == [lid]
    finally:
        served.client.delete(f"{API}/labels/{lid}", headers=served.headers)
    # a project's labels go with the project
    r = served.client.post(f"{API}/projects", json={"project_name": "brief"},
                           headers=served.headers)  # fmt: skip
    check_created(r, f"{API}/projects")
    brief = _id(served, "brief")
    short = _create(served, {"name": "short-lived", "scope": "p", "project_id": brief})
    check_empty(served.client.delete(f"{API}/projects/{brief}", headers=served.headers))
    check_error(served.client.get(f"{API}/labels/{short}", headers=served.headers), 404,
                "NOT_FOUND")  # fmt: skip


def _retention(served: Served, project_id: int) -> int:
    keep = {"disabled": False, "action": "retain", "template": "always", "params": {},
            "tag_selectors": [{"kind": "label", "decoration": "withLabels",
                               "pattern": "release"}],
            "scope_selectors": {"repository": [{"kind": "doublestar",
                                                "decoration": "repoMatches",
                                                "pattern": "keep"}]}}  # fmt: skip
    body = {"algorithm": "or", "rules": [keep], "trigger": {"kind": "Schedule",
            "settings": {"cron": ""}}, "scope": {"level": "project", "ref": project_id}}  # fmt: skip
    r = served.client.post(f"{API}/retentions", json=body, headers=served.headers)
    return int(check_created(r, f"{API}/retentions"))


def _dry_run(served: Served, pid: int) -> dict[str, tuple[str, str]]:
    """digest → (labels column, action) of a dry run of retention policy ``pid``."""
    base = f"{API}/retentions/{pid}/executions"
    eid = check_created(served.client.post(base, json={"dry_run": True},
                                           headers=served.headers), base)  # fmt: skip
    assert wait_execution(served.client, served.headers, f"{base}/{eid}")["status"] == "Success"
    [task] = check_list(served.client.get(f"{base}/{eid}/tasks", headers=served.headers),
                        "RetentionExecutionTask")  # fmt: skip
    log = served.client.get(f"{base}/{eid}/tasks/{task['id']}", headers=served.headers).text
    out = {}
    for line in log.splitlines()[2:]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.split("|")[1:-1]]
            out[cells[0]] = (cells[3], cells[-1])
    return out


def test_retention_keeps_an_artifact_labelled_release_through_the_api(served: Served) -> None:
    """The images carry no content labels: only the label attached by hand tells them apart."""
    labelled = served.push("team/keep", "v1", seed="keep1")
    plain = served.push("team/keep", "v2", seed="keep2")
    team = _id(served, "team")
    release = _create(served, {"name": "release", "scope": "p", "project_id": team},
                      basic("keeper", PASSWORD))  # fmt: skip
    pid = _retention(served, team)
    try:
        before = _dry_run(served, pid)  # nothing attached yet: the rule keeps nothing
        assert before == {labelled.digest: ("", "DEL"), plain.digest: ("", "DEL")}
        r = served.client.post(f"{API}/projects/team/repositories/keep/artifacts/v1/labels",
                               json={"id": release}, headers=basic("dev", PASSWORD))  # fmt: skip
        check_empty(r)
        after = _dry_run(served, pid)
        assert after == {labelled.digest: ("release", "RETAIN"), plain.digest: ("", "DEL")}
        # a dry run deletes nothing
        assert served.admin.get("/v2/team/keep/tags/list").json()["tags"] == ["v1", "v2"]
    finally:
        check_empty(served.client.delete(f"{API}/retentions/{pid}", headers=served.headers))
        check_empty(served.client.delete(f"{API}/labels/{release}", headers=served.headers))
