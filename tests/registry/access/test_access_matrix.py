"""The permission matrix: every identity (each Harbor role, a non-member, anonymous, a system
administrator, a project robot, a system robot) by every action (pull, push, delete a manifest,
delete a tag, list tags, the catalog, a cross-project mount, adding a member, making a robot)
on a public and a private project, against one real ``auth: projects`` registry process set up
through ``/api/v2.0``. Registry actions go through real clients (skopeo for every pull, push,
manifest delete and tag list cell, ``dockyard delete`` and ``dockyard tags`` for every delete
and tag list cell; docker, podman and ``dockyard`` pull/push for a representative subset) and
also over HTTP with tokens from the token service (where the granted scopes and the spec's
error codes are checked; the catalog and the mount, which no client has a command for, only
there); API actions (Harbor's tag delete, members, robots) over HTTP. Each cell is allowed or
refused as Harbor's table says (written out in ``_infra.access_matrix``, not read from
dockyard), refusals carry the spec's or Harbor's error codes and change nothing, and each
attempt is in the audit log: what was done (pushes, pulls, deletes, members, robots), and every
refusal, under who tried (``anonymous`` for a client without credentials, which goes on with
an anonymous token after the challenge; an anonymous API write is logged too).
Then the attacks: scope escalation, a refreshed robot's old secret, disabled and expired
robots, SQL-looking and unicode names, mounts without read access, paging abuse."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from _infra import BUSYBOX_REF, BuiltImage, DockerDaemon, Podman, backend
from _infra._cli import run_dockyard
from _infra.access_matrix import (
    ACTIONS,
    API,
    BY_KEY,
    IDENTITIES,
    PROJECTS,
    Ident,
    Matrix,
    allowed,
    attempt_logged,
    audit_has,
    expected_mount,
    granted_actions,
    matrix_registry,
    other,
    seed_layout,
    skopeo_delete,
    skopeo_list_tags,
    skopeo_pull,
    skopeo_push,
)
from _infra.harbor_api import check_error
from _infra.projects_registry import ADMIN_PASSWORD, PASSWORD, SERVICE, wait_for
from _infra.registry_server import OCI_MANIFEST, push_image

pytestmark = pytest.mark.slow

REGISTRY_HTTP_ACTIONS = ("delete-manifest", "delete-by-tag", "list-tags", "catalog", "mount")
CLIENT_ACTIONS = ("delete-manifest", "list-tags")  # beyond pull and push
CLIENTS = ("skopeo", "dockyard")
API_ACTIONS = ("delete-tag", "manage-members", "create-robot")
assert set(ACTIONS) == {"pull", "push", *REGISTRY_HTTP_ACTIONS, *API_ACTIONS}


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    with matrix_registry(tmp_path_factory.mktemp("matrix")) as m:
        yield m


def _cells(actions: tuple[str, ...]) -> list[Any]:
    return [
        pytest.param(ident, project, action, id=f"{ident.key}-{project}-{action}")
        for action in actions
        for project in PROJECTS
        for ident in IDENTITIES
    ]


def _ident_cells() -> list[Any]:
    return [
        pytest.param(ident, project, id=f"{ident.key}-{project}")
        for project in PROJECTS
        for ident in IDENTITIES
    ]


def _audit_name(ident: Ident) -> str:
    return "anonymous" if ident.anonymous else ident.username


def _registry_refused(r: httpx.Response, cell: str) -> None:
    """The distribution spec's refusal: 401 UNAUTHORIZED with a challenge, or 403 DENIED."""
    assert r.status_code in (401, 403), (cell, r.status_code, r.text)
    code = r.json()["errors"][0]["code"]
    assert code == ("UNAUTHORIZED" if r.status_code == 401 else "DENIED"), (cell, r.text)
    if r.status_code == 401:
        assert r.headers.get("www-authenticate"), cell


def _client_refused(done: subprocess.CompletedProcess[str], cell: str) -> None:
    assert done.returncode != 0, (cell, done.stdout)
    text = (done.stderr + done.stdout).lower()
    assert "unauthorized" in text or "denied" in text or "authentication required" in text, (
        cell, done.stderr,
    )  # fmt: skip


def _manifest_status(matrix: Matrix, repository: str, reference: str) -> int:
    with matrix.admin() as admin:
        return admin.get(
            f"/v2/{repository}/manifests/{reference}",
            headers={"accept": "application/vnd.oci.image.manifest.v1+json"},
        ).status_code


# --- pull and push: skopeo, every cell ----------------------------------------------------


@pytest.mark.parametrize(("ident", "project"), _ident_cells())
def test_pull_with_skopeo(matrix: Matrix, ident: Ident, project: str, tmp_path: Path) -> None:
    cell = f"{ident.key} pull {project}"
    since = time.time()
    done = skopeo_pull(matrix, ident, f"{project}/base:1", tmp_path / "out")
    if allowed(ident, project, "pull"):
        assert done.returncode == 0, (cell, done.stderr)
        assert (tmp_path / "out" / "manifest.json").exists()
        audit_has(matrix, _audit_name(ident), operation="pull", resource=f"{project}/base:1")
    else:
        _client_refused(done, cell)
        attempt_logged(matrix, _audit_name(ident), ok=False, since=since, operation="pull",
                       resource=f"{project}/base:1")  # fmt: skip


