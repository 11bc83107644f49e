"""The console of an open registry (no auth: what ``make serve`` runs), in-process: nobody
signs in and every visitor may see what the API lets everyone see — the home page lists every
repository (with and without a namespace) and keeps the push and pull help; a repository, its
artifacts, files and comparisons open as in projects mode, a repository without a namespace
through the API's project ``_``; forms still need their CSRF token; pages that need projects
say so; a registry with sign-in of another kind (htpasswd) serves no console."""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _infra import backend
from _infra.console import close_app, push_files_image, table_rows
from _infra.registry_server import ASGIClient
from dockyard.registry import RegistryApp, build_app
from dockyard.registry.auth import htpasswd_line
from dockyard.registry.config import load

BASE = {"etc/os-release": b"ID=open-test\n"}


@dataclass
class Served:
    app: RegistryApp
    app1: str  # team/app:1
    app2: str  # team/app:2
    solo: str  # solo:latest, a repository without a namespace


def _open_app(root: Path, **env: str) -> RegistryApp:
    environ = {
        **backend.serve_env(root, env),
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(root),
        "REGISTRY_STORAGE_DELETE_ENABLED": "true",
        "REGISTRY_LOG_ACCESSLOG_DISABLED": "true",
        **env,
    }
    return build_app(load(None, environ), access_log=False)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    app = _open_app(tmp_path_factory.mktemp("console-open") / "data")
    with ASGIClient(app) as client:
        one = push_files_image(client, "team/app", "1", [BASE, {"srv/one": b"1\n"}],
                               ["ADD os-release /etc/", "COPY one /srv/"])  # fmt: skip
        two = push_files_image(client, "team/app", "2", [BASE, {"srv/two": b"2\n"}],
                               ["ADD os-release /etc/", "COPY two /srv/"])  # fmt: skip
        solo = push_files_image(client, "solo", "latest", [BASE], ["ADD os-release /etc/"])
    yield Served(app, one, two, solo)
    close_app(app)


@pytest.fixture
def client(served: Served) -> Iterator[ASGIClient]:
    """A browser of its own (its own cookie jar)."""
    with ASGIClient(served.app) as c:
        yield c


def _token(client: ASGIClient) -> str:
    """The visitor's CSRF token: the cookie the first page set (forms send it back)."""
    assert client.get("/").status_code == 200
    token: str = client.client.cookies["dockyard_csrf"]
    return token


def test_the_home_page_lists_every_repository_and_how_to_push(client: ASGIClient) -> None:
    home = client.get("/")
    assert home.status_code == 200
    assert "open registry: no sign-in" in home.text and "Sign out" not in home.text
    # the visitor's CSRF token, set once a browser
    cookie = home.headers["set-cookie"]
    assert cookie.startswith("dockyard_csrf=") and "HttpOnly" in cookie and "SameSite" in cookie
    assert "set-cookie" not in client.get("/").headers
    assert "content-security-policy" in home.headers
    rows = table_rows(home.text, "Repositories")
    assert [row[0] for row in rows] == ["solo", "team/app"]
    assert [row[1] for row in rows] == ["1", "2"]  # artifacts
    assert 'href="/projects/team/repository?name=app">team/app</a>' in home.text
    assert 'href="/projects/_/repository?name=solo">solo</a>' in home.text
    # the registry's own help, for this address
    assert "docker push registry.test/busybox:latest" in home.text
    assert "skopeo copy --dest-tls-verify=false" in home.text
    assert "make serve AUTH=projects" in home.text
    # page by page
    first = client.get("/", params={"page_size": "1"})
    assert [row[0] for row in table_rows(first.text, "Repositories")] == ["solo"]
    assert "Page 1 of 2" in first.text
    second = client.get("/", params={"page_size": "1", "page": "2"})
    assert [row[0] for row in table_rows(second.text, "Repositories")] == ["team/app"]


