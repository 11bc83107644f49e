"""Comparing two tags, in-process: layers added, removed and shared; files added, removed
and changed; package changes from the images' own files; markup in paths rendered inert;
a user who may not read the repository sees nothing of it; images past the console's
limit are refused with a message that says what to do instead, and layers that are no tar
archives with a 400 that says so. The page shows what the
API's ``GET …/artifacts/{a}/compare?with={b}`` answers, and the API refuses a stranger."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _infra.console import (
    close_app,
    projects_app,
    push_files_image,
    push_with_history,
    sign_in,
    table_rows,
)
from _infra.projects_registry import (
    ADMIN_PASSWORD,
    PASSWORD,
    basic,
    team_with_people,
)
from _infra.registry_server import ASGIClient, AuthedClient
from dockyard.registry import RegistryApp
from dockyard.registry.contents import _compare

SITE = "usr/local/lib/python3.11/site-packages"
IMG = '<img src=x onerror="alert(1)">'
BASE = {"etc/os-release": b"ID=console-test\n", "bin/tool": b"tool v1\n"}
V1 = {f"{SITE}/idna-3.6.dist-info/METADATA": b"Metadata-Version: 2.1\nName: idna\nVersion: 3.6\n",
      "etc/old.conf": b"old\n", "etc/app.conf": b"a=1\n"}  # fmt: skip
V2 = {f"{SITE}/idna-3.7.dist-info/METADATA": b"Metadata-Version: 2.1\nName: idna\nVersion: 3.7\n",
      f"srv/{IMG}.txt": b"new\n", "etc/app.conf": b"a=22\n"}  # fmt: skip


@dataclass
class Served:
    app: RegistryApp


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("console-compare") / "data"
    app, access = projects_app(root)
    team_with_people(access)
    access.users.create("outsider", PASSWORD)
    with ASGIClient(app) as client:
        dev = AuthedClient(client, basic("dev", PASSWORD))
        push_files_image(dev, "team/app", "v1", [BASE, V1], ["ADD base /", "RUN install v1"])
        push_files_image(dev, "team/app", "v2", [BASE, V2], ["ADD base /", "RUN install v2"])
    yield Served(app)
    close_app(app)


@pytest.fixture
def client(served: Served) -> Iterator[ASGIClient]:
    with ASGIClient(served.app) as c:
        yield c


def test_two_tags_compared(client: ASGIClient) -> None:
    assert sign_in(client, "guest", PASSWORD).status_code == 303  # reading is enough
    repo = client.get("/projects/team/repository", params={"name": "app"}).text
    assert "Compare two tags" in repo and '<option value="v1"' in repo
    r = client.get("/projects/team/compare", params={"repo": "app", "a": "v1", "b": "v2"})
    assert r.status_code == 200, r.text
    page = r.text
    layers = sorted((row[0], row[1]) for row in table_rows(page, "Layers"))
    assert layers == [("added", "RUN install v2"), ("removed", "RUN install v1"),
                      ("shared", "ADD base /")]  # fmt: skip
    files = {row[1]: (row[0], row[5]) for row in table_rows(page, "Files")}
    assert files["/etc/old.conf"] == ("removed", "")
    assert files["/etc/app.conf"] == ("changed", "size")
    assert files["/srv/&lt;img src=x onerror=&quot;alert(1)&quot;&gt;.txt"] == ("added", "")
    assert "/bin/tool" not in files  # the shared layer: unchanged
    assert IMG not in page
    packages = table_rows(page, "Packages")
    assert ["changed", "idna", "python", "3.6", "3.7"] in packages
    summary = dict((row[0], row[1]) for row in table_rows(page, "From v1 to v2"))
    assert summary["Layers"] == "1 added, 1 removed, 1 shared"
    assert summary["Packages"] == "0 added, 0 removed, 1 changed"
    assert "Vulnerabilities" not in summary  # scanning is off here


def test_what_the_user_may_not_read_is_not_compared(client: ASGIClient) -> None:
    assert sign_in(client, "outsider", PASSWORD).status_code == 303
    r = client.get("/projects/team/compare", params={"repo": "app", "a": "v1", "b": "v2"})
    assert r.status_code in (403, 404)
    assert "old.conf" not in r.text and "idna" not in r.text


def test_bad_requests_say_what_is_wrong(client: ASGIClient) -> None:
    assert sign_in(client, "admin", ADMIN_PASSWORD).status_code == 303
    r = client.get("/projects/team/compare", params={"repo": "app", "a": "v1"})
    assert r.status_code == 400 and "name two tags" in r.text
    r = client.get("/projects/team/compare", params={"repo": "app", "a": "v1", "b": "nope"})
    assert r.status_code == 404


def test_images_past_the_limit_are_refused(
    client: ASGIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_compare, "MAX_BYTES", 100)
    assert sign_in(client, "admin", ADMIN_PASSWORD).status_code == 303
    r = client.get("/projects/team/compare", params={"repo": "app", "a": "v1", "b": "v2"})
    assert r.status_code == 412, r.status_code
    assert "compares at most 100 bytes" in r.text and "dockyard diff" in r.text
    monkeypatch.setattr(_compare, "MAX_BYTES", 1 << 30)
    monkeypatch.setattr(_compare, "MAX_FILES", 2)
    r = client.get("/projects/team/compare", params={"repo": "app", "a": "v1", "b": "v2"})
    assert r.status_code == 412 and "shows at most 2" in r.text


COMPARE_API = "/api/v2.0/projects/team/repositories/app/artifacts/v1/compare"


def test_the_api_answers_what_the_page_shows(client: ASGIClient) -> None:
    api = AuthedClient(client, basic("guest", PASSWORD))
    r = api.get(COMPARE_API, params={"with": "v2"})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["from"]["reference"] == "v1" and doc["to"]["reference"] == "v2"
    assert (
        doc["from"]["digest"].startswith("sha256:") and doc["from"]["digest"] != doc["to"]["digest"]
    )
    assert doc["vulnerabilities"] is None  # scanning is off here
    assert sign_in(client, "guest", PASSWORD).status_code == 303
    page = client.get("/projects/team/compare", params={"repo": "app", "a": "v1", "b": "v2"}).text
    shown = sorted((row[0], row[1]) for row in table_rows(page, "Layers"))
    assert shown == sorted((x["status"], x["created_by"]) for x in doc["layers"])
    files = {(row[0], row[1]) for row in table_rows(page, "Files")}
    from_api = {(f["status"], f["path"].replace("<", "&lt;").replace(">", "&gt;")
                 .replace('"', "&quot;")) for f in doc["diff"]["files"]}  # fmt: skip
    assert files == from_api and ("removed", "/etc/old.conf") in files
    packages = [row[:5] for row in table_rows(page, "Packages")]
    assert packages == [[p["status"], p["name"], p["type"], p["old_version"], p["new_version"]]
                        for p in doc["packages"]]  # fmt: skip
    assert ["changed", "idna", "python", "3.6", "3.7"] in packages
    by_digest = api.get(COMPARE_API, params={"with": doc["to"]["digest"]}).json()
    assert by_digest["layers"] == doc["layers"] and by_digest["diff"] == doc["diff"]


def test_the_api_refuses_a_stranger(client: ASGIClient) -> None:
    for headers in (basic("outsider", PASSWORD), {}):
        r = client.get(COMPARE_API, params={"with": "v2"}, headers=headers)
        assert r.status_code in (401, 403, 404), (headers, r.status_code)
        assert "old.conf" not in r.text and "idna" not in r.text and "layers" not in r.text


def test_the_api_says_what_is_wrong(client: ASGIClient) -> None:
    api = AuthedClient(client, basic("admin", ADMIN_PASSWORD))
    r = api.get(COMPARE_API)
    assert r.status_code == 400 and "with=" in r.text
    assert api.get(COMPARE_API, params={"with": "nope"}).status_code == 404
    assert api.get(COMPARE_API, params={"with": "x" * 300}).status_code == 400


def test_layers_that_are_no_tar_archives_are_refused_clearly(client: ASGIClient) -> None:
    """Images whose layers are not tar archives (blobs of any other kind): a 400 that says
    so, from the API and on the page, never a server error."""
    api = AuthedClient(client, basic("admin", ADMIN_PASSWORD))
    push_with_history(api, "team/blobs", "1")
    push_with_history(api, "team/blobs", "2", commands=("ADD rootfs.tar /", "RUN other"))
    r = api.get("/api/v2.0/projects/team/repositories/blobs/artifacts/1/compare",
                params={"with": "2"})  # fmt: skip
    assert r.status_code == 400, r.text
    assert "not a tar archive" in r.json()["errors"][0]["message"]
    assert sign_in(client, "admin", ADMIN_PASSWORD).status_code == 303
    page = client.get("/projects/team/compare", params={"repo": "blobs", "a": "1", "b": "2"})
    assert page.status_code == 400 and "not a tar archive" in page.text