@pytest.mark.parametrize(("ident", "project"), _ident_cells())
def test_push_with_skopeo(matrix: Matrix, ident: Ident, project: str, tmp_path: Path) -> None:
    cell = f"{ident.key} push {project}"
    repository = f"{project}/push-{ident.key}"
    layout = seed_layout(tmp_path / "layout", f"{ident.key}-{project}")
    done = skopeo_push(matrix, ident, layout, f"{repository}:1")
    if allowed(ident, project, "push"):
        assert done.returncode == 0, (cell, done.stderr)
        assert _manifest_status(matrix, repository, "1") == 200, cell
        found = audit_has(matrix, operation="create", resource=f"{repository}:1")
        assert [e["username"] for e in found] == [_audit_name(ident)], (cell, found)
        assert found[0]["resource_type"] == "artifact"
    else:
        _client_refused(done, cell)
        assert _manifest_status(matrix, repository, "1") in (404,), cell  # nothing pushed
        assert matrix.audit(operation="create", resource=f"{repository}:1") == []
        _push_refusal_logged(matrix, ident, repository, cell)


def _push_refusal_logged(matrix: Matrix, ident: Ident, repository: str, cell: str) -> None:
    """A refused push is in the log under who tried: the first request the registry refused
    (a blob upload, or the client's check whether the blob is there already)."""

    def found() -> list[dict[str, Any]] | None:
        q = f"username={_audit_name(ident)},op_result=false,resource=~{repository}"
        with matrix.admin() as admin:
            r = admin.get(f"{API}/auditlog-exts", params={"q": q, "page_size": 100})
        assert r.status_code == 200, r.text
        fresh = [e for e in r.json() if e["resource"].startswith(repository)
                 and e["resource_type"] in ("blob", "artifact")]  # fmt: skip
        return fresh or None

    entries = wait_for(found)
    assert {e["operation"] for e in entries} <= {"create", "pull"}, (cell, entries)


# --- delete a manifest and list tags: skopeo and dockyard, every cell ---------------------


class DockyardSide:
    """``dockyard login`` once per identity, each with its own ``DOCKER_CONFIG``."""

    def __init__(self, matrix: Matrix, where: Path) -> None:
        self.matrix = matrix
        self.where = where
        self.configs: dict[str, Path] = {}

    def run(self, ident: Ident, *args: str) -> subprocess.CompletedProcess[str]:
        root = self.where / "store"
        if ident.key not in self.configs:
            config = self.where / f"config-{ident.key}"
            config.mkdir()
            if not ident.anonymous:
                run_dockyard("login", self.matrix.host, "--insecure", "-u", ident.username,
                             "--password-stdin", root=root, env={"DOCKER_CONFIG": str(config)},
                             input=self.matrix.secrets[ident.key])  # fmt: skip
            self.configs[ident.key] = config
        env = {"DOCKER_CONFIG": str(self.configs[ident.key])}
        return run_dockyard(*args, "--insecure", root=root, env=env, check=False)


@pytest.fixture(scope="module")
def dockyard_side(matrix: Matrix, tmp_path_factory: pytest.TempPathFactory) -> DockyardSide:
    return DockyardSide(matrix, tmp_path_factory.mktemp("dockyard-configs"))


def _client_action_cells() -> list[Any]:
    return [
        pytest.param(client, ident, project, action, id=f"{client}-{ident.key}-{project}-{action}")
        for client in CLIENTS
        for action in CLIENT_ACTIONS
        for project in PROJECTS
        for ident in IDENTITIES
    ]


def _listed_tags(out: str) -> list[str]:
    """The tags in ``skopeo list-tags`` / ``dockyard tags --format json`` output (the same
    shape: ``{"Repository": …, "Tags": […]}``)."""
    return sorted(json.loads(out)["Tags"])


@pytest.mark.parametrize(("client", "ident", "project", "action"), _client_action_cells())
def test_registry_action_with_clients(
    matrix: Matrix, dockyard_side: DockyardSide, client: str, ident: Ident, project: str,
    action: str,
) -> None:  # fmt: skip
    """``skopeo delete`` / ``dockyard delete`` of a manifest by digest, ``skopeo list-tags`` /
    ``dockyard tags``: done or refused as Harbor's table says, and each attempt in the log."""
    cell = f"{client}: {ident.key} {action} {project}"
    expect = allowed(ident, project, action)
    who = _audit_name(ident)
    short = "sk" if client == "skopeo" else "dy"
    repository = f"{project}/{short}-{'del' if action == 'delete-manifest' else 'tags'}-{ident.key}"
    with matrix.admin() as admin:
        pushed = push_image(admin, repository, "1", seed=cell)
    since = time.time()
    if action == "delete-manifest":
        ref = f"{repository}@{pushed.digest}"
        if client == "skopeo":
            done = skopeo_delete(matrix, ident, ref)
        else:
            done = dockyard_side.run(ident, "delete", f"{matrix.host}/{ref}")
        if expect:
            assert done.returncode == 0, (cell, done.stderr)
            assert _manifest_status(matrix, repository, pushed.digest) == 404, cell
            attempt_logged(matrix, who, ok=True, since=since, operation="delete",
                           resource=f"{repository}:{pushed.digest}")  # fmt: skip
        else:
            _client_refused(done, cell)
            assert _manifest_status(matrix, repository, pushed.digest) == 200, cell
            # refused at the first request it may not make: skopeo reads the manifest before
            # deleting it, so one who may not pull is refused that read (a ``pull`` attempt);
            # dockyard sends the DELETE straight away
            may_read = allowed(ident, project, "pull")
            tried = "delete" if client == "dockyard" or may_read else "pull"
            attempt_logged(matrix, who, ok=False, since=since, operation=tried,
                           resource=f"{repository}:{pushed.digest}")  # fmt: skip
        return
    if client == "skopeo":
        done = skopeo_list_tags(matrix, ident, repository)
    else:
        done = dockyard_side.run(ident, "tags", "--format", "json", f"{matrix.host}/{repository}")
    if expect:
        assert done.returncode == 0, (cell, done.stderr)
        assert _listed_tags(done.stdout) == ["1"], (cell, done.stdout)
    else:
        _client_refused(done, cell)
        assert "1" not in done.stdout, cell
        # (an allowed tag list is no audited operation, in Harbor either; the refusal is)
        attempt_logged(matrix, who, ok=False, since=since, operation="pull", resource=repository)


