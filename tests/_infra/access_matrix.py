"""The permission matrix's world: Harbor's answers written out independently of dockyard, the
people and robots every cell is tried as, and a real ``auth: projects`` registry process set up
through ``/api/v2.0`` the way an administrator would.

Expected answers come from goharbor/harbor, not from dockyard's own role table:

* ``src/common/rbac/project/rbac_role.go``: the policies of projectAdmin (1), developer (2),
  guest (3), maintainer (4) and limitedGuest (5) (only the ones the matrix's actions need);
* ``src/common/rbac/project/util.go``: what anyone, anonymous included, holds in a public
  project (``repository`` list/pull, tag list); ``rbac_user.go`` adds it to robots too;
* ``src/server/middleware/v2auth/``: ``/v2/`` needs ``repository:<name>:pull`` to read
  (tags list included), ``push`` to write and ``delete`` to DELETE a manifest by digest
  (Harbor refuses a DELETE by tag at ``/v2/``; dockyard takes it, with the same permission:
  the ``delete-by-tag`` action); ``/v2/_catalog`` needs the system's catalog access, and the
  token service (``src/core/service/token/creator.go``) grants ``registry:catalog:*`` to
  system administrators only;
* "delete a tag" is Harbor's ``DELETE /api/v2.0/projects/{p}/repositories/{r}/artifacts/
  {ref}/tags/{tag}`` (``src/server/v2.0/handler/artifact.go``), which needs ``tag:delete``:
  project admins and maintainers (and system administrators) only;
* members are created with ``member:create``, project robots with ``robot:create``.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx

from _infra._process import run_command
from _infra.oci_layout import gzip_tar, oci_layout
from _infra.projects_registry import ADMIN_PASSWORD, PASSWORD, SERVICE, projects_env, wait_for
from _infra.registry_server import RegistryProcess, start_registry

__all__ = [
    "ACTIONS",
    "API",
    "IDENTITIES",
    "PROJECTS",
    "Ident",
    "Matrix",
    "allowed",
    "attempt_logged",
    "audit_has",
    "expected_mount",
    "granted_actions",
    "holds",
    "matrix_registry",
    "skopeo_delete",
    "skopeo_list_tags",
    "skopeo_pull",
    "skopeo_push",
]

API = "/api/v2.0"

Policy = tuple[str, str]

#: rbac_role.go, the rows the matrix asks about (resource, action).
HARBOR_ROLE_POLICIES: dict[str, frozenset[Policy]] = {
    "projectAdmin": frozenset({
        ("repository", "pull"), ("repository", "push"), ("repository", "delete"),
        ("tag", "list"), ("tag", "delete"), ("member", "create"), ("robot", "create"),
    }),
    "maintainer": frozenset({
        ("repository", "pull"), ("repository", "push"), ("repository", "delete"),
        ("tag", "list"), ("tag", "delete"),
    }),
    "developer": frozenset({("repository", "pull"), ("repository", "push"), ("tag", "list")}),
    "guest": frozenset({("repository", "pull"), ("tag", "list")}),
    "limitedGuest": frozenset({("repository", "pull"), ("tag", "list")}),
}  # fmt: skip
#: Harbor's role ids (src/common/const.go).
ROLE_IDS = {"projectAdmin": 1, "developer": 2, "guest": 3, "maintainer": 4, "limitedGuest": 5}
#: util.go's publicProjectPolicies (the rows the matrix asks about).
PUBLIC_PROJECT_POLICIES: frozenset[Policy] = frozenset(
    {("repository", "list"), ("repository", "pull"), ("tag", "list")}
)
#: What the two robots are given (their permission lists, as the API takes them).
ROBOT_ACCESS: tuple[Policy, ...] = (("repository", "pull"), ("repository", "push"))

PROJECTS = ("pub", "priv")
PUBLIC = {"pub": True, "priv": False}

Kind = Literal["anonymous", "user", "sysadmin", "robot", "system-robot"]


@dataclass(frozen=True, slots=True)
class Ident:
    """Who a cell is tried as: ``key`` names the cell (and the repositories it makes)."""

    key: str
    kind: Kind
    username: str = ""
    role: str | None = None  # the role in both projects, for members
    robot_project: str | None = None  # a project robot's project

    @property
    def anonymous(self) -> bool:
        return self.kind == "anonymous"


IDENTITIES: tuple[Ident, ...] = (
    Ident("anonymous", "anonymous"),
    Ident("non-member", "user", "outsider"),
    Ident("project-admin", "user", "padmin", "projectAdmin"),
    Ident("maintainer", "user", "maint", "maintainer"),
    Ident("developer", "user", "devel", "developer"),
    Ident("guest", "user", "visitor", "guest"),
    Ident("limited-guest", "user", "limited", "limitedGuest"),
    Ident("system-admin", "sysadmin", "root2"),
    Ident("project-robot", "robot", "robot$pub+ci", robot_project="pub"),
    Ident("system-robot", "system-robot", "robot$sweeper"),
)
BY_KEY = {i.key: i for i in IDENTITIES}

ACTIONS = (
    "pull", "push", "delete-manifest", "delete-by-tag", "delete-tag", "list-tags", "catalog",
    "mount", "manage-members", "create-robot",
)  # fmt: skip


def holds(ident: Ident, project: str) -> frozenset[Policy] | None:
    """The policies ``ident`` holds in ``project`` by Harbor's rules (None: everything, a
    system administrator)."""
    if ident.kind == "sysadmin":
        return None
    held: set[Policy] = set(PUBLIC_PROJECT_POLICIES) if PUBLIC[project] else set()
    if ident.role is not None:
        held |= HARBOR_ROLE_POLICIES[ident.role]
    if ident.kind == "robot" and ident.robot_project == project:
        held |= set(ROBOT_ACCESS)
    if ident.kind == "system-robot":  # its permission names every project ("*")
        held |= set(ROBOT_ACCESS)
    return frozenset(held)


def _has(ident: Ident, project: str, policy: Policy) -> bool:
    held = holds(ident, project)
    return held is None or policy in held


def other(project: str) -> str:
    return "priv" if project == "pub" else "pub"


def allowed(ident: Ident, project: str, action: str) -> bool:
    """Harbor's answer for one cell (``mount``: whether the POST may proceed at all)."""
    if action in ("pull", "list-tags"):
        return _has(ident, project, ("repository", "pull"))
    if action in ("push", "mount"):
        return _has(ident, project, ("repository", "push"))
    if action in ("delete-manifest", "delete-by-tag"):
        return _has(ident, project, ("repository", "delete"))
    if action == "delete-tag":
        return _has(ident, project, ("tag", "delete"))
    if action == "catalog":
        return ident.kind == "sysadmin"
    if action == "manage-members":
        return _has(ident, project, ("member", "create"))
    if action == "create-robot":
        return _has(ident, project, ("robot", "create"))
    raise ValueError(action)


