"""``auth: projects`` through a real ``dockyard registry serve`` process and real clients:
docker (login, identity tokens), podman and skopeo; Harbor's roles decide who may push and
pull; anonymous pulls of public projects; robots; LDAP users (a real slapd) with their group's
role; quotas; the audit log; the first admin at start-up."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from _infra import BUSYBOX_REF, BuiltImage, DockerDaemon, Podman, backend
from _infra._process import run_command
from _infra.projects_registry import (
    ADMIN_PASSWORD,
    PASSWORD,
    audit_entries,
    basic,
    projects_env,
    team_with_people,
    wait_for,
)
from _infra.registry_server import RegistryProcess, start_registry
from _infra.slapd import PEOPLE, READER_DN, READER_PASSWORD, SUFFIX, group_dn, started_slapd
from dockyard.registry.access import Access, AccessConfig, AccessService, RobotPermission, Role

pytestmark = pytest.mark.slow


@dataclass
class Served:
    server: RegistryProcess
    access: AccessService

    @property
    def host(self) -> str:
        return self.server.host


def _env(root: Path, **extra: str) -> dict[str, str]:
    return projects_env(root, DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD, **extra)


def _serve(tmp_path: Path, **extra: str) -> Iterator[Served]:
    root = tmp_path / "data"
    with start_registry(root, env=_env(root, **extra)) as server:
        db = backend.database(root)
        try:
            yield Served(server, AccessService(db, AccessConfig(password_cost=4)))
        finally:
            db.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from _serve(tmp_path)


def _login(dockerd: DockerDaemon, config: Path, host: str, user: str, password: str) -> None:
    config.mkdir(exist_ok=True)
    out = dockerd.run("--config", str(config), "login", host, "-u", user, "--password-stdin",
                      input=password).stdout  # fmt: skip
    assert "Login Succeeded" in out


def _docker(
    dockerd: DockerDaemon, config: Path, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return dockerd.run("--config", str(config), *args, check=check)


def _what_was_written(served: Served) -> str:
    entries = audit_entries(served.access)
    lines = [f"{e.operation} {e.resource} by {e.username} ok={e.ok}" for e in entries]
    log = served.server.log.read_text(errors="replace")[-4000:]
    return "audit entries:\n" + "\n".join(lines) + "\nregistry log (end):\n" + log


def test_docker_roles_decide_push_and_pull(
    served: Served, dockerd: DockerDaemon, busybox_image: BuiltImage, tmp_path: Path
) -> None:
    team_with_people(served.access)
    host = served.host
    anonymous = tmp_path / "anon"
    anonymous.mkdir()
    ref = f"{host}/team/app:1"
    dockerd.run("tag", BUSYBOX_REF, ref)
    refused = _docker(dockerd, anonymous, "push", ref, check=False)
    assert refused.returncode != 0, refused.stdout
    admin = tmp_path / "admin"
    _login(dockerd, admin, host, "admin", ADMIN_PASSWORD)
    assert "identitytoken" in (admin / "config.json").read_text()  # refresh tokens work
    _docker(dockerd, admin, "push", ref)
    dev = tmp_path / "dev"
    _login(dockerd, dev, host, "dev", PASSWORD)
    dockerd.run("tag", BUSYBOX_REF, f"{host}/team/app:2")
    _docker(dockerd, dev, "push", f"{host}/team/app:2")
    guest = tmp_path / "guest"
    _login(dockerd, guest, host, "guest", PASSWORD)
    dockerd.run("rmi", ref)
    _docker(dockerd, guest, "pull", ref)
    dockerd.run("tag", BUSYBOX_REF, f"{host}/team/app:3")
    denied = _docker(dockerd, guest, "push", f"{host}/team/app:3", check=False)
    assert denied.returncode != 0
    assert "denied" in denied.stderr.lower() or "unauthorized" in denied.stderr.lower()
    for tag in ("1", "2", "3"):
        dockerd.run("rmi", f"{host}/team/app:{tag}")
    # A pull is audited when the manifest is fetched (GET), as Harbor does. dockerd keeps the
    # manifests it has seen (from any registry) and then only asks with HEAD which digest the
    # tag names — no pull to record; skopeo always fetches it.
    run_command(["skopeo", "inspect", "--tls-verify=false", "--creds", f"guest:{PASSWORD}",
                 f"docker://{ref}"])  # fmt: skip
    # the audit writer batches; a loaded CI machine can take a while
    wait_for(
        lambda: audit_entries(served.access, operation="pull", username="guest"),
        60,
        explain=lambda: _what_was_written(served),
    )
    pushes = {(e.username, e.ok) for e in audit_entries(served.access, operation="create",
                                                        resource_type="artifact")}  # fmt: skip
    # the guest's refused push is in the log too, marked not ok
    assert {u for u, ok in pushes if ok} == {"admin", "dev"}
    assert ("admin", False) not in pushes and ("dev", False) not in pushes
    logins = {e.username for e in audit_entries(served.access, operation="login")}
    assert {"admin", "dev", "guest"} <= logins


def test_skopeo_and_podman_follow_the_roles(
    served: Served, podman: Podman, dockerd: DockerDaemon, busybox_image: BuiltImage,
    tmp_path: Path,
) -> None:  # fmt: skip
    team_with_people(served.access)
    archive = tmp_path / "busybox.tar"
    dockerd.run("save", "-o", str(archive), BUSYBOX_REF)
    host = served.host
    run_command(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds",
                 f"dev:{PASSWORD}", f"docker-archive:{archive}", f"docker://{host}/team/sk:1"])  # fmt: skip
    refused = run_command(
        ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds",
         f"guest:{PASSWORD}", f"docker-archive:{archive}", f"docker://{host}/team/sk:2"],
        check=False,
    )  # fmt: skip
    assert refused.returncode != 0
    run_command(["skopeo", "inspect", "--tls-verify=false", "--creds", f"guest:{PASSWORD}",
                 f"docker://{host}/team/sk:1"])  # fmt: skip
    podman.run("login", "--tls-verify=false", "-u", "guest", "-p", PASSWORD, host)
    podman.run("pull", "--tls-verify=false", f"{host}/team/sk:1")
    podman.run("tag", f"{host}/team/sk:1", f"{host}/team/pm:1")
    assert podman.run("push", "--tls-verify=false", f"{host}/team/pm:1", check=False).returncode
    podman.run("login", "--tls-verify=false", "-u", "dev", "-p", PASSWORD, host)
    podman.run("push", "--tls-verify=false", f"{host}/team/pm:1")


def test_anonymous_pulls_public_projects_only(
    served: Served, dockerd: DockerDaemon, busybox_image: BuiltImage, tmp_path: Path
) -> None:
    admin = team_with_people(served.access, "private")
    served.access.create_project(admin, "pub", public=True)
    archive = tmp_path / "busybox.tar"
    dockerd.run("save", "-o", str(archive), BUSYBOX_REF)
    for project in ("pub", "private"):
        run_command(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds",
                     f"admin:{ADMIN_PASSWORD}", f"docker-archive:{archive}",
                     f"docker://{served.host}/{project}/app:1"])  # fmt: skip
    nobody = tmp_path / "nobody"
    nobody.mkdir()
    _docker(dockerd, nobody, "pull", f"{served.host}/pub/app:1")
    private = _docker(dockerd, nobody, "pull", f"{served.host}/private/app:1", check=False)
    assert private.returncode != 0
    run_command(["skopeo", "inspect", "--tls-verify=false", "--no-creds",
                 f"docker://{served.host}/pub/app:1"])  # fmt: skip
    anonymous = run_command(["skopeo", "inspect", "--tls-verify=false", "--no-creds",
                             f"docker://{served.host}/private/app:1"], check=False)  # fmt: skip
    assert anonymous.returncode != 0
    dockerd.run("rmi", f"{served.host}/pub/app:1")
    wait_for(lambda: audit_entries(served.access, operation="pull", username="anonymous"))


def test_robot_pushes_until_its_secret_is_refreshed(
    served: Served, dockerd: DockerDaemon, busybox_image: BuiltImage, tmp_path: Path
) -> None:
    admin = team_with_people(served.access)
    push = (Access("repository", "pull"), Access("repository", "push"))
    robot, secret = served.access.create_robot(
        admin, "ci", level="project", duration=30,
        permissions=[RobotPermission("project", "team", push)],
    )  # fmt: skip
    archive = tmp_path / "busybox.tar"
    dockerd.run("save", "-o", str(archive), BUSYBOX_REF)

    def copy(password: str, tag: str) -> subprocess.CompletedProcess[str]:
        return run_command(
            ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds",
             f"{robot.name}:{password}", f"docker-archive:{archive}",
             f"docker://{served.host}/team/bot:{tag}"],
            check=False,
        )  # fmt: skip

    assert copy(secret, "1").returncode == 0
    fresh = served.access.refresh_robot_secret(admin, robot.id)
    old = copy(secret, "2")
    assert old.returncode != 0 and "unauthorized" in old.stderr.lower(), old.stderr
    assert copy(fresh, "3").returncode == 0

    def pushers() -> set[str]:
        found = audit_entries(served.access, operation="create", resource_type="artifact")
        return {e.username for e in found}

    assert wait_for(lambda: pushers() or None) == {robot.name}


def test_ldap_user_gets_their_groups_role(
    tmp_path: Path, dockerd: DockerDaemon, busybox_image: BuiltImage
) -> None:
    with started_slapd() as slapd:
        ldap = {
            "REGISTRY_AUTH_PROJECTS_LDAP_URL": slapd.url,
            "REGISTRY_AUTH_PROJECTS_LDAP_SEARCHDN": READER_DN,
            "REGISTRY_AUTH_PROJECTS_LDAP_SEARCHPASSWORD": READER_PASSWORD,
            "REGISTRY_AUTH_PROJECTS_LDAP_BASEDN": f"ou=people,{SUFFIX}",
            "REGISTRY_AUTH_PROJECTS_LDAP_FILTER": "(objectClass=inetOrgPerson)",
            "REGISTRY_AUTH_PROJECTS_LDAP_GROUPBASEDN": f"ou=groups,{SUFFIX}",
            "REGISTRY_AUTH_PROJECTS_LDAP_GROUPADMINDN": group_dn("admins"),
        }
        for served in _serve(tmp_path, **ldap):
            admin = team_with_people(served.access)
            served.access.add_member(
                admin, "team", role_id=int(Role.DEVELOPER), group="developers",
                ldap_group_dn=group_dn("developers"),
            )  # fmt: skip
            assert "LDAP users from" in served.server.log.read_text()
            host = served.host
            alice = tmp_path / "alice"
            _login(dockerd, alice, host, "alice", PEOPLE["alice"][0])
            ref = f"{host}/team/ldap:1"
            dockerd.run("tag", BUSYBOX_REF, ref)
            _docker(dockerd, alice, "push", ref)  # as a developer, through her group
            carol = tmp_path / "carol"
            _login(dockerd, carol, host, "carol", PEOPLE["carol"][0])  # in no group
            denied = _docker(dockerd, carol, "pull", ref, check=False)
            assert denied.returncode != 0
            dockerd.run("rmi", ref)
            user = served.access.users.by_name("alice")
            assert user.source == "ldap" and user.email == "alice@example.org"


def test_over_quota_push_is_refused_with_the_quota(
    served: Served, dockerd: DockerDaemon, busybox_image: BuiltImage, tmp_path: Path
) -> None:
    team_with_people(served.access, storage_limit=100_000)
    archive = tmp_path / "busybox.tar"
    dockerd.run("save", "-o", str(archive), BUSYBOX_REF)
    refused = run_command(
        ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds",
         f"dev:{PASSWORD}", f"docker-archive:{archive}", f"docker://{served.host}/team/big:1"],
        check=False,
    )  # fmt: skip
    assert refused.returncode != 0
    assert "exceed project team's quota of 97.7KB" in refused.stderr, refused.stderr
    assert served.access.quotas.usage("team") == 0


def test_five_wrong_passwords_lock_out_with_retry_after(tmp_path: Path) -> None:
    lockout = {
        "REGISTRY_AUTH_PROJECTS_LOCKOUT_DELAYAFTER": "5",
        "REGISTRY_AUTH_PROJECTS_LOCKOUT_REFUSEAFTER": "5",
    }
    for served in _serve(tmp_path, **lockout):
        team_with_people(served.access)
        url = f"{served.server.url}/service/token"
        for _ in range(5):
            assert httpx.get(url, headers=basic("dev", "Wrong1234")).status_code == 401
        r = httpx.get(url, headers=basic("dev", PASSWORD))
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        r = httpx.get(f"{served.server.url}/v2/", headers=basic("dev", PASSWORD))
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        (lock, *_) = audit_entries(served.access, operation="login_lockout")
        assert lock.client_ip == "127.0.0.1" and lock.username == "dev"


def test_first_admin_password_is_printed_once(tmp_path: Path) -> None:
    root = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k != "DOCKYARD_ADMIN_PASSWORD"}
    os_env = projects_env(root)
    first = _start_logged(root, {**env, **os_env})
    match = re.search(r"admin password: (\S+) \(shown once; set DOCKYARD_ADMIN_PASSWORD", first)
    assert match, first
    assert "access: projects" in first
    second = _start_logged(root, {**env, **os_env})
    assert "admin password" not in second and "access: projects" in second


def _start_logged(root: Path, env: dict[str, str]) -> str:
    with start_registry(root, env=env) as server:
        password = re.search(r"admin password: (\S+) ", server.log.read_text())
        if password:
            r = httpx.get(f"{server.url}/v2/", auth=("admin", password.group(1)))
            assert r.status_code == 200
        return server.log.read_text()


def test_open_registry_states_its_access_mode(tmp_path: Path) -> None:
    with start_registry(tmp_path / "data") as server:
        assert "access: open" in server.log.read_text()