# --- delete, tags, catalog, mount: HTTP with the token service's tokens ------------------


def _token_grants(
    matrix: Matrix, ident: Ident, scope: str, action: str, expect: bool
) -> dict[str, str]:
    """A token for ``scope``; its ``access`` claim holds ``action`` exactly when ``expect``."""
    r = matrix.token(ident, scope)
    assert r.status_code == 200, (ident.key, scope, r.text)
    token = r.json()["token"]
    kind, name, _ = scope.rsplit(":", 2)
    got = granted_actions(token).get((kind, name), set())
    assert (action in got or "*" in got) == expect, (ident.key, scope, got)
    return {"authorization": f"Bearer {token}"}


@pytest.mark.parametrize(("ident", "project", "action"), _cells(REGISTRY_HTTP_ACTIONS))
def test_registry_action_over_http(matrix: Matrix, ident: Ident, project: str, action: str) -> None:
    cell = f"{ident.key} {action} {project}"
    expect = allowed(ident, project, action)
    since = time.time()
    who = _audit_name(ident)
    if action in ("delete-manifest", "delete-by-tag"):
        repository = f"{project}/{'del' if action == 'delete-manifest' else 'dtag'}-{ident.key}"
        with matrix.admin() as admin:
            pushed = push_image(admin, repository, "1", seed=cell)
        reference = pushed.digest if action == "delete-manifest" else "1"
        auth = _token_grants(matrix, ident, f"repository:{repository}:delete", "delete", expect)
        with matrix.bare() as c:
            r = c.delete(f"/v2/{repository}/manifests/{reference}", headers=auth)
        if expect:
            assert r.status_code == 202, (cell, r.text)
            assert _manifest_status(matrix, repository, reference) == 404, cell
            found = audit_has(matrix, operation="delete", resource=f"{repository}:{reference}")
            assert [e["username"] for e in found] == [_audit_name(ident)], (cell, found)
        else:
            _registry_refused(r, cell)
            assert _manifest_status(matrix, repository, reference) == 200, cell  # still there
            # the refused attempt is in the log too, under who tried (the manifest is still
            # there, so the entry cannot be a delete that happened)
            found = audit_has(matrix, operation="delete", resource=f"{repository}:{reference}")
            assert [e["username"] for e in found] == [_audit_name(ident)], (cell, found)
    elif action == "list-tags":
        auth = _token_grants(matrix, ident, f"repository:{project}/base:pull", "pull", expect)
        with matrix.bare() as c:
            r = c.get(f"/v2/{project}/base/tags/list", headers=auth)
        if expect:
            assert r.status_code == 200, (cell, r.text)
            assert r.json() == {"name": f"{project}/base", "tags": ["1"]}, cell
        else:
            _registry_refused(r, cell)
            attempt_logged(matrix, who, ok=False, since=since, operation="pull",
                           resource=f"{project}/base")  # fmt: skip
    elif action == "catalog":
        auth = _token_grants(matrix, ident, "registry:catalog:*", "*", expect)
        with matrix.bare() as c:
            r = c.get("/v2/_catalog", params={"n": 1000}, headers=auth)
        if expect:
            assert r.status_code == 200, (cell, r.text)
            assert {"pub/base", "priv/base"} <= set(r.json()["repositories"]), cell
        else:
            _registry_refused(r, cell)
            attempt_logged(matrix, who, ok=False, since=since, operation="pull",
                           resource="/v2/_catalog")  # fmt: skip
    else:
        _mount(matrix, ident, project, cell)
        if expected_mount(ident, project) is None:
            attempt_logged(matrix, who, ok=False, since=since, operation="create",
                           resource=f"{project}/mnt-{ident.key}")  # fmt: skip


def _seed_blob(matrix: Matrix, project: str) -> str:
    with matrix.admin() as admin:
        r = admin.get(
            f"/v2/{project}/base/manifests/1",
            headers={"accept": "application/vnd.oci.image.manifest.v1+json"},
        )
    assert r.status_code == 200, r.text
    return str(r.json()["layers"][0]["digest"])


def _blob_status(matrix: Matrix, repository: str, digest: str) -> int:
    with matrix.admin() as admin:
        return admin.head(f"/v2/{repository}/blobs/{digest}").status_code