def expected_mount(ident: Ident, project: str) -> int | None:
    """A mount into ``project`` from the other project: 201 when the blob may be read there,
    202 (a plain upload instead) when it may not, None when the POST is refused."""
    if not allowed(ident, project, "mount"):
        return None
    return 201 if _has(ident, other(project), ("repository", "pull")) else 202


def granted_actions(token: str) -> dict[tuple[str, str], set[str]]:
    """The ``access`` claim of a token (read, not verified: the registry verifies it)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    out: dict[tuple[str, str], set[str]] = {}
    for entry in claims.get("access") or []:
        out.setdefault((entry["type"], entry["name"]), set()).update(entry["actions"])
    return out


@dataclass
class Matrix:
    """The registry every cell runs against, and the secrets of the people in it."""

    server: RegistryProcess
    work: Path
    secrets: dict[str, str] = field(default_factory=dict)  # identity key → password / secret
    robot_ids: dict[str, int] = field(default_factory=dict)
    seed_layout: Path | None = None

    @property
    def host(self) -> str:
        return self.server.host

    def client(self, ident: Ident | None = None, **kw: Any) -> httpx.Client:
        """An HTTP client for the registry; Basic credentials of ``ident`` (admin when None,
        none for anonymous)."""
        if ident is None:
            auth: Any = ("admin", ADMIN_PASSWORD)
        elif ident.anonymous:
            auth = None
        else:
            auth = (ident.username, self.secrets[ident.key])
        return httpx.Client(base_url=self.server.url, auth=auth, timeout=60, **kw)

    def admin(self) -> httpx.Client:
        return self.client(None)

    def bare(self) -> httpx.Client:
        """A client sending no credentials of its own (for requests with a bearer token)."""
        return httpx.Client(base_url=self.server.url, timeout=60)

    def creds(self, ident: Ident) -> str | None:
        return None if ident.anonymous else f"{ident.username}:{self.secrets[ident.key]}"

    def token(self, ident: Ident, *scopes: str) -> httpx.Response:
        """The token service's answer to ``ident`` asking for ``scopes``."""
        params: list[tuple[str, str | int | float | bool | None]] = [("service", SERVICE)]
        params += [("scope", s) for s in scopes]
        with self.client(ident) as c:
            return c.get("/service/token", params=params)

    def bearer(self, ident: Ident, *scopes: str) -> dict[str, str]:
        r = self.token(ident, *scopes)
        assert r.status_code == 200, (ident.key, r.status_code, r.text)
        return {"authorization": f"Bearer {r.json()['token']}"}

    def audit(self, **filters: str) -> list[dict[str, Any]]:
        """Audit-log entries matching ``filters`` exactly (Harbor's ``q=k=v,…``), as admin."""
        q = ",".join(f"{k}={v}" for k, v in filters.items())
        with self.admin() as c:
            r = c.get(f"{API}/audit-logs", params={"q": q, "page_size": 100})
        assert r.status_code == 200, r.text
        return list(r.json())


