"""Immutable tags through a real ``dockyard registry serve`` (``auth: projects``) and real
clients: rules made with ``dockyard project immutable``; docker, skopeo, podman and dockyard
pushes of another image onto a protected tag are refused and the tag keeps its digest;
deletes through ``/v2/`` and the API are refused; a tag a rule excludes moves freely."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from _infra import BUSYBOX_REF, BuiltImage, DockerDaemon, Podman, backend, run_dockyard
from _infra._process import run_command
from _infra.cli_contract import import_image, json_lines, rootfs_tar
from _infra.projects_registry import ADMIN_PASSWORD, PASSWORD, projects_env, team_with_people
from _infra.registry_server import RegistryProcess, start_registry
from dockyard.registry.access import AccessConfig, AccessService

pytestmark = pytest.mark.slow

OCI_ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


@dataclass
class Served:
    server: RegistryProcess
    access: AccessService
    #: the dockyard CLI's store and environment (logged in as admin)
    root: Path
    env: dict[str, str]

    @property
    def host(self) -> str:
        return self.server.host

    def dockyard(self, *args: str, check: bool = True) -> Any:
        return run_dockyard(*args, root=self.root, env=self.env, check=check, timeout=120)

    def digest(self, repository: str, tag: str) -> str:
        r = httpx.head(f"{self.server.url}/v2/{repository}/manifests/{tag}",
                       headers={"accept": OCI_ACCEPT}, auth=("admin", ADMIN_PASSWORD))  # fmt: skip
        assert r.status_code == 200, r.text
        return str(r.headers["docker-content-digest"])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    base = tmp_path_factory.mktemp("immutable-clients")
    root = base / "data"
    env = projects_env(root, DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD)
    with start_registry(root, env=env) as server:
        db = backend.database(root)
        try:
            access = AccessService(db, AccessConfig(password_cost=4))
            team_with_people(access)
            cli_env = {
                "DOCKER_CONFIG": str(base / "docker"),
                "DOCKYARD_REGISTRIES_CONFIG": str(base / "no-registries.json"),
                "DOCKYARD_REGISTRY": server.host,
            }
            store = base / "store"
            store.mkdir()
            run_dockyard("login", "-u", "admin", "--password-stdin", server.host, root=store,
                         env=cli_env, input=ADMIN_PASSWORD + "\n")  # fmt: skip
            yield Served(server, access, store, cli_env)
        finally:
            db.close()


def _refused(result: Any, what: str) -> None:
    assert result.returncode != 0, f"{what} succeeded: {result.stdout}"
    assert "immutable" in result.stderr, f"{what}: {result.stderr}"


def test_every_client_is_refused_a_protected_tag(
    served: Served, dockerd: DockerDaemon, busybox_image: BuiltImage, podman: Podman,
    tmp_path: Path,
) -> None:  # fmt: skip
    host = served.host
    protect = served.dockyard("project", "immutable", "add", "team", "v*.*.*", "--format", "json")
    rule = json.loads(protect.stdout)
    assert rule["tag_selectors"][0]["pattern"] == "v*.*.*" and rule["disabled"] is False
    # in team/svc every tag is protected but dev-*
    served.dockyard("project", "immutable", "add", "team", "dev-*", "--exclude-tags",
                    "--repositories", "svc")  # fmt: skip

    config = tmp_path / "docker"
    config.mkdir()
    dockerd.run("--config", str(config), "login", host, "-u", "dev", "--password-stdin",
                input=PASSWORD)  # fmt: skip
    protected = f"{host}/team/app:v1.0.0"
    dockerd.run("tag", BUSYBOX_REF, protected)
    dockerd.run("--config", str(config), "push", protected)  # a new protected tag: allowed
    first = served.digest("team/app", "v1.0.0")
    dockerd.run("--config", str(config), "push", protected)  # the same image again: allowed

    # another image, for every client
    dockerd.run("import", str(rootfs_tar(tmp_path / "other.tar")), "dockyard-test/other:1")
    archive = tmp_path / "other-archive.tar"
    dockerd.run("save", "-o", str(archive), "dockyard-test/other:1")

    dockerd.run("tag", "dockyard-test/other:1", protected)
    _refused(dockerd.run("--config", str(config), "push", protected, check=False), "docker push")

    skopeo = ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds",
              f"dev:{PASSWORD}", f"docker-archive:{archive}"]  # fmt: skip
    _refused(run_command([*skopeo, f"docker://{protected}"], check=False), "skopeo copy")

    loaded = podman.run("pull", f"docker-archive:{archive}").stdout.strip().splitlines()[-1]
    podman.run("tag", loaded, protected)
    podman.run("login", "--tls-verify=false", "-u", "dev", "-p", PASSWORD, host)
    _refused(podman.run("push", "--tls-verify=false", protected, check=False), "podman push")

    import_image(served.root, tmp_path, protected, {"etc/motd": b"dockyard's own image\n"})
    _refused(served.dockyard("push", protected, check=False), "dockyard push")

    assert served.digest("team/app", "v1.0.0") == first

    # deletes: through /v2/ (403 DENIED) and the API (412, as Harbor's)
    admin = ("admin", ADMIN_PASSWORD)
    for reference in ("v1.0.0", first):
        r = httpx.delete(f"{served.server.url}/v2/team/app/manifests/{reference}", auth=admin)
        assert r.status_code == 403 and r.json()["errors"][0]["code"] == "DENIED", r.text
        assert f"immutable tag rule {rule['id']}" in r.json()["errors"][0]["message"]
    api = f"{served.server.url}/api/v2.0/projects/team/repositories/app/artifacts"
    r = httpx.delete(f"{api}/v1.0.0/tags/v1.0.0", auth=admin)
    assert r.status_code == 412 and "immutable" in r.text, r.text
    r = httpx.delete(f"{api}/v1.0.0", auth=admin)
    assert r.status_code == 412, r.text
    assert served.digest("team/app", "v1.0.0") == first

    # the excluded tag moves (and goes); a tag the rule keeps does not
    moving = [*skopeo[:-1]]
    busybox = tmp_path / "busybox.tar"
    dockerd.run("save", "-o", str(busybox), BUSYBOX_REF)
    run_command([*moving, f"docker-archive:{busybox}", f"docker://{host}/team/svc:dev-1"])
    run_command([*skopeo, f"docker://{host}/team/svc:dev-1"])
    assert served.digest("team/svc", "dev-1") != first
    run_command([*moving, f"docker-archive:{busybox}", f"docker://{host}/team/svc:1.0"])
    _refused(run_command([*skopeo, f"docker://{host}/team/svc:1.0"], check=False), "svc:1.0")
    assert httpx.delete(f"{served.server.url}/v2/team/svc/manifests/dev-1",
                        auth=admin).status_code == 202  # fmt: skip
    for ref in (protected, "dockyard-test/other:1"):
        dockerd.run("rmi", ref)


def test_rules_are_listed_switched_and_removed_from_the_cli(served: Served) -> None:
    admin = team_with_people(served.access, "clirules")
    assert admin.name == "admin"
    first = served.dockyard("project", "immutable", "add", "clirules", "{v*.*.*,latest}")
    rule_id = int(first.stdout.strip())
    twin = served.dockyard("project", "immutable", "add", "clirules", "{v*.*.*,latest}",
                           check=False)  # fmt: skip
    assert twin.returncode == 1 and "already exists" in twin.stderr, twin.stderr
    bad = served.dockyard("project", "immutable", "add", "clirules", "v[", check=False)
    assert bad.returncode == 1 and "invalid pattern" in bad.stderr, bad.stderr
    served.dockyard("project", "immutable", "add", "clirules", "**", "--repositories",
                    "sandbox/**", "--exclude-repositories")  # fmt: skip
    table = served.dockyard("project", "immutable", "ls", "clirules").stdout.splitlines()
    assert table[0].split() == ["ID", "TAGS", "REPOSITORIES", "DISABLED"]
    assert table[1].split() == [str(rule_id), "{v*.*.*,latest}", "**", "false"]
    assert table[2].split()[1:] == ["**", "not", "sandbox/**", "false"]
    served.dockyard("project", "immutable", "disable", "clirules", str(rule_id))
    rules = json_lines(served.dockyard("project", "immutable", "ls", "clirules", "--format",
                                       "json").stdout)  # fmt: skip
    assert (rules[0]["id"], rules[0]["disabled"]) == (rule_id, True)
    assert set(rules[0]) == {"id", "priority", "disabled", "action", "template",
                             "tag_selectors", "scope_selectors"}  # fmt: skip
    served.dockyard("project", "immutable", "enable", "clirules", str(rule_id))
    served.dockyard("project", "immutable", "rm", "clirules", str(rule_id))
    rules = json_lines(served.dockyard("project", "immutable", "ls", "clirules", "--format",
                                       "json").stdout)  # fmt: skip
    assert rule_id not in [r["id"] for r in rules] and len(rules) == 1
    gone = served.dockyard("project", "immutable", "rm", "clirules", str(rule_id), check=False)
    assert gone.returncode == 1 and "not found" in gone.stderr, gone.stderr