def _mount(matrix: Matrix, ident: Ident, project: str, cell: str) -> None:
    """Mount ``<other>/base``'s layer into ``<project>/mnt-<ident>``: 201 with read access to
    the source, a plain upload (202) without it, refused without push."""
    source = f"{other(project)}/base"
    target = f"{project}/mnt-{ident.key}"
    digest = _seed_blob(matrix, other(project))
    expect = expected_mount(ident, project)
    r = matrix.token(ident, f"repository:{target}:pull,push", f"repository:{source}:pull")
    assert r.status_code == 200, (cell, r.text)
    got = granted_actions(r.json()["token"])
    assert ("push" in got.get(("repository", target), set())) == (expect is not None), (cell, got)
    may_read = allowed(ident, other(project), "pull")
    assert ("pull" in got.get(("repository", source), set())) == may_read, (cell, got)
    with matrix.bare() as c:
        r = c.post(
            f"/v2/{target}/blobs/uploads/",
            params={"mount": digest, "from": source},
            headers={"authorization": f"Bearer {r.json()['token']}"},
        )
    if expect is None:
        _registry_refused(r, cell)
        assert _blob_status(matrix, target, digest) == 404, cell
    elif expect == 201:
        assert r.status_code == 201, (cell, r.text)
        assert r.headers["location"].endswith(f"/v2/{target}/blobs/{digest}"), cell
        assert _blob_status(matrix, target, digest) == 200, cell
    else:
        assert r.status_code == 202, (cell, r.text)  # a plain upload, never a mount
        assert "/blobs/uploads/" in r.headers["location"], cell
        assert _blob_status(matrix, target, digest) == 404, cell


# --- members and robots: the API ----------------------------------------------------------


def _refusal_logged(matrix: Matrix, username: str, path: str, cell: str) -> None:
    """``username``'s refused call of ``path`` is in ``/auditlog-exts``, marked failed."""

    def found() -> list[dict[str, Any]] | None:
        with matrix.admin() as admin:
            r = admin.get(f"{API}/auditlog-exts", params={
                "q": f"username={username},op_result=false", "page_size": 100})  # fmt: skip
        assert r.status_code == 200, r.text
        return [e for e in r.json() if e["resource"] == path] or None

    entries = wait_for(found)
    assert all(e["operation_result"] is False for e in entries), (cell, entries)


def _api_refused(r: httpx.Response, ident: Ident, cell: str) -> None:
    """Harbor's refusal: 401 UNAUTHORIZED for anonymous, 403 FORBIDDEN for anyone signed in,
    with its error body."""
    if ident.anonymous:
        check_error(r, 401, "UNAUTHORIZED")
    else:
        check_error(r, 403, "FORBIDDEN")


@pytest.mark.parametrize(("ident", "project", "action"), _cells(API_ACTIONS))
def test_api_action(matrix: Matrix, ident: Ident, project: str, action: str) -> None:
    cell = f"{ident.key} {action} {project}"
    expect = allowed(ident, project, action)
    body: dict[str, Any]
    if action == "delete-tag":
        _delete_tag_with_the_api(matrix, ident, project, cell)
        return
    with matrix.admin() as admin:
        if action == "manage-members":
            newcomer = f"new-{ident.key}-{project}"
            body = {"username": newcomer, "password": PASSWORD, "realname": newcomer,
                    "email": f"{newcomer}@example.test"}  # fmt: skip
            assert admin.post(f"{API}/users", json=body).status_code == 201
            member = {"role_id": 3, "member_user": {"username": newcomer}}
            with matrix.client(ident) as c:
                r = c.post(f"{API}/projects/{project}/members", json=member)
            path = f"/projects/{project}/members"
            listed = admin.get(f"{API}/projects/{project}/members",
                               params={"entityname": newcomer}).json()  # fmt: skip
            names = [m["entity_name"] for m in listed]
            resource, resource_type = f"{project}:{newcomer}", "project_member"
        else:
            name = f"by-{ident.key}"
            body = {"name": name, "level": "project", "duration": -1, "permissions": [
                {"kind": "project", "namespace": project,
                 "access": [{"resource": "repository", "action": "pull"}]}]}  # fmt: skip
            with matrix.client(ident) as c:
                r = c.post(f"{API}/robots", json=body)
            path = "/robots"
            pid = admin.get(f"{API}/projects/{project}").json()["project_id"]
            listed = admin.get(f"{API}/robots", params={"q": f"Level=project,ProjectID={pid}",
                                                        "page_size": 100}).json()  # fmt: skip
            names = [x["name"] for x in listed]
            newcomer = f"robot${project}+{name}"
            resource, resource_type = newcomer, "robot"
    if expect:
        assert r.status_code == 201, (cell, r.text)
        assert newcomer in names, (cell, names)
        found = audit_has(matrix, operation="create", resource_type=resource_type,
                          resource=resource)  # fmt: skip
        assert [e["username"] for e in found] == [ident.username], (cell, found)
    else:
        _api_refused(r, ident, cell)
        assert newcomer not in names, (cell, names)  # nothing changed
        assert matrix.audit(operation="create", resource=resource) == []
        _refusal_logged(matrix, _audit_name(ident), path, cell)  # the attempt, refused


def _delete_tag_with_the_api(matrix: Matrix, ident: Ident, project: str, cell: str) -> None:
    """Harbor's tag delete (``tag:delete``): tag ``1`` goes, the artifact stays under ``keep``."""
    name = f"atag-{ident.key}"
    repository = f"{project}/{name}"
    with matrix.admin() as admin:
        pushed = push_image(admin, repository, "1", seed=cell)
        r = admin.put(f"/v2/{repository}/manifests/keep", content=pushed.manifest,
                      headers={"content-type": OCI_MANIFEST})  # fmt: skip
        assert r.status_code == 201, r.text
    path = f"/projects/{project}/repositories/{name}/artifacts/{pushed.digest}/tags/1"
    with matrix.client(ident) as c:
        r = c.delete(f"{API}{path}")
    with matrix.admin() as admin:
        tags = admin.get(f"/v2/{repository}/tags/list").json()["tags"]
    if allowed(ident, project, "delete-tag"):
        assert r.status_code == 200, (cell, r.text)
        assert tags == ["keep"], (cell, tags)
        assert _manifest_status(matrix, repository, pushed.digest) == 200, cell
        found = audit_has(matrix, operation="delete", resource_type="tag",
                          resource=f"{repository}:1")  # fmt: skip
        assert [e["username"] for e in found] == [ident.username], (cell, found)
    else:
        _api_refused(r, ident, cell)
        assert sorted(tags) == ["1", "keep"], (cell, tags)  # nothing changed
        assert matrix.audit(operation="delete", resource=f"{repository}:1") == []
        _refusal_logged(matrix, _audit_name(ident), path, cell)