def audit_has(
    matrix: Matrix, who: str | None = None, timeout: float = 10.0, **filters: str
) -> list[dict[str, Any]]:
    """The entries matching ``filters`` (and, with ``who``, once one is by ``who``), waiting
    for the audit writer; AssertionError when none appear."""

    def found() -> list[dict[str, Any]] | None:
        entries = matrix.audit(**filters)
        if who is not None and all(e["username"] != who for e in entries):
            return None
        return entries or None

    return wait_for(found, timeout)


def _ok(response: httpx.Response, status: int = 201) -> httpx.Response:
    assert response.status_code == status, (response.request.url, response.text)
    return response


def seed_layout(where: Path, name: str) -> Path:
    """A one-layer OCI layout (tag ``t``) whose layer is unique to ``name``."""
    oci_layout(where, [gzip_tar(f"{name}.txt", f"made for {name}\n".encode())], tag="t")
    return where


def skopeo_push(
    matrix: Matrix, ident: Ident, layout: Path, ref: str
) -> subprocess.CompletedProcess[str]:
    creds = matrix.creds(ident)
    auth = ["--dest-creds", creds] if creds else ["--dest-no-creds"]
    return run_command(
        ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", *auth, f"oci:{layout}:t",
         f"docker://{matrix.host}/{ref}"],
        check=False,
    )  # fmt: skip


def skopeo_pull(
    matrix: Matrix, ident: Ident, ref: str, into: Path
) -> subprocess.CompletedProcess[str]:
    creds = matrix.creds(ident)
    auth = ["--src-creds", creds] if creds else ["--src-no-creds"]
    return run_command(
        ["skopeo", "copy", "--quiet", "--src-tls-verify=false", *auth,
         f"docker://{matrix.host}/{ref}", f"dir:{into}"],
        check=False,
    )  # fmt: skip


def skopeo_delete(matrix: Matrix, ident: Ident, ref: str) -> subprocess.CompletedProcess[str]:
    """``skopeo delete`` of ``ref`` (``<repository>@<digest>``)."""
    creds = matrix.creds(ident)
    auth = ["--creds", creds] if creds else ["--no-creds"]
    return run_command(
        ["skopeo", "delete", "--tls-verify=false", *auth, f"docker://{matrix.host}/{ref}"],
        check=False,
    )


def skopeo_list_tags(
    matrix: Matrix, ident: Ident, repository: str
) -> subprocess.CompletedProcess[str]:
    creds = matrix.creds(ident)
    auth = ["--creds", creds] if creds else ["--no-creds"]
    return run_command(
        ["skopeo", "list-tags", "--tls-verify=false", *auth,
         f"docker://{matrix.host}/{repository}"],
        check=False,
    )  # fmt: skip


