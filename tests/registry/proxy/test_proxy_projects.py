"""Harbor's proxy cache projects on a real ``dockyard registry serve`` (``auth: projects``) in
front of a real distribution 2.8.2 with token auth: an endpoint registry and a project with its
``registry_id`` made through Harbor's API (bodies checked against Harbor's definitions), a
real ``docker pull`` through the project, a second pull that reaches no upstream (the
upstream's own access log), a non-member refused, pushes refused as Harbor refuses them, and
Docker Hub's ``library/`` rule."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from _infra._dockerd import DockerDaemon
from _infra._process import run_command
from _infra.harbor_api import check_created, check_error
from _infra.mirror import PASSWORD as UPSTREAM_PASSWORD
from _infra.mirror import USER as UPSTREAM_USER
from _infra.mirror import Upstream, token_upstream
from _infra.oci_layout import gzip_tar, oci_layout
from _infra.projects_registry import ADMIN_PASSWORD, PASSWORD, basic, projects_env
from _infra.registry_server import RegistryProcess, start_registry
from _infra.replication import check_harbor
from dockyard.registry.proxy.projects import (
    DOCKER_HUB_API,
    endpoint_upstream,
    upstream_repository,
)
from dockyard.registry.replication import RemoteRegistry

pytestmark = pytest.mark.slow

API = "/api/v2.0"
ACCEPT = {"accept": "application/vnd.oci.image.manifest.v1+json"}


@dataclass
class Served:
    upstream: Upstream
    dockyard: RegistryProcess
    api: httpx.Client
    #: the docker-registry endpoint the ``cache`` project pulls through
    endpoint: int
    layouts: Path

    @property
    def host(self) -> str:
        return self.dockyard.host

    def push_upstream(self, payload: bytes, repo: str, tag: str) -> str:
        """A one-layer image pushed straight to the upstream; its manifest digest."""
        layout = self.layouts / f"{repo.replace('/', '_')}-{tag}"
        digest = oci_layout(layout, [gzip_tar("f.txt", payload)])
        run_command(
            ["skopeo", "copy", "--quiet", "--dest-tls-verify=false",
             "--dest-creds", f"{UPSTREAM_USER}:{UPSTREAM_PASSWORD}", f"oci:{layout}:t",
             f"docker://{self.upstream.host}/{repo}:{tag}"],
            timeout=120,
        )  # fmt: skip
        return digest

    def get(self, path: str, user: str = "dev", password: str = PASSWORD) -> httpx.Response:
        return httpx.get(f"{self.dockyard.url}{path}", headers={**ACCEPT, **basic(user, password)},
                         timeout=60)  # fmt: skip


def _endpoint(api: httpx.Client, name: str, kind: str, url: str) -> int:
    body = {"name": name, "type": kind, "url": url, "insecure": True,
            "credential": {"type": "basic", "access_key": UPSTREAM_USER,
                           "access_secret": UPSTREAM_PASSWORD}}  # fmt: skip
    return int(check_created(api.post(f"{API}/registries", json=body), f"{API}/registries"))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("proxy-projects")
    root = tmp / "dockyard" / "data"
    env = projects_env(root, DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD)
    with (
        token_upstream(tmp / "upstream") as upstream,
        start_registry(root, env=env) as dockyard,
        httpx.Client(base_url=dockyard.url, headers=basic("admin", ADMIN_PASSWORD),
                     timeout=30) as api,
    ):  # fmt: skip
        endpoint = _endpoint(api, "upstream", "docker-registry", f"http://{upstream.host}")
        body = {"project_name": "cache", "registry_id": endpoint, "public": False,
                "metadata": {"proxy_speed_kb": "-1"}}  # fmt: skip
        check_created(api.post(f"{API}/projects", json=body), f"{API}/projects")
        check_created(api.post(f"{API}/projects", json={"project_name": "plain"}),
                      f"{API}/projects")  # fmt: skip
        for user in ("dev", "outsider"):
            body = {"username": user, "password": PASSWORD, "realname": user,
                    "email": f"{user}@example.test"}  # fmt: skip
            assert api.post(f"{API}/users", json=body).status_code == 201
        for project in ("cache", "plain"):  # dev is a developer: RBAC would let it push
            member = {"role_id": 2, "member_user": {"username": "dev"}}
            assert api.post(f"{API}/projects/{project}/members", json=member).status_code == 201
        layouts = tmp / "layouts"
        layouts.mkdir()
        yield Served(upstream, dockyard, api, endpoint, layouts)


def test_a_proxy_project_is_made_for_an_endpoint_as_harbor_makes_it(served: Served) -> None:
    api = served.api
    project = check_harbor(api.get(f"{API}/projects/cache").json(), "Project")
    assert project["registry_id"] == served.endpoint
    assert "proxy_speed_kb" not in project["metadata"]  # accepted, not kept
    listed = check_harbor(api.get(f"{API}/projects").json(), "Project", many=True)
    by_name = {p["name"]: p for p in listed}
    assert by_name["cache"]["registry_id"] == served.endpoint
    assert "registry_id" not in by_name["plain"]
    # Harbor's refusals
    for body in (
        {"project_name": "p1", "registry_id": 9999},
        {"project_name": "p1", "registry_id": 0},
        {"project_name": "p1", "registry_id": "1"},
        {"project_name": "p1", "registry_id": served.endpoint,
         "metadata": {"proxy_speed_kb": "fast"}},
    ):  # fmt: skip
        check_error(api.post(f"{API}/projects", json=body), 400, "BAD_REQUEST")
    r = httpx.post(f"{served.dockyard.url}{API}/projects", headers=basic("dev", PASSWORD),
                   json={"project_name": "p2", "registry_id": served.endpoint})  # fmt: skip
    assert "system admin" in check_error(r, 403, "FORBIDDEN")
    # the endpoint cannot go while a project pulls through it
    r = api.delete(f"{API}/registries/{served.endpoint}")
    assert "cache" in check_error(r, 412, "PRECONDITION")
    # Harbor's other proxy-cache endpoint types are taken
    hub = _endpoint(api, "hub", "docker-hub", "https://hub.docker.com")
    got = check_harbor(api.get(f"{API}/registries/{hub}").json(), "Registry")
    assert got["type"] == "docker-hub"
    assert api.delete(f"{API}/registries/{hub}").status_code == 200


@pytest.mark.docker
def test_docker_pulls_through_the_proxy_project_and_a_second_pull_stays_local(
    served: Served, dockerd: DockerDaemon, tmp_path: Path
) -> None:
    digest = served.push_upstream(b"through a proxy project\n" * 200, "team/app", "v1")
    config = tmp_path / "docker"
    config.mkdir()
    dockerd.run("--config", str(config), "login", served.host, "-u", "dev", "--password-stdin",
                input=PASSWORD)  # fmt: skip
    ref = f"{served.host}/cache/team/app:v1"
    first = len(served.upstream.hits_since(0))
    dockerd.run("--config", str(config), "pull", "-q", ref)
    fetched = served.upstream.hits_since(first)
    # the upstream was asked for team/app: the project's name is not part of it
    assert any(h.method == "GET" and h.path.startswith("/v2/team/app/blobs/") for h in fetched)
    assert not any("/cache/" in h.path for h in fetched), fetched
    try:
        repo_digests = dockerd.run("image", "inspect", "-f", "{{json .RepoDigests}}", ref).stdout
        assert digest in repo_digests
        dockerd.run("rmi", ref)
        mark = len(served.upstream.hits_since(0))
        dockerd.run("--config", str(config), "pull", "-q", ref)
        assert served.upstream.hits_since(mark) == []
    finally:
        dockerd.run("rmi", ref, check=False)
    # cached in the project itself, as Harbor shows a proxy project's artifacts
    r = served.api.get(f"{API}/projects/cache/repositories")
    names = [repo["name"] for repo in check_harbor(r.json(), "Repository", many=True)]
    assert "cache/team/app" in names


def test_a_non_member_is_refused_before_the_upstream_is_asked(served: Served) -> None:
    served.push_upstream(b"members only\n" * 100, "team/private", "v1")
    mark = len(served.upstream.hits_since(0))
    r = served.get("/v2/cache/team/private/manifests/v1", user="outsider")
    assert r.status_code in (401, 403), r.text
    assert r.json()["errors"][0]["code"] in ("DENIED", "UNAUTHORIZED")
    anonymous = httpx.get(f"{served.dockyard.url}/v2/cache/team/private/manifests/v1",
                          headers=ACCEPT, timeout=30)  # fmt: skip
    assert anonymous.status_code == 401
    assert served.upstream.hits_since(mark) == []
    member = served.get("/v2/cache/team/private/manifests/v1")
    assert member.status_code == 200, member.text


def test_pushes_into_a_proxy_project_are_refused_as_harbor_refuses_them(
    served: Served, tmp_path: Path
) -> None:
    layout = tmp_path / "layout"
    oci_layout(layout, [gzip_tar("p.txt", b"pushed\n")])
    copy = ["skopeo", "copy", "--quiet", "--dest-tls-verify=false",
            "--dest-creds", f"dev:{PASSWORD}", f"oci:{layout}:t"]  # fmt: skip
    refused = run_command([*copy, f"docker://{served.host}/cache/team/pushed:v1"], check=False)
    assert refused.returncode != 0
    assert "can not push artifact to a proxy project: cache" in refused.stderr, refused.stderr
    for method, path in (
        ("POST", "/v2/cache/team/pushed/blobs/uploads/"),
        ("PUT", "/v2/cache/team/pushed/manifests/v1"),
    ):
        r = httpx.request(method, served.dockyard.url + path, content=b"{}",
                          headers=basic("dev", PASSWORD))  # fmt: skip
        assert r.status_code == 403, (method, path, r.text)
        [error] = r.json()["errors"]
        assert error["code"] == "DENIED"
        assert error["message"].startswith("can not push artifact to a proxy project: cache")
    # a tag added through the API is refused as Harbor refuses it (405)
    cached = served.push_upstream(b"cached, then tagged\n" * 80, "team/tagged", "v1")
    assert served.get("/v2/cache/team/tagged/manifests/v1").status_code == 200
    r = served.api.post(f"{API}/projects/cache/repositories/team%252Ftagged/artifacts/{cached}"
                        "/tags", json={"name": "v2"})  # fmt: skip
    message = check_error(r, 405, "METHOD_NOT_ALLOWED")
    assert message == "the operation isn't supported for a proxy cache project"
    assert served.get("/v2/cache/team/tagged/manifests/v2").status_code == 404
    # the same developer pushes into an ordinary project of the same registry
    run_command([*copy, f"docker://{served.host}/plain/team/pushed:v1"])
    assert served.get("/v2/plain/team/pushed/manifests/v1").status_code == 200


def test_a_docker_hub_endpoint_finds_official_images_under_library(served: Served) -> None:
    # a docker-hub endpoint whose URL is not Docker Hub's (here: the test's upstream) is used
    # as given; Docker Hub's own URL is replaced by its registry API
    endpoint = _endpoint(served.api, "hub-like", "docker-hub", f"http://{served.upstream.host}")
    body = {"project_name": "hub", "registry_id": endpoint, "public": True}
    check_created(served.api.post(f"{API}/projects", json=body), f"{API}/projects")
    official = served.push_upstream(b"an official image\n" * 50, "library/solo", "v1")
    nested = served.push_upstream(b"an organisation's image\n" * 50, "org/tool", "v1")
    r = served.get("/v2/hub/solo/manifests/v1", "admin", ADMIN_PASSWORD)
    assert r.status_code == 200, r.text
    assert hashlib.sha256(r.content).hexdigest() == official.split(":")[1]
    r = served.get("/v2/hub/org/tool/manifests/v1", "admin", ADMIN_PASSWORD)
    assert r.headers["docker-content-digest"] == nested


def test_an_endpoint_becomes_an_upstream() -> None:
    hub = RemoteRegistry(1, "hub", "docker-hub", "https://hub.docker.com", access_key="me",
                         access_secret="s3cret", insecure=False)  # fmt: skip
    upstream = endpoint_upstream("dockerhub", hub)
    assert upstream.remoteurl == DOCKER_HUB_API
    assert (upstream.name, upstream.username, upstream.password) == ("dockerhub", "me", "s3cret")
    private = RemoteRegistry(2, "corp", "docker-registry", "https://registry.corp:5000",
                             access_key="me", insecure=True)  # fmt: skip
    upstream = endpoint_upstream("corp", private)
    assert upstream.remoteurl == "https://registry.corp:5000" and upstream.insecure
    assert upstream.username is None  # a key without a secret is no credential
    assert upstream_repository("docker-hub", "nginx") == "library/nginx"
    assert upstream_repository("docker-hub", "bitnami/nginx") == "bitnami/nginx"
    assert upstream_repository("github-ghcr", "nginx") == "nginx"


def test_a_project_robot_pulls_through_its_proxy_project_only(served: Served) -> None:
    digest = served.push_upstream(b"pulled by a robot\n" * 60, "team/ci", "v1")

    def robot(project: str) -> tuple[str, str]:
        body = {"name": f"puller-{project}", "level": "project", "duration": -1,
                "permissions": [{"kind": "project", "namespace": project, "access": [
                    {"resource": "repository", "action": "pull"}]}]}  # fmt: skip
        r = served.api.post(f"{API}/robots", json=body)
        created = check_harbor(r.json(), "RobotCreated")
        return str(created["name"]), str(created["secret"])

    mark = len(served.upstream.hits_since(0))
    other = served.get("/v2/cache/team/ci/manifests/v1", *robot("plain"))
    assert other.status_code in (401, 403), other.text
    assert served.upstream.hits_since(mark) == []
    own = served.get("/v2/cache/team/ci/manifests/v1", *robot("cache"))
    assert own.status_code == 200 and own.headers["docker-content-digest"] == digest