# --- docker, podman, dockyard: a representative subset of cells ---------------------------

CLIENT_CELLS = [
    ("developer", "priv", "push"), ("guest", "priv", "push"), ("guest", "priv", "pull"),
    ("limited-guest", "priv", "pull"), ("anonymous", "pub", "pull"),
    ("anonymous", "priv", "pull"), ("non-member", "priv", "pull"),
    ("non-member", "pub", "push"), ("project-robot", "pub", "push"),
    ("project-robot", "priv", "pull"), ("system-robot", "priv", "push"),
    ("system-admin", "priv", "push"),
]  # fmt: skip


def _client_cells(subset: list[tuple[str, str, str]]) -> list[Any]:
    return [pytest.param(BY_KEY[k], p, a, id=f"{k}-{p}-{a}") for k, p, a in subset]


class DockerSide:
    """docker logged in once per identity, each with its own ``--config`` directory."""

    def __init__(self, dockerd: DockerDaemon, matrix: Matrix, where: Path) -> None:
        self.dockerd = dockerd
        self.matrix = matrix
        self.where = where
        self.configs: dict[str, Path] = {}

    def config(self, ident: Ident) -> Path:
        if ident.key not in self.configs:
            config = self.where / ident.key
            config.mkdir()
            if not ident.anonymous:
                out = self.dockerd.run(
                    "--config", str(config), "login", self.matrix.host, "-u", ident.username,
                    "--password-stdin", input=self.matrix.secrets[ident.key],
                ).stdout  # fmt: skip
                assert "Login Succeeded" in out
            self.configs[ident.key] = config
        return self.configs[ident.key]

    def run(self, ident: Ident, *args: str) -> subprocess.CompletedProcess[str]:
        return self.dockerd.run("--config", str(self.config(ident)), *args, check=False)


@pytest.fixture(scope="module")
def docker_side(
    matrix: Matrix, dockerd: DockerDaemon, busybox_image: BuiltImage,
    tmp_path_factory: pytest.TempPathFactory,
) -> DockerSide:  # fmt: skip
    side = DockerSide(dockerd, matrix, tmp_path_factory.mktemp("docker-configs"))
    admin = Ident("admin", "sysadmin", "admin")
    matrix.secrets["admin"] = ADMIN_PASSWORD
    for project in PROJECTS:
        ref = f"{matrix.host}/{project}/bb:1"
        dockerd.run("tag", BUSYBOX_REF, ref)
        done = side.run(admin, "push", ref)
        assert done.returncode == 0, done.stderr
        dockerd.run("rmi", ref)
    return side


@pytest.mark.parametrize(("ident", "project", "action"), _client_cells(CLIENT_CELLS))
def test_docker_cells(docker_side: DockerSide, ident: Ident, project: str, action: str) -> None:
    cell = f"docker: {ident.key} {action} {project}"
    matrix, dockerd = docker_side.matrix, docker_side.dockerd
    docker_side.config(ident)  # logged in before the cell's attempt starts
    since = time.time()
    if action == "pull":
        ref = f"{matrix.host}/{project}/bb:1"
        done = docker_side.run(ident, "pull", ref)
        dockerd.run("rmi", ref, check=False)
    else:
        ref = f"{matrix.host}/{project}/dk-{ident.key}:1"
        dockerd.run("tag", BUSYBOX_REF, ref)
        done = docker_side.run(ident, "push", ref)
        dockerd.run("rmi", ref, check=False)
    if allowed(ident, project, action):
        assert done.returncode == 0, (cell, done.stderr)
        if action == "push":
            assert _manifest_status(matrix, f"{project}/dk-{ident.key}", "1") == 200
    else:
        _client_refused(done, cell)
        if action == "push":
            assert _manifest_status(matrix, f"{project}/dk-{ident.key}", "1") == 404
    _client_cell_logged(matrix, ident, project, action, f"{project}/dk-{ident.key}", None,
                        since, cell)  # fmt: skip


def _client_cell_logged(
    matrix: Matrix, ident: Ident, project: str, action: str, pushed: str, pulled: str | None,
    since: float, cell: str,
) -> None:  # fmt: skip
    """A docker, podman or dockyard cell's attempt is in the log, under who tried: the pull of
    ``pulled`` or the push into ``pushed``, done or refused. (A pull is written when the
    manifest is fetched, as Harbor writes it; dockerd, which already holds the image's
    manifest, only asks with HEAD which digest the tag names: ``pulled`` None, no pull to
    expect when it is allowed.)"""
    who = _audit_name(ident)
    if action == "pull":
        ok = allowed(ident, project, "pull")
        if ok and pulled is None:
            return
        resource = pulled or f"{project}/bb:1"
        attempt_logged(matrix, who, ok=ok, since=since, operation="pull", resource=resource)
    elif allowed(ident, project, "push"):
        attempt_logged(matrix, who, ok=True, since=since, operation="create",
                       resource=f"{pushed}:1")  # fmt: skip
    else:
        _push_refusal_logged(matrix, ident, pushed, cell)