def test_nobody_signs_in(client: ASGIClient) -> None:
    for path in ("/login", "/projects/_"):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/", path
    r = client.post("/logout")
    assert r.status_code == 403  # no token: refused before anything
    r = client.post("/logout", data={"csrf": _token(client)})
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_a_namespace_and_its_repository(client: ASGIClient, served: Served) -> None:
    team = client.get("/projects/team")
    assert team.status_code == 200
    assert [row[0] for row in table_rows(team.text, "Repositories in team")] == ["team/app"]
    page = client.get("/projects/team/repository", params={"name": "app"})
    assert page.status_code == 200
    assert [row[0] for row in table_rows(page.text, "Artifacts")] == ["2", "1"]
    assert "<title>Repository team/app · dockyard</title>" in page.text
    artifact = client.get("/projects/team/artifact", params={"repo": "app", "digest": served.app1})
    assert artifact.status_code == 200
    assert f'value="docker pull registry.test/team/app@{served.app1}"' in artifact.text
    commands = [row[1] for row in table_rows(artifact.text, "Layers")]
    assert commands == ["ADD os-release /etc/", "COPY one /srv/"]
    compare = client.get("/projects/team/compare", params={"repo": "app", "a": "1", "b": "2"})
    assert compare.status_code == 200
    files = {(row[0], row[1]) for row in table_rows(compare.text, "Files")}
    assert ("removed", "/srv/one") in files and ("added", "/srv/two") in files


def test_a_repository_without_a_namespace(client: ASGIClient, served: Served) -> None:
    page = client.get("/projects/_/repository", params={"name": "solo"})
    assert page.status_code == 200 and served.solo[:19] in page.text
    assert "<title>Repository solo · dockyard</title>" in page.text
    artifact = client.get("/projects/_/artifact", params={"repo": "solo", "digest": served.solo})
    assert artifact.status_code == 200
    # the pull command names the repository as clients do: no project in it
    assert f'value="docker pull registry.test/solo@{served.solo}"' in artifact.text
    files = client.get("/projects/_/files",
                       params={"repo": "solo", "digest": served.solo, "layer": "1"})  # fmt: skip
    assert files.status_code == 200 and "etc/" in files.text
    # the API the pages read: project _ is the repositories without one, and only those
    api = "/api/v2.0/projects/_/repositories"
    listed = client.get(f"{api}/solo/artifacts")
    assert listed.status_code == 200 and [a["digest"] for a in listed.json()] == [served.solo]
    assert client.get(f"{api}/team%252Fapp/artifacts").status_code == 404
    assert client.get(f"{api}/nothing/artifacts").status_code == 404


def test_pages_that_need_projects_say_so(client: ASGIClient) -> None:
    for path in ("/dashboard", "/audit"):
        r = client.get(path)
        assert r.status_code == 412, path
        assert "no projects, users or robots" in html.unescape(r.text), path
    # a form with its token passes the CSRF check; the API then refuses what needs projects
    token = _token(client)
    assert client.post("/projects", data={"project_name": "x"}).status_code == 403
    r = client.post("/projects", data={"project_name": "x", "csrf": token})
    assert r.status_code == 412, r.status_code
    assert client.get("/no/such/page").status_code == 404


def test_a_registry_with_htpasswd_serves_no_console(tmp_path: Path) -> None:
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(htpasswd_line("alice", "s3cret", cost=4) + "\n")
    app = _open_app(
        tmp_path / "data",
        REGISTRY_AUTH="htpasswd",
        REGISTRY_AUTH_HTPASSWD_REALM="dockyard",
        REGISTRY_AUTH_HTPASSWD_PATH=str(htpasswd),
    )
    try:
        with ASGIClient(app) as client:
            home = client.get("/")
            assert home.status_code == 200 and "open registry: no sign-in" not in home.text
            assert "REGISTRY_AUTH=projects" in home.text  # how to get a console
            assert client.get("/login").status_code == 404
            assert client.get("/projects/_/repository", params={"name": "x"}).status_code == 404
    finally:
        close_app(app)