def _epoch(harbor_time: str) -> float:
    moment = datetime.strptime(harbor_time, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return moment.timestamp()


def attempt_logged(
    matrix: Matrix,
    username: str,
    *,
    ok: bool,
    since: float,
    operation: str | None,
    resource: str,
    timeout: float = 10.0,
) -> list[dict[str, Any]]:
    """The ``/auditlog-exts`` entries by ``username`` of ``operation`` (None: any) on
    ``resource`` with outcome ``ok``, written at ``since`` (epoch seconds) or later, waiting
    for the writer; AssertionError when none appear."""
    q = f"username={username},resource={resource},op_result={str(ok).lower()}"
    if operation is not None:
        q += f",operation={operation}"
    floor = since - 0.002  # op_time is written to the millisecond

    def found() -> list[dict[str, Any]] | None:
        with matrix.admin() as admin:
            r = admin.get(f"{API}/auditlog-exts", params={"q": q, "page_size": 100})
        assert r.status_code == 200, r.text
        fresh = [e for e in r.json() if _epoch(e["op_time"]) >= floor]
        assert all(e["operation_result"] is ok for e in fresh), fresh
        return fresh or None

    return wait_for(found, timeout)


def _setup(matrix: Matrix) -> None:
    """Everything through the API as ``admin``: two projects, one user per role (a member of
    both), a non-member, a second system administrator, a project robot and a system robot;
    then ``<project>/base:1`` pushed by admin with skopeo."""
    with matrix.admin() as admin:
        for project in PROJECTS:
            body: dict[str, Any] = {
                "project_name": project,
                "metadata": {"public": str(PUBLIC[project]).lower()},
            }
            _ok(admin.post(f"{API}/projects", json=body))
        for ident in IDENTITIES:
            if ident.kind not in ("user", "sysadmin"):
                continue
            body = {"username": ident.username, "password": PASSWORD,
                    "email": f"{ident.username}@example.test", "realname": ident.key}  # fmt: skip
            user_id = int(_ok(admin.post(f"{API}/users", json=body)).headers["location"]
                          .rsplit("/", 1)[1])  # fmt: skip
            matrix.secrets[ident.key] = PASSWORD
            if ident.kind == "sysadmin":
                _ok(admin.put(f"{API}/users/{user_id}/sysadmin", json={"sysadmin_flag": True}),
                    200)  # fmt: skip
            if ident.role is not None:
                for project in PROJECTS:
                    member = {"role_id": ROLE_IDS[ident.role],
                              "member_user": {"username": ident.username}}  # fmt: skip
                    _ok(admin.post(f"{API}/projects/{project}/members", json=member))
        access = [{"resource": r, "action": a} for r, a in ROBOT_ACCESS]
        robots: tuple[tuple[str, dict[str, Any]], ...] = (
            ("project-robot", {"name": "ci", "level": "project", "duration": -1,
                               "permissions": [{"kind": "project", "namespace": "pub",
                                                "access": access}]}),
            ("system-robot", {"name": "sweeper", "level": "system", "duration": -1,
                              "permissions": [{"kind": "project", "namespace": "*",
                                               "access": access}]}),
        )  # fmt: skip
        for key, body in robots:
            created = _ok(admin.post(f"{API}/robots", json=body)).json()
            assert created["name"] == BY_KEY[key].username, created
            matrix.secrets[key] = created["secret"]
            matrix.robot_ids[key] = created["id"]
    matrix.seed_layout = seed_layout(matrix.work / "seed", "seed")
    admin_ident = Ident("admin", "sysadmin", "admin")
    matrix.secrets["admin"] = ADMIN_PASSWORD
    for project in PROJECTS:
        done = skopeo_push(matrix, admin_ident, matrix.seed_layout, f"{project}/base:1")
        assert done.returncode == 0, done.stderr


@contextmanager
def matrix_registry(work: Path, **env: str) -> Iterator[Matrix]:
    """A projects-mode registry process in ``work``, set up by :func:`_setup`."""
    root = work / "data"
    full: Mapping[str, str] = projects_env(root, DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD, **env)
    with start_registry(root, env=full) as server:
        matrix = Matrix(server, work)
        _setup(matrix)
        yield matrix