@pytest.mark.parametrize(("ident", "project", "action"), _client_cells(CLIENT_CELLS[:8]))
def test_podman_cells(
    matrix: Matrix, podman: Podman, tmp_path: Path, ident: Ident, project: str, action: str
) -> None:
    cell = f"podman: {ident.key} {action} {project}"
    authfile = tmp_path / "auth.json"
    authfile.write_text('{"auths": {}}')
    auth = ["--authfile", str(authfile)]
    if not ident.anonymous:
        podman.run("login", *auth, "--tls-verify=false", "-u", ident.username, "-p",
                   matrix.secrets[ident.key], matrix.host)  # fmt: skip
    since = time.time()
    if action == "pull":
        done = podman.run("pull", *auth, "--tls-verify=false", f"{matrix.host}/{project}/base:1",
                          check=False)  # fmt: skip
    else:
        layout = seed_layout(tmp_path / "layout", f"podman-{ident.key}-{project}")
        ref = f"{matrix.host}/{project}/pm-{ident.key}:1"
        podman.run("pull", f"oci:{layout}:t")
        podman.run("tag", _podman_id(podman), ref)
        done = podman.run("push", *auth, "--tls-verify=false", ref, check=False)
    if allowed(ident, project, action):
        assert done.returncode == 0, (cell, done.stderr)
        if action == "push":
            assert _manifest_status(matrix, f"{project}/pm-{ident.key}", "1") == 200
    else:
        _client_refused(done, cell)
        if action == "push":
            assert _manifest_status(matrix, f"{project}/pm-{ident.key}", "1") == 404
    _client_cell_logged(matrix, ident, project, action, f"{project}/pm-{ident.key}",
                        f"{project}/base:1", since, cell)  # fmt: skip


def _podman_id(podman: Podman) -> str:
    """The id of the image podman pulled from the layout (the only image in its store)."""
    out = podman.run("images", "-q", "--no-trunc").stdout.split()
    assert out, "podman pulled nothing from the layout"
    return out[0]


@pytest.mark.parametrize(("ident", "project", "action"), _client_cells(CLIENT_CELLS))
def test_dockyard_cells(
    matrix: Matrix, tmp_path: Path, ident: Ident, project: str, action: str
) -> None:
    cell = f"dockyard: {ident.key} {action} {project}"
    root = tmp_path / "store"
    config = tmp_path / "config"
    config.mkdir()
    env = {"DOCKER_CONFIG": str(config)}
    if not ident.anonymous:
        run_dockyard("login", matrix.host, "--insecure", "-u", ident.username,
                     "--password-stdin", root=root, env=env, input=matrix.secrets[ident.key])  # fmt: skip
    if action == "pull":
        since = time.time()
        done = run_dockyard("pull", "--insecure", f"{matrix.host}/{project}/base:1", root=root,
                            env=env, check=False)  # fmt: skip
    else:
        admin_env = {"DOCKER_CONFIG": str(tmp_path / "admin")}
        (tmp_path / "admin").mkdir()
        run_dockyard("login", matrix.host, "--insecure", "-u", "admin", "--password-stdin",
                     root=root, env=admin_env, input=ADMIN_PASSWORD)  # fmt: skip
        run_dockyard("pull", "--insecure", f"{matrix.host}/pub/base:1", root=root, env=admin_env)
        ref = f"{matrix.host}/{project}/dy-{ident.key}:1"
        run_dockyard("tag", f"{matrix.host}/pub/base:1", ref, root=root)
        since = time.time()
        done = run_dockyard("push", "--insecure", ref, root=root, env=env, check=False)
    if allowed(ident, project, action):
        assert done.returncode == 0, (cell, done.stderr)
        if action == "push":
            assert _manifest_status(matrix, f"{project}/dy-{ident.key}", "1") == 200
    else:
        _client_refused(done, cell)
        if action == "push":
            assert _manifest_status(matrix, f"{project}/dy-{ident.key}", "1") == 404
    _client_cell_logged(matrix, ident, project, action, f"{project}/dy-{ident.key}",
                        f"{project}/base:1", since, cell)  # fmt: skip


# --- logins -------------------------------------------------------------------------------


@pytest.mark.parametrize("ident", [i for i in IDENTITIES if not i.anonymous], ids=lambda i: i.key)
def test_logins_are_audited(matrix: Matrix, ident: Ident) -> None:
    assert matrix.token(ident, "repository:pub/base:pull").status_code == 200
    found = audit_has(matrix, operation="login", username=ident.username)
    assert found and found[0]["resource_type"] == "user"
    with matrix.bare() as c:
        r = c.get("/service/token", params={"service": SERVICE},
                  auth=(ident.username, "Wrong-Pa55word"))  # fmt: skip
    assert r.status_code == 401
    # the failed one is in the log too (Harbor's JSON has no outcome field: a second entry)
    assert len(audit_has(matrix, operation="login", username=ident.username)) >= 2


# --- attacks ------------------------------------------------------------------------------


def test_scope_escalation_in_the_token_request_is_granted_nothing_more(matrix: Matrix) -> None:
    guest, outsider = BY_KEY["guest"], BY_KEY["non-member"]
    # "*" is granted only with pull, push and delete all held: else the ones held (creator.go)
    r = matrix.token(guest, "repository:pub/base:*")
    assert granted_actions(r.json()["token"]) == {("repository", "pub/base"): {"pull"}}
    r = matrix.token(
        guest, "repository:priv/base:pull,push,delete,*", "registry:catalog:*",
        "repository:nowhere/base:pull",
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert granted_actions(r.json()["token"]) == {("repository", "priv/base"): {"pull"}}
    auth = {"authorization": f"Bearer {r.json()['token']}"}
    with matrix.bare() as c:
        _registry_refused(c.post("/v2/priv/base/blobs/uploads/", headers=auth), "guest push")
        digest = f"sha256:{'0' * 64}"
        _registry_refused(
            c.delete(f"/v2/priv/base/manifests/{digest}", headers=auth), "guest delete"
        )
        _registry_refused(c.get("/v2/_catalog", headers=auth), "guest catalog")
    r = matrix.token(outsider, "repository:priv/base:pull,push,delete,*")
    assert r.status_code == 200 and granted_actions(r.json()["token"]) == {}
    # a robot's token never reaches past its permission list
    r = matrix.token(BY_KEY["project-robot"], "repository:priv/base:*", "repository:pub/x:*")
    assert granted_actions(r.json()["token"]) == {("repository", "pub/x"): {"pull", "push"}}
    assert _manifest_status(matrix, "priv/base", "1") == 200


def _robot(matrix: Matrix, name: str, **extra: Any) -> tuple[int, str, str]:
    body = {"name": name, "level": "project", "duration": -1, "permissions": [
        {"kind": "project", "namespace": "pub", "access": [
            {"resource": "repository", "action": "pull"},
            {"resource": "repository", "action": "push"}]}], **extra}  # fmt: skip
    with matrix.admin() as admin:
        r = admin.post(f"{API}/robots", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["id"]), str(r.json()["name"]), str(r.json()["secret"])


def _robot_ident(name: str) -> Ident:
    return Ident(name, "robot", name, robot_project="pub")


def test_robot_secret_reuse_after_refresh_is_refused(matrix: Matrix, tmp_path: Path) -> None:
    rid, name, old = _robot(matrix, "refreshed")
    ident = _robot_ident(name)
    matrix.secrets[name] = old
    assert matrix.token(ident, "repository:pub/r1:push").status_code == 200
    with matrix.admin() as admin:
        r = admin.patch(f"{API}/robots/{rid}", json={})
    assert r.status_code == 200, r.text
    fresh = r.json()["secret"]
    assert matrix.token(ident, "repository:pub/r1:push").status_code == 401
    with matrix.client(ident) as c:
        assert c.get("/v2/").status_code == 401
        check_error(c.get(f"{API}/projects/pub"), 401, "UNAUTHORIZED")
    done = skopeo_push(matrix, ident, seed_layout(tmp_path / "l", "refreshed"), "pub/r1:1")
    _client_refused(done, "old secret push")
    assert _manifest_status(matrix, "pub/r1", "1") == 404
    matrix.secrets[name] = fresh
    assert matrix.token(ident, "repository:pub/r1:push").status_code == 200


def test_disabled_and_expired_robots_are_refused(matrix: Matrix, tmp_path: Path) -> None:
    rid, name, secret = _robot(matrix, "paused")
    ident = _robot_ident(name)
    matrix.secrets[name] = secret
    with matrix.admin() as admin:
        robot = admin.get(f"{API}/robots/{rid}").json()
        r = admin.put(f"{API}/robots/{rid}", json={**robot, "disable": True})
    assert r.status_code == 200, r.text
    assert matrix.token(ident, "repository:pub/r2:push").status_code == 401
    done = skopeo_push(matrix, ident, seed_layout(tmp_path / "l", "paused"), "pub/r2:1")
    _client_refused(done, "disabled robot push")
    assert _manifest_status(matrix, "pub/r2", "1") == 404
    # expired: a robot whose lifetime has passed (its row backdated: days cannot be waited)
    rid, name, secret = _robot(matrix, "expired", duration=1)
    ident = _robot_ident(name)
    matrix.secrets[name] = secret
    assert matrix.token(ident, "repository:pub/r3:push").status_code == 200
    _backdate_robot(matrix, rid)
    assert matrix.token(ident, "repository:pub/r3:push").status_code == 401
    with matrix.client(ident) as c:
        assert c.get("/v2/").status_code == 401


def _backdate_robot(matrix: Matrix, robot_id: int) -> None:
    """Make the robot's expiry a day ago, in the registry's own database (SQLite, or its
    PostgreSQL database with DOCKYARD_TEST_BACKEND=cluster)."""
    from sqlalchemy import text

    db = backend.database(matrix.server.root)
    try:
        with db.write() as conn:
            cur = conn.execute(
                text("UPDATE access_robots SET expires_at = :at WHERE id = :id"),
                {"at": int(time.time()) - 86400, "id": robot_id},
            )
            assert cur.rowcount == 1
    finally:
        db.close()


BAD_NAMES = [
    "x'; DROP TABLE projects;--",
    "pub' OR '1'='1",
    "prøject",
    "проект",
    "pub\u202egnp",
    "pub%00",
    "../priv",
    "a" * 300,
]


@pytest.mark.parametrize("name", BAD_NAMES, ids=range(len(BAD_NAMES)))
def test_sql_looking_and_unicode_names_change_nothing(matrix: Matrix, name: str) -> None:
    with matrix.admin() as admin:
        projects = sorted(p["name"] for p in admin.get(f"{API}/projects",
                                                       params={"page_size": 100}).json())  # fmt: skip
        users = admin.get(f"{API}/users", params={"page_size": 100}).json()
        check_error(admin.post(f"{API}/projects", json={"project_name": name}), 400, "BAD_REQUEST")
        body = {"username": name, "password": PASSWORD, "realname": "x", "email": "x@example.test"}
        r = admin.post(f"{API}/users", json=body)
        if r.status_code != 201:  # Harbor refuses some characters in user names, not all
            check_error(r, 400, "BAD_REQUEST")
        else:
            assert admin.get(f"{API}/users/{r.headers['location'].rsplit('/', 1)[1]}").json()[
                "username"] == name  # stored as given, not interpreted  # fmt: skip
        member = {"role_id": 1, "member_user": {"username": name + "-missing"}}
        r = admin.post(f"{API}/projects/pub/members", json=member)
        assert r.status_code in (400, 404), r.text
        after = sorted(p["name"] for p in admin.get(f"{API}/projects",
                                                    params={"page_size": 100}).json())  # fmt: skip
        assert after == projects
        members = admin.get(f"{API}/projects/pub/members", params={"page_size": 100}).json()
        assert all(m["entity_name"] != name + "-missing" for m in members)
        assert len(admin.get(f"{API}/users", params={"page_size": 100}).json()) <= len(users) + 1
    # as a login name and in a token scope: refused or granted nothing
    with matrix.bare() as c:
        r = c.get("/service/token", params={"service": SERVICE, "scope": "repository:pub/base:pull"},
                  auth=(name, "Not-The-Pa55word"))  # fmt: skip
        assert r.status_code == 401, r.text
    r = matrix.token(BY_KEY["developer"], f"repository:{name}:pull,push")
    assert r.status_code in (200, 400), r.text
    if r.status_code == 200:
        assert granted_actions(r.json()["token"]) == {}


def test_cross_project_mount_without_read_is_a_plain_upload(matrix: Matrix) -> None:
    """A developer of ``pub`` only (not in ``priv``) mounting ``priv``'s layer: with Basic
    credentials and with a token, the answer is a plain upload, never a 201."""
    with matrix.admin() as admin:
        body = {"username": "solo", "password": PASSWORD, "realname": "solo",
                "email": "solo@example.test"}  # fmt: skip
        assert admin.post(f"{API}/users", json=body).status_code == 201
        member = {"role_id": 2, "member_user": {"username": "solo"}}
        assert admin.post(f"{API}/projects/pub/members", json=member).status_code == 201
    digest = _seed_blob(matrix, "priv")
    params = {"mount": digest, "from": "priv/base"}
    with httpx.Client(base_url=matrix.server.url, auth=("solo", PASSWORD)) as c:
        r = c.post("/v2/pub/solo/blobs/uploads/", params=params)
    assert r.status_code == 202 and "/blobs/uploads/" in r.headers["location"], r.text
    solo = Ident("solo", "user", "solo")
    matrix.secrets["solo"] = PASSWORD
    r = matrix.token(solo, "repository:pub/solo:pull,push", "repository:priv/base:pull")
    token = r.json()["token"]
    assert granted_actions(token) == {("repository", "pub/solo"): {"pull", "push"}}
    with matrix.bare() as c:
        r = c.post("/v2/pub/solo/blobs/uploads/", params=params,
                   headers={"authorization": f"Bearer {token}"})  # fmt: skip
    assert r.status_code == 202 and "/blobs/uploads/" in r.headers["location"], r.text
    assert _blob_status(matrix, "pub/solo", digest) == 404
    # and without ``from``, a mount never links a blob it cannot prove the caller may read
    with matrix.bare() as c:
        r = c.post("/v2/pub/solo/blobs/uploads/", params={"mount": digest},
                   headers={"authorization": f"Bearer {token}"})  # fmt: skip
    assert r.status_code == 202, r.text
    assert _blob_status(matrix, "pub/solo", digest) == 404


@pytest.mark.parametrize(
    "params",
    [{"page_size": "101"}, {"page_size": "100000000"}, {"page_size": "0"}, {"page": "0"},
     {"page": "-1"}, {"page": "9" * 40}, {"page_size": "1e3"}],
    ids=lambda p: "&".join(f"{k}={v[:12]}" for k, v in p.items()),
)  # fmt: skip
def test_paging_abuse_is_refused(matrix: Matrix, params: dict[str, str]) -> None:
    """As Harbor's go-swagger layer refuses a parameter out of its declared bounds: 422."""
    with matrix.admin() as admin:
        for path in ("/projects", "/audit-logs", "/users", "/robots", "/projects/pub/members",
                     "/auditlog-exts"):  # fmt: skip
            check_error(admin.get(f"{API}{path}", params=params), 422, "UNPROCESSABLE_ENTITY")
    with matrix.client(BY_KEY["developer"]) as dev:
        check_error(dev.get(f"{API}/projects", params=params), 422, "UNPROCESSABLE_ENTITY")


def test_catalog_paging_abuse_is_bounded(matrix: Matrix) -> None:
    auth = matrix.bearer(BY_KEY["system-admin"], "registry:catalog:*")
    with matrix.bare() as c:
        for bad in ("-1", "ten", "1e3"):
            r = c.get("/v2/_catalog", params={"n": bad}, headers=auth)
            assert r.status_code == 400 and r.json()["errors"][0]["code"], r.text
        r = c.get("/v2/_catalog", params={"n": str(10**30)}, headers=auth)
        assert r.status_code == 200 and len(r.json()["repositories"]) >= 2
        r = c.get("/v2/_catalog", params={"n": "1"}, headers=auth)
        assert r.status_code == 200 and len(r.json()["repositories"]) == 1
        assert "next" in r.headers.get("link", "")
